// Hooks at run time (Registry.hooks): commands with a time limit, HTTP requests, readiness probes,
// events, rendered templates, raised errors, each under its error policy.

import AdminHTTP
import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

extension Runner {
    func runHooks(_ hooks: [Hook], point: String) throws(PipeperfError) {
        for h in hooks {
            try withPolicy(h.onError, what: "hook \(h.name) (\(point))") { () throws(PipeperfError) in
                events.record("hook_start", [("hook", h.name), ("point", point)])
                try runHook(h)
                events.record("hook_end", [("hook", h.name), ("point", point)])
            }
        }
    }

    func runHook(_ h: Hook) throws(PipeperfError) {
        switch h.kind {
        case .runCommand(let command, let environment, let timeout, let shell):
            let argv = run.resolve(shell ? ["/bin/sh", "-c", command.first ?? ""] : command)
            let n = events.events.count
            let p: ChildProcess
            do {
                p = try ChildProcess(
                    command: argv, environment: run.resolve(environment), directory: folder.path,
                    stdoutPath: folder.file("logs/hook-\(n).stdout"), stderrPath: folder.file("logs/hook-\(n).stderr"))
            } catch { throw PipeperfError(.process, "run_command: \(error.message)", cause: error) }
            let deadline = SystemClock.monotonicNanos() + timeout
            while p.isRunning {
                if SystemClock.monotonicNanos() >= deadline {
                    p.stop(graceNanos: 1_000_000_000)
                    throw PipeperfError(.failed, "run_command \(argv.joined(separator: " ")) timed out")
                }
                try sleep(10_000_000)
            }
            guard p.exitCode == 0 else {
                let err = (try? String(contentsOfFile: folder.file("logs/hook-\(n).stderr"), encoding: .utf8)) ?? ""
                throw PipeperfError(
                    .failed,
                    "run_command \(argv.joined(separator: " ")) ended with \(p.exitDescription): \(err.split(separator: "\n").last ?? "")"
                )
            }
        case .sendHTTPRequest(let method, let url, let body, let headers, let expect):
            guard let u = HTTPURL(url) else { throw PipeperfError(.failed, "bad URL \(url)") }
            let r = try HTTPClient.request(method, u, body: body.map(run.resolve), headers: run.resolve(headers))
            if let expect, r.status != expect {
                throw PipeperfError(.failed, "\(method) \(url) answered \(r.status), expected \(expect)")
            }
            if expect == nil && !(200..<300).contains(r.status) {
                throw PipeperfError(.failed, "\(method) \(url) answered \(r.status)")
            }
        case .readyCheckHTTP(let r): try readyCheck(r, component: nil)
        case .recordEvent(let name, let attributes):
            if name == "observation_stop" { sampleEdge(.stop) }
            events.record(name, attributes)
            if name == "observation_start" { sampleEdge(.start) }
        case .renderTemplate(let source, let destination, let variables):
            _ = try run.render(source: source, destination: destination, variables: variables)
        case .raiseError(let message): throw PipeperfError(.failed, message)
        }
    }

    /// Probes until the check passes: an HTTP answer as expected, or (`tcp:`) an accepted connection.
    func readyCheck(_ r: ReadyCheck, component: String?) throws(PipeperfError) {
        let what: String
        let attempt: () -> String?  // nil: ready; else what the probe saw
        if let tcp = r.tcp {
            guard case .success(let e) = Endpoint.parse(tcp) else {
                throw PipeperfError(.failed, "bad endpoint \(tcp)")
            }
            what = "nothing accepts connections on \(tcp)"
            attempt = {
                do {
                    // Nothing is sent on the connection.
                    let channel = try HTTPExchange.connect(
                        .tcp(host: e.host, port: Int(e.port)), timeoutNanos: 1_000_000_000
                    ) {
                        ProbeHandler()
                    }
                    channel.close(promise: nil)
                    return nil
                } catch let e as PipeperfError { return e.message } catch { return "\(error)" }
            }
        } else {
            guard let url = HTTPURL(r.url) else { throw PipeperfError(.failed, "bad URL \(r.url)") }
            what = r.url
            attempt = {
                do {
                    let res = try HTTPClient.request("GET", url, timeoutNanos: 2_000_000_000)
                    if res.status == r.status && (r.bodyContains.map { res.body.contains($0) } ?? true)
                        && (r.jsonField.map { jsonFieldMatches(res.body, $0, r.jsonValue) } ?? true)
                    {
                        return nil
                    }
                    return "status \(res.status)"
                } catch { return "\(error)" }
            }
        }
        let deadline = SystemClock.monotonicNanos() + r.timeoutNanos
        var last = "no answer"
        while SystemClock.monotonicNanos() < deadline {
            if let name = component, let why = deployed[name]?.exited {
                throw PipeperfError(.failed, "component '\(name)' exited (\(why)) before it was ready")
            }
            guard let seen = attempt() else {
                events.record("ready", component: component, [r.tcp.map { ("tcp", $0) } ?? ("url", r.url)])
                return
            }
            last = seen
            try Interrupts.check()
            try sleep(r.intervalNanos)
        }
        throw PipeperfError(
            .failed, "not ready: \(what) (\(last)) after \(formatFixed(Double(r.timeoutNanos) / 1e9, 1)) s")
    }
}

/// Whether `body` is JSON with the dotted `field` (and, when given, that value as text).
func jsonFieldMatches(_ body: String, _ field: String, _ value: String?) -> Bool {
    guard let found = JSON.parse(body)?.at(field), found != .null else { return false }
    guard let value else { return true }
    switch found {
    case .bool(let b): return (b ? "true" : "false") == value
    case .number(let d): return (d == d.rounded() && abs(d) < 1e18 ? String(Int64(d)) : String(d)) == value
    case .string(let s): return s == value
    default: return false
    }
}
