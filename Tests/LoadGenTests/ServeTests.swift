import Foundation
import TestSupport
import Testing

/// `loadgen serve` as a real process, driven with curl like an orchestrator would.
final class ServeProcess {
    let process = Process()
    let port: Int
    let out: URL

    init() throws {
        out = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: Built.executable("loadgen"))
        process.arguments = ["serve", "--admin", "127.0.0.1:0"]
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = FileHandle.nullDevice
        try process.run()
        var found: Int? = nil
        for _ in 0..<200 {
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("admin listening on") }),
                let p = line.split(separator: ":").last.flatMap({ Int($0) })
            {
                found = p
                break
            }
            usleep(25_000)
        }
        guard let found else {
            process.terminate()
            throw CocoaError(.fileReadUnknown)
        }
        port = found
    }

    func request(_ method: String, _ path: String, _ body: String? = nil) throws -> (status: Int, body: String) {
        var args = ["curl", "-s", "-X", method, "-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"]
        if let body { args += ["-d", body] }
        let r = try run(args)
        var lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.removeLast()) ?? 0
        return (status, lines.joined(separator: "\n"))
    }

    func json(_ path: String) throws -> [String: Any] {
        let r = try request("GET", path)
        return (try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]) ?? [:]
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: out)
    }
}

@Suite("loadgen serve (real process, curl)", .serialized, .timeLimit(.minutes(3)))
struct ServeTests {
    @Test("start, live status, stop, finished summary, metrics; conflicts are 409 and bad options 400")
    func lifecycle() throws {
        let receiver = try PythonReceiver()
        let serve = try ServeProcess()
        defer { serve.stop() }
        let health = try serve.request("GET", "/healthz")
        #expect(health.status == 200 && health.body.hasPrefix("ok"))
        #expect(try serve.request("POST", "/stop").status == 409)
        #expect(try serve.json("/status")["state"] as? String == "idle")

        let bad = try serve.request("POST", "/start", #"{"rate": "fast"}"#)
        #expect(bad.status == 400 && bad.body.contains("--rate must be a positive number"))
        #expect(try serve.request("POST", "/start", "[1]").status == 400)

        let started = try serve.request(
            "POST", "/start",
            #"{"endpoint": "127.0.0.1:\#(receiver.port)", "rate": "4k", "duration": "20s", "batch_size": 200, "run_id": "00000000000000ab"}"#
        )
        #expect(started.status == 202, "\(started.body)")
        #expect(try serve.request("POST", "/start", "{}").status == 409)
        usleep(1_500_000)
        let live = try serve.json("/status")
        #expect(live["state"] as? String == "running")
        #expect((live["sent"] as? Int ?? 0) > 0)
        let metrics = try serve.request("GET", "/metrics").body
        #expect(metrics.contains("pipeperf_loadgen_running 1"))
        #expect(metrics.contains("# TYPE pipeperf_loadgen_sent_items_total counter"))

        let stopped = try serve.request("POST", "/stop")
        #expect(stopped.status == 200)
        let done = try serve.json("/status")
        #expect(done["state"] as? String == "finished")
        #expect(done["interrupted"] as? Bool == true)
        #expect(done["run_id"] as? String == "00000000000000ab")
        let acked = done["acked"] as? Int ?? -1
        #expect(acked > 0 && acked == done["sent"] as? Int)
        let counts = try receiver.stop()
        #expect(counts["logs"]?["items"] == acked, "the receiver counted what serve reports as acked")
        #expect(try serve.request("POST", "/stop").status == 409)
        #expect(try serve.request("GET", "/metrics").body.contains("pipeperf_loadgen_runs_total 1"))
        #expect(try serve.request("GET", "/nope").status == 404)
        #expect(try serve.request("DELETE", "/status").status == 405)
    }
}
