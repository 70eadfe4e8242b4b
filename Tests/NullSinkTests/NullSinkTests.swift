import Foundation
import TestSupport
import Testing

func sh(_ argv: [String]) throws -> ProcessResult { try runProcess(argv) }

/// A null-sink process on free ports.
func startNullSink(_ extra: [String] = [], port: Int = 0) throws -> SinkProcess {
    try SinkProcess("null-sink", extra, grpcPort: port)
}

@Suite("null-sink (real process, independent senders)", .serialized, .timeLimit(.minutes(3)))
struct NullSinkTests {
    let tmp: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("ns-files-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    @Test("h2load posting payload files: every request and byte counted, per signal")
    func h2load() throws {
        let sink = try startNullSink()
        defer { sink.stop() }
        for (signal, service) in [
            ("logs", "logs.v1.LogsService"), ("traces", "trace.v1.TraceService"),
            ("metrics", "metrics.v1.MetricsService"),
        ] {
            let file = tmp.appendingPathComponent("\(signal).bin").path
            #expect(
                try sh([
                    Built.executable("loadgen"), "payload", "--signal", signal, "--batch-size", "100", "--out", file,
                ]).status == 0)
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            let r = try sh([
                "h2load", "-n", "200", "-c", "2", "-m", "8", "-d", file, "-H", "content-type: application/grpc", "-H",
                "te: trailers",
                "http://127.0.0.1:\(sink.grpcPort)/opentelemetry.proto.collector.\(service)/Export",
            ])
            #expect(r.out.contains("200 succeeded"), "\(r.out)")
            #expect(try sink.count(signal, "requests") == 200)
            #expect(try sink.count(signal, "bytes") == 200 * size)
            #expect(try sink.count(signal, "malformed") == 0)
        }
    }

    @Test(
        "a grpcio + opentelemetry-proto client gets OK for all three signals", arguments: ["logs", "traces", "metrics"])
    func pythonClient(signal: String) throws {
        let sink = try startNullSink()
        defer { sink.stop() }
        let r = try sh([
            "python3", Built.repository.appendingPathComponent("Tests/python/otlp_send.py").path, "--endpoint",
            "127.0.0.1:\(sink.grpcPort)",
            "--signal", signal, "--requests", "7", "--items", "30",
        ])
        #expect(r.out.contains("\"ok\": 7"), "\(r.out) \(r.err)")
        #expect(try sink.count(signal, "requests") == 7)
        let gz = try sh([
            "python3", Built.repository.appendingPathComponent("Tests/python/otlp_send.py").path, "--endpoint",
            "127.0.0.1:\(sink.grpcPort)",
            "--signal", signal, "--requests", "3", "--items", "30", "--gzip",
        ])
        #expect(gz.out.contains("\"ok\": 3"), "gzip-compressed requests are accepted: \(gz.out)")
    }

    @Test("malformed framing is INVALID_ARGUMENT, oversized RESOURCE_EXHAUSTED, unknown methods UNIMPLEMENTED")
    func errors() throws {
        let sink = try startNullSink(["--max-message-bytes", "10000"])
        defer { sink.stop() }
        let bad = tmp.appendingPathComponent("bad.bin")
        try Data([0, 0, 0, 0, 99, 1, 2, 3]).write(to: bad)
        let r = try sh([
            "nghttp", "-v", "-d", bad.path, "-H", "content-type: application/grpc", "-H", "te: trailers",
            "http://127.0.0.1:\(sink.grpcPort)/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        ])
        #expect(r.out.contains("grpc-status: 3"), "\(r.out)")
        #expect(try sink.count("logs", "malformed") == 1)

        let lg = try sh([
            Built.executable("loadgen"), "--endpoint", "127.0.0.1:\(sink.grpcPort)", "--count", "2000", "--batch-size",
            "1000",
            "--rate", "10k", "--quiet", "--summary-json", tmp.appendingPathComponent("s.json").path,
        ])
        #expect(lg.status == 0)
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: tmp.appendingPathComponent("s.json")))
            as? [String: Any]
        #expect((summary?["failed_by_status"] as? [String: Int]) == ["RESOURCE_EXHAUSTED": 2000])

        let unknown = try sh(["nghttp", "-v", "-d", bad.path, "http://127.0.0.1:\(sink.grpcPort)/nope"])
        #expect(unknown.out.contains("grpc-status: 12"))
        #expect(((try sink.status())["unknown_path"] as? Int) == 1)
    }

    @Test(
        "loadgen survives the sink dying mid-run: in-flight batches fail as CONNECTION_LOST, it reconnects, nothing is counted twice"
    )
    func connectionLoss() throws {
        let first = try startNullSink()
        let port = first.grpcPort
        let summaryPath = tmp.appendingPathComponent("loss.json")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Built.executable("loadgen"))
        p.arguments = [
            "--endpoint", "127.0.0.1:\(port)", "--rate", "100k", "--duration", "4s", "--quiet", "--summary-json",
            summaryPath.path,
        ]
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(1_200_000)
        first.stop()  // SIGKILL: connections drop with requests in flight
        usleep(500_000)
        let second = try startNullSink(port: port)
        defer { second.stop() }
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let s = try JSONSerialization.jsonObject(with: Data(contentsOf: summaryPath)) as? [String: Any] ?? [:]
        let sent = s["sent"] as? Int ?? -1, acked = s["acked"] as? Int ?? -1, failed = s["failed"] as? Int ?? -1
        #expect(sent == acked + failed, "every sent item is acked or failed exactly once")
        #expect((s["reconnects"] as? Int ?? 0) >= 1)
        let afterRestart = try second.count("logs", "requests")
        #expect(acked > 0 && afterRestart > 0, "the run went on after the restart")
        let byStatus = s["failed_by_status"] as? [String: Int] ?? [:]
        #expect(Set(byStatus.keys).isSubset(of: ["CONNECTION_LOST"]), "\(byStatus)")
    }

    /// Runs loadgen quietly with `args` (it must exit 0) and returns its JSON summary.
    func loadgen(_ args: [String], summary name: String) throws -> [String: Any]? {
        let summaryPath = tmp.appendingPathComponent(name)
        let lg = try sh([Built.executable("loadgen")] + args + ["--quiet", "--summary-json", summaryPath.path])
        #expect(lg.status == 0)
        return try JSONSerialization.jsonObject(with: Data(contentsOf: summaryPath)) as? [String: Any]
    }

    @Test("loadgen's acked count equals the sink's; /reset clears; /metrics names the counters")
    func loadgenAndAdmin() throws {
        let sink = try startNullSink()
        defer { sink.stop() }
        let summary = try loadgen(
            [
                "--endpoint", "127.0.0.1:\(sink.grpcPort)", "--rate", "200k", "--duration", "2s", "--threads", "2",
                "--connections", "2",
            ], summary: "l.json")
        #expect(summary?["acked"] as? Int == 400_000)
        #expect(try sink.count("logs", "requests") == 400)
        let metrics = try sh(["curl", "-s", "http://127.0.0.1:\(sink.adminPort)/metrics"]).out
        #expect(metrics.contains("pipeperf_sink_requests_total{signal=\"logs\"} 400"))
        #expect(try sh(["curl", "-s", "-X", "POST", "http://127.0.0.1:\(sink.adminPort)/reset"]).out.contains("true"))
        #expect(try sink.count("logs", "requests") == 0)
    }

    @Test(
        "OTLP/HTTP: loadgen --protocol http and Python's http.client are answered 200 and counted; bad requests are 4xx"
    )
    func otlpHTTP() throws {
        let sink = try startNullSink()
        defer { sink.stop() }
        let summary = try loadgen(
            [
                "--protocol", "http", "--endpoint", "127.0.0.1:\(sink.httpPort)", "--rate", "50k", "--duration", "1s",
                "--connections", "2",
            ], summary: "h.json")
        #expect(summary?["acked"] as? Int == 50_000)
        #expect(try sink.count("logs", "requests") == 50)
        let send = Built.repository.appendingPathComponent("Tests/python/otlp_send.py").path
        let py = try sh([
            "python3", send, "--endpoint", "127.0.0.1:\(sink.httpPort)", "--http", "--gzip", "--signal", "traces",
            "--requests", "4",
        ])
        #expect(py.out.contains("\"ok\": 4"), "\(py.out) \(py.err)")
        #expect(try sink.count("traces", "requests") == 4)
        let wrong = try sh([
            "python3", send, "--endpoint", "127.0.0.1:\(sink.httpPort)", "--http", "--path", "/v1/nothing",
            "--requests", "1",
        ])
        #expect(wrong.out.contains("HTTP_404"), "\(wrong.out)")
        let json = try sh([
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "content-type: application/json",
            "-d", "{}",
            "http://127.0.0.1:\(sink.httpPort)/v1/logs",
        ])
        #expect(json.out == "415")
    }
}
