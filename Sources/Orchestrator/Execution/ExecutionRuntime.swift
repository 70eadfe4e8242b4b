// Execution strategies at run time: `loadgen` (POST /start with the options as JSON, POST /stop, then the
// final summary from /status into the test folder) and `command` (a child process group for the load).

import PipeperfBase
import AdminHTTP
import FoundationEssentials


#if canImport(Glibc)
import Glibc
#endif

extension Runner {
    func startExecution(_ c: Component) throws {
        switch c.execution {
        case nil: throw RunFailure(description: "component '\(c.name)' has no execution strategy")
        case .command(let x)?:
            let p: ChildProcess
            do {
                p = try ChildProcess(command: x.command, environment: x.environment, directory: folder.path,
                                     stdoutPath: folder.file("logs/\(c.name).execution.stdout"), stderrPath: folder.file("logs/\(c.name).execution.stderr"))
            } catch { throw RunFailure(description: "component '\(c.name)': \(error)") }
            commandExecutions[c.name] = p
            loadRunning.insert(c.name)
        case .loadgen(let l)?:
            var options = loadgenOptions[c.name] ?? l.options
            if !options.contains(where: { $0.0 == "duration" || $0.0 == "count" }) { options.append(("duration", "24h")) }
            let body = loadgenJSON(options)
            events.record("load_start_requested", component: c.name, options)
            let r = try HTTPClient.request("POST", HTTPURL(host: l.admin.host, port: Int(l.admin.port), path: "/start"), body: body,
                                           contentType: "application/json")
            guard (200..<300).contains(r.status) else { throw RunFailure(description: "loadgen '\(c.name)' refused to start (HTTP \(r.status)): \(r.body)") }
            loadRunning.insert(c.name)
            events.record("load_started", component: c.name, options)
        }
    }

    func stopExecution(_ c: Component) throws {
        guard loadRunning.contains(c.name) else { return }
        loadRunning.remove(c.name)
        switch c.execution {
        case .command?:
            commandExecutions.removeValue(forKey: c.name)?.stop(graceNanos: 2_000_000_000)
        case .loadgen(let l)?:
            events.record("load_stop_requested", component: c.name)
            let stop = try HTTPClient.request("POST", HTTPURL(host: l.admin.host, port: Int(l.admin.port), path: "/stop"), body: "")
            // The summary is final once the run has drained (loadgen's --drain bounds it).
            var status = try HTTPClient.request("GET", HTTPURL(host: l.admin.host, port: Int(l.admin.port), path: "/status"))
            let deadline = SystemClock.monotonicNanos() + 30_000_000_000
            while status.body.contains("\"state\":\"running\"") && SystemClock.monotonicNanos() < deadline {
                usleep(50_000)
                status = try HTTPClient.request("GET", HTTPURL(host: l.admin.host, port: Int(l.admin.port), path: "/status"))
            }
            let test = events.test ?? "suite"
            try folder.write("tests/\(safeName(test))/\(c.name).loadgen.json", status.body)
            events.record("load_stopped", component: c.name, [("status", String(stop.status))])
        case nil: break
        }
    }

    /// The options as the JSON object POST /start takes (true/false as booleans, repeated options as lists).
    func loadgenJSON(_ options: [(String, String)]) -> String {
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
