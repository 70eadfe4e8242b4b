// `execution: loadgen:` — drives a `loadgen serve` component through its admin API: POST /start with the
// options as JSON, POST /stop, then the final summary from /status into the test's folder. Options are
// checked by loadgen's own parser at load time, so a bad rate fails `pipeperf validate`.

import AdminHTTP
import LoadGen
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

struct LoadgenExecution: ExecutionStrategy {
    var admin: Endpoint
    /// Options of `loadgen run` (names without dashes), sent to POST /start.
    var options: [(String, String)]

    static let info = StrategyInfo(
        name: "loadgen", summary: "drives a `loadgen serve` component through its admin API",
        keys: [
            KeySpec("admin", "HOST:PORT", required: true, "the admin address of a `loadgen serve` component"),
            KeySpec(
                "options", "mapping", default: "{}",
                "`loadgen run` options without dashes (rate, duration, endpoint, batch_size, …), checked by loadgen's own parser"
            ),
        ])

    static func read(_ o: ObjectReader, context: ReadContext) -> LoadgenExecution? {
        guard let a = o.string("admin") else { return nil }
        switch Endpoint.parse(a) {
        case .success(let e):
            let opts = o.stringMap("options") ?? []
            check(opts, at: o.location("options"), path: o.sub("options"), context: context)
            return LoadgenExecution(admin: e, options: opts)
        case .failure(let err):
            context.diags.add(o.location("admin"), o.sub("admin"), "\(err)")
            return nil
        }
    }

    /// `options` with `overrides` replacing options of the same name.
    func merged(_ overrides: [(String, String)]) -> [(String, String)] {
        options.filter { o in !overrides.contains { $0.0 == o.0 } } + overrides
    }

    func problem(updating options: [(String, String)], context: ReadContext, at: SourceLocation, path: String) {
        LoadgenExecution.check(merged(options), at: at, path: "\(path): options", context: context)
    }

    /// Checks `loadgen run` options with loadgen's own parser.
    static func check(_ options: [(String, String)], at: SourceLocation, path: String, context: ReadContext) {
        var args: [String] = []
        for (k, v) in options {
            let flag = "--" + k.replacingOccurrences(of: "_", with: "-")
            if v == "true" {
                args.append(flag)
            } else if v == "false" {
                continue
            } else {
                for part in v.split(separator: "\n", omittingEmptySubsequences: false) { args += [flag, String(part)] }
            }
        }
        do { _ = try RunCommand.parse(args) } catch {
            context.diags.add(at, path, "loadgen rejects these options: \(RunCommand.message(for: error))")
        }
    }

    func url(_ path: String) -> HTTPURL { HTTPURL(host: admin.host, port: Int(admin.port), path: path) }

    func start(
        _ c: Component, overrides: [(String, String)], in run: RunContext
    ) throws(PipeperfError) -> any LiveExecution {
        var options = run.resolve(merged(overrides))
        if !options.contains(where: { $0.0 == "duration" || $0.0 == "count" }) { options.append(("duration", "24h")) }
        run.events.record("load_start_requested", component: c.name, options)
        let r = try HTTPClient.request(
            "POST", url("/start"), body: LoadgenExecution.json(options), contentType: "application/json")
        guard (200..<300).contains(r.status) else {
            throw PipeperfError(.failed, "loadgen '\(c.name)' refused to start (HTTP \(r.status)): \(r.body)")
        }
        run.events.record("load_started", component: c.name, options)
        return LiveLoad(component: c.name, execution: self)
    }

    /// The options as the JSON object POST /start takes (true/false as booleans, repeated options as lists).
    static func json(_ options: [(String, String)]) -> String {
        var w = JSONWriter()
        w.beginObject()
        for (k, v) in options {
            // A repeated option (a YAML list) arrives as its items joined by line breaks.
            if v.contains("\n") {
                w.field(k, v.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
            } else if v == "true" || v == "false" {
                w.field(k, v == "true")
            } else {
                w.field(k, v)
            }
        }
        w.endObject()
        return w.text
    }
}

/// A load that `loadgen serve` is running.
final class LiveLoad: LiveExecution, @unchecked Sendable {
    let component: String
    let execution: LoadgenExecution

    init(component: String, execution: LoadgenExecution) {
        self.component = component
        self.execution = execution
    }

    func stop(in run: RunContext) throws(PipeperfError) {
        run.events.record("load_stop_requested", component: component)
        let stop = try HTTPClient.request("POST", execution.url("/stop"), body: "")
        // The summary is final once the run has drained (loadgen's --drain bounds it).
        var status = try HTTPClient.request("GET", execution.url("/status"))
        let deadline = SystemClock.monotonicNanos() + 30_000_000_000
        while status.body.contains("\"state\":\"running\"") && SystemClock.monotonicNanos() < deadline {
            try run.sleep(50_000_000)
            status = try HTTPClient.request("GET", execution.url("/status"))
        }
        try run.write("\(run.testFolder)/\(component).loadgen.json", status.body)
        run.events.record("load_stopped", component: component, [("status", String(stop.status))])
    }

    /// The load dies with its component (whose process group the watcher kills).
    func killNow() {}
}
