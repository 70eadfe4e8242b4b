// `execution: sdk:` — the OpenTelemetry Python SDK as the load source: N processes of the emitter
// shipped with pipeperf (suites/emitters/otel_sdk_emitter.py), each sending logs or spans through the
// SDK's batch processor and OTLP exporter (gRPC or HTTP) at its share of the rate, every record with
// pipeperf's tracking attributes (its own run id per process), so a fake-backend counts loss and
// end-to-end latency of real SDK traffic. Started at `start`, stopped at `stop` (SIGTERM: each flushes,
// shuts down and writes its summary); the summaries, summed, become tests/<test>/<component>.sdk.json,
// which the report reads like loadgen's summary (sent = offered, acked = exported, failed).

import AdminHTTP
import LoadGen
import OTLPWire
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

struct SDKExecution: ExecutionStrategy {
    var endpoint: String
    var rate: String
    var processes = 1
    var signal = "logs"
    var protocolName = "grpc"
    var emitter: String?
    var python = "python3"
    var batch = 512
    var scheduleDelayNanos: UInt64 = 1_000_000_000
    var queue = 2048

    static let info = StrategyInfo(
        name: "sdk", summary: "the OpenTelemetry Python SDK as the load (N emitter processes)",
        keys: [
            KeySpec("endpoint", "HOST:PORT", required: true, "the OTLP receiver the SDK exports to"),
            KeySpec("rate", "rate", required: true, "records per second over all processes, e.g. 2k (open loop)"),
            KeySpec("processes", "whole number", default: "1", "emitter processes, each at rate / processes"),
            KeySpec("signal", "string", default: "logs", "logs (Logs API) or traces (spans)"),
            KeySpec("protocol", "string", default: "grpc", "the OTLP exporter: grpc or http (OTLP/HTTP protobuf)"),
            KeySpec("max_export_batch_size", "whole number", default: "512", "the batch processor's export size"),
            KeySpec("schedule_delay", "duration", default: "1s", "the batch processor's export interval"),
            KeySpec(
                "max_queue_size", "whole number", default: "2048",
                "the batch processor's queue (records beyond it are dropped by the SDK)"),
            KeySpec(
                "emitter", "path", default: "pipeperf's suites/emitters/otel_sdk_emitter.py",
                "the emitter script, relative to the suite file"),
            KeySpec(
                "python", "string", default: "python3",
                "the interpreter, with opentelemetry-sdk and its OTLP exporters importable (scripts/install-deps puts them in .venv; scripts/venv-path puts it first on PATH)"
            ),
        ])

    static func read(_ o: ObjectReader, context: ReadContext) -> SDKExecution? {
        guard let endpoint = o.string("endpoint"), let rate = o.string("rate") else { return nil }
        var e = SDKExecution(endpoint: endpoint, rate: rate)
        if case .failure(let err) = Endpoint.parse(endpoint) {
            context.diags.add(o.location("endpoint"), o.sub("endpoint"), "\(err)")
        }
        if case .perSecond = Rate.parse(rate) {
        } else {
            context.diags.add(
                o.location("rate"), o.sub("rate"),
                "expected a rate in records per second such as 2000 or 2k, found '\(rate)'")
        }
        if let n = o.int("processes", range: 1...64) { e.processes = n }
        for (key, allowed) in [("signal", ["logs", "traces"]), ("protocol", ["grpc", "http"])] {
            guard let v = o.string(key) else { continue }
            if !allowed.contains(v) {
                context.diags.add(
                    o.location(key), o.sub(key), "expected \(allowed.joined(separator: " or ")), found '\(v)'")
            }
            if key == "signal" { e.signal = v } else { e.protocolName = v }
        }
        if let n = o.int("max_export_batch_size", range: 1...100_000) { e.batch = n }
        if let n = o.int("max_queue_size", range: 1...10_000_000) { e.queue = n }
        if let d = o.duration("schedule_delay", allowZero: false) { e.scheduleDelayNanos = d }
        if let p = o.string("python") { e.python = p }
        if let s = o.string("emitter") {
            e.emitter = s.hasPrefix("/") ? s : "\(context.baseDirectory)/\(s)"
        } else if let root = pipeperfSourceFolder() {
            e.emitter = "\(root)/suites/emitters/otel_sdk_emitter.py"
        }
        if let path = e.emitter, access(path, R_OK) != 0 {
            let named = o.string("emitter").map { "'\($0)' (relative to the suite file)" } ?? path
            context.diags.add(o.location("emitter"), o.sub("emitter"), "the emitter \(named) is not readable")
        } else if e.emitter == nil {
            context.diags.add(
                o.node.location, o.path,
                "no emitter: pipeperf runs outside its source folder, so name one with `emitter:`")
        }
        return e
    }

    func problem(updating options: [(String, String)], context: ReadContext, at: SourceLocation, path: String) {
        context.diags.add(at, path, "an sdk execution has no options to update (only loadgen executions have)")
    }

    func start(
        _ c: Component, overrides: [(String, String)], in run: RunContext
    ) throws(PipeperfError) -> any LiveExecution {
        guard case .perSecond(let total)? = Rate.parse(run.resolve(rate)), let emitter else {
            throw PipeperfError(.invalidInput, "component '\(c.name)': no rate or emitter for the sdk execution")
        }
        let endpoint = run.resolve(endpoint)
        let options: [(String, String)] = [
            ("sdk", "python"), ("signal", signal), ("protocol", protocolName), ("endpoint", endpoint),
            ("rate", formatFixed(total, 1)), ("processes", String(processes)),
        ]
        run.events.record("load_start_requested", component: c.name, options)
        // The emitters write their summaries into the test's folder.
        _ = mkdir(run.folder.file("tests"), 0o755)
        _ = mkdir(run.folder.file(run.testFolder), 0o755)
        // One run id per emitter: a random base, the emitter's index in the low byte.
        let base = UInt64.random(in: 1...(UInt64.max >> 8)) << 8
        var live: [(process: ChildProcess, summary: String, runID: String)] = []
        for i in 0..<processes {
            let runID = RunID(base | UInt64(i)).description
            let summary = run.folder.file("\(run.testFolder)/\(c.name).sdk-\(i + 1).json")
            let args = [
                python, emitter, "--endpoint", endpoint, "--protocol", protocolName, "--signal", signal,
                "--rate", formatFixed(total / Double(processes), 3), "--run-id", runID, "--summary", summary,
                "--max-export-batch-size", String(batch), "--max-queue-size", String(queue),
                "--schedule-delay-ms", String(scheduleDelayNanos / 1_000_000),
            ]
            do {
                let p = try ChildProcess(
                    command: args, environment: [], directory: run.folder.path,
                    stdoutPath: run.folder.file("logs/\(c.name).sdk-\(i + 1).stdout"),
                    stderrPath: run.folder.file("logs/\(c.name).sdk-\(i + 1).stderr"))
                live.append((p, summary, runID))
            } catch {
                for l in live { l.process.stop(graceNanos: 0) }
                throw PipeperfError(.process, "component '\(c.name)': \(error.message)", cause: error)
            }
        }
        // An emitter that dies at once (no SDK installed, a bad endpoint) fails the start, naming why.
        try run.sleep(500_000_000)
        for (i, l) in live.enumerated() where !l.process.isRunning {
            let err =
                (try? String(contentsOfFile: run.folder.file("logs/\(c.name).sdk-\(i + 1).stderr"), encoding: .utf8))
                ?? ""
            for other in live { other.process.stop(graceNanos: 0) }
            throw PipeperfError(
                .failed,
                "component '\(c.name)': SDK emitter \(i + 1) exited at once (\(l.process.exitDescription)): \(err.split(separator: "\n").suffix(3).joined(separator: " | "))"
            )
        }
        run.events.record(
            "load_started", component: c.name, options + [("run_ids", live.map(\.runID).joined(separator: ","))])
        let l = LiveSDK(component: c.name, execution: self, processes: live.map { ($0.process, $0.summary) })
        Interrupts.register(l)
        return l
    }
}

final class LiveSDK: LiveExecution, @unchecked Sendable {
    let component: String
    let execution: SDKExecution
    let processes: [(process: ChildProcess, summary: String)]

    init(component: String, execution: SDKExecution, processes: [(ChildProcess, String)]) {
        self.component = component
        self.execution = execution
        self.processes = processes.map { (process: $0.0, summary: $0.1) }
    }

    func stop(in run: RunContext) throws(PipeperfError) {
        run.events.record("load_stop_requested", component: component)
        // SIGTERM to all at once; each flushes its batch processor (at most 30 s) and writes its summary.
        for p in processes where p.process.isRunning { kill(-p.process.pid, SIGTERM) }
        for p in processes { p.process.stop(graceNanos: 40_000_000_000) }
        Interrupts.unregister(self)
        var summaries: [JSON] = []
        var problems: [String] = []
        for (i, p) in processes.enumerated() {
            guard let text = try? String(contentsOfFile: p.summary, encoding: .utf8), let doc = JSON.parse(text) else {
                problems.append(
                    "emitter \(i + 1) wrote no summary (\(p.process.exitDescription); see logs/\(component).sdk-\(i + 1).stderr)"
                )
                continue
            }
            summaries.append(doc)
        }
        func sum(_ key: String) -> Double { summaries.compactMap { $0[key]?.number }.reduce(0, +) }
        var w = JSONWriter()
        w.beginObject()
        w.field("state", problems.isEmpty ? "finished" : "incomplete")
        w.field("source", "sdk")
        w.field("signal", execution.signal)
        w.field("protocol", execution.protocolName)
        w.field("endpoint", summaries.first?["endpoint"]?.string ?? execution.endpoint)
        w.field("target_rate", sum("target_rate"), decimals: 1)
        w.field("achieved_rate", sum("achieved_rate"), decimals: 1)
        w.field("duration_s", summaries.compactMap { $0["duration_s"]?.number }.max() ?? 0)
        w.field("sent", Int(sum("offered")))
        w.field("acked", Int(sum("exported")))
        w.field("failed", Int(sum("failed")))
        w.field("rejected", 0)
        // Offered but neither exported nor failed: dropped by the SDK (its queue was full) or never flushed.
        w.field("dropped_by_sdk", Int(Swift.max(0, sum("offered") - sum("exported") - sum("failed"))))
        w.field("batches", Int(sum("exports") + sum("failed_exports")))
        w.field("late_records", Int(sum("late")))
        w.field("processes", summaries.count)
        w.beginArray("emitters")
        for s in summaries {
            w.beginObject()
            for key in [
                "run_id", "offered", "exported", "failed", "exports", "failed_exports", "late", "achieved_rate",
            ] {
                if let v = s[key]?.string {
                    w.field(key, v)
                } else if let v = s[key]?.number {
                    w.field(key, v, decimals: 1)
                }
            }
            w.endObject()
        }
        w.endArray()
        w.endObject()
        try run.write("\(run.testFolder)/\(component).sdk.json", w.text + "\n")
        run.events.record("load_stopped", component: component, [("emitters", String(summaries.count))])
        if !problems.isEmpty {
            throw PipeperfError(.failed, "component '\(component)': " + problems.joined(separator: "; "))
        }
    }

    func killNow() { for p in processes { kill(-p.process.pid, SIGKILL) } }
}
