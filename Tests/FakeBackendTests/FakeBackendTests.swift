import Foundation
import TestSupport
import Testing

func startFakeBackend(_ extra: [String] = []) throws -> SinkProcess { try SinkProcess("fake-backend", extra) }

let python = Built.repository.appendingPathComponent("Tests/python")

/// Runs a Python test peer and returns its JSON line.
func peer(_ script: String, _ args: [String]) throws -> [String: Any] {
    let r = try runProcess(["python3", python.appendingPathComponent(script).path] + args)
    guard let line = r.out.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
        let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    else {
        Issue.record("\(script) printed no JSON: \(r.out) \(r.err)")
        return [:]
    }
    return json
}

/// Repeats `body` until `until` holds for its result, for at most `seconds` (then returns the last
/// result, for the caller's expectation to report): behaviour, not the scheduler's speed, is tested.
func eventually<T>(seconds: Double = 20, until: (T) -> Bool, _ body: () throws -> T) rethrows -> T {
    let deadline = Date().addingTimeInterval(seconds)
    var result = try body()
    while !until(result) && Date() < deadline {
        usleep(100_000)
        result = try body()
    }
    return result
}

/// A peer run repeated until it reports no error (the sink is serving again).
func eventually(seconds: Double = 20, _ body: () throws -> [String: Any]) rethrows -> [String: Any] {
    try eventually(
        seconds: seconds, until: { ($0["errors"] as? [String: Int] ?? [:]).isEmpty && ($0["ok"] as? Int ?? 0) > 0 },
        body)
}

/// Runs loadgen and returns its JSON summary.
func loadgenSummary(_ args: [String]) throws -> [String: Any] {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("fb-summary-\(UUID().uuidString).json")
        .path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let r = try runProcess([Built.executable("loadgen")] + args + ["--quiet", "--summary-json", path])
    #expect(r.status == 0, "\(r.err)")
    return (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        ?? [:]
}

@Suite("fake-backend (real process, independent senders)", .serialized, .timeLimit(.minutes(3)))
struct FakeBackendTests {
    let tmp: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("fb-files-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    @Test(
        "loadgen over gRPC and OTLP/HTTP, all signals: received equals acked, nothing missing or duplicated, latency for every item",
        arguments: ["grpc", "http"])
    func loadgenExact(proto: String) throws {
        let backend = try startFakeBackend(["--threads", "2"])
        defer { backend.stop() }
        let port = proto == "grpc" ? backend.grpcPort : backend.httpPort
        var total = 0
        for (i, signal) in ["logs", "traces", "metrics"].enumerated() {
            let s = try loadgenSummary([
                "--protocol", proto, "--endpoint", "127.0.0.1:\(port)", "--signal", signal, "--rate", "20k",
                "--duration", "1s", "--batch-size", "200", "--connections", "2", "--compression",
                i == 1 ? "gzip" : "none",
                "--run-id", "00000000000000a\(i)",
            ])
            #expect(s["acked"] as? Int == 20_000)
            let status = try backend.status()
            let c = status[signal] as? [String: Any] ?? [:]
            #expect(c["received"] as? Int == 20_000, "\(signal): \(c)")
            #expect(c["tracked"] as? Int == 20_000)
            #expect(c["distinct"] as? Int == 20_000)
            #expect(c["missing"] as? Int == 0)
            #expect(c["duplicates"] as? Int == 0)
            #expect(c["requests"] as? Int == 100)
            total += 20_000
            // Both histograms: from the intended send time (loadgen carries it) and from the actual one.
            for key in ["latency_ms", "latency_ms_uncorrected"] {
                let latency = status[key] as? [String: Any] ?? [:]
                #expect(latency["count"] as? Int == total, "\(key)")
                #expect((latency["p50"] as? Double ?? -1) >= 0)
            }
            let lat = status["latency_ms"] as? [String: Any] ?? [:]
            let unc = status["latency_ms_uncorrected"] as? [String: Any] ?? [:]
            #expect(
                (lat["max"] as? Double ?? -1) >= (unc["max"] as? Double ?? 0), "from the intended time is never less")
        }
        let runs = (try backend.status())["runs"] as? [[String: Any]] ?? []
        #expect(
            runs.compactMap { $0["run_id"] as? String }.sorted() == [
                "00000000000000a0", "00000000000000a1", "00000000000000a2",
            ])
    }

    @Test("h2load replaying one payload file: every repeat is a duplicate; a skipped range is missing")
    func duplicatesAndMissing() throws {
        let backend = try startFakeBackend()
        defer { backend.stop() }
        let first = tmp.appendingPathComponent("first.bin").path, third = tmp.appendingPathComponent("third.bin").path
        for (file, seq) in [(first, "0"), (third, "2000")] {
            let r = try runProcess([
                Built.executable("loadgen"), "payload", "--batch-size", "1000", "--first-seq", seq, "--run-id",
                "00000000000000bb", "--out", file,
            ])
            #expect(r.status == 0, "\(r.err)")
        }
        let url = "http://127.0.0.1:\(backend.grpcPort)/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        let h = try runProcess([
            "h2load", "-n", "20", "-c", "1", "-m", "4", "-d", first, "-H", "content-type: application/grpc", "-H",
            "te: trailers", url,
        ])
        #expect(h.out.contains("20 succeeded"), "\(h.out)")
        let h3 = try runProcess([
            "h2load", "-n", "1", "-c", "1", "-d", third, "-H", "content-type: application/grpc", "-H", "te: trailers",
            url,
        ])
        #expect(h3.out.contains("1 succeeded"), "\(h3.out)")
        let logs = (try backend.status())["logs"] as? [String: Any] ?? [:]
        #expect(logs["received"] as? Int == 21_000)
        #expect(logs["requests"] as? Int == 21)
        #expect(logs["distinct"] as? Int == 2000)
        #expect(logs["duplicates"] as? Int == 19_000)
        #expect(logs["missing"] as? Int == 1000, "sequence numbers 1000-1999 never came")
    }

    @Test(
        "a grpcio + opentelemetry-proto client and Python's http.client: exact counts, plain and gzip",
        arguments: ["logs", "traces", "metrics"])
    func pythonClients(signal: String) throws {
        let backend = try startFakeBackend()
        defer { backend.stop() }
        let g = try peer(
            "otlp_send.py",
            [
                "--endpoint", "127.0.0.1:\(backend.grpcPort)", "--signal", signal, "--requests", "5", "--items", "40",
                "--gzip",
            ])
        #expect(g["ok"] as? Int == 5)
        let h = try peer(
            "otlp_send.py",
            [
                "--endpoint", "127.0.0.1:\(backend.httpPort)", "--http", "--signal", signal, "--requests", "5",
                "--items", "40",
                "--first-seq", "200",
            ])
        #expect(h["ok"] as? Int == 5)
        let c = (try backend.status())[signal] as? [String: Any] ?? [:]
        #expect(c["received"] as? Int == 400)
        #expect(c["distinct"] as? Int == 400)
        #expect(c["missing"] as? Int == 0)
    }

    @Test(
        "the OpenTelemetry Python SDK's OTLP exporters (gRPC and HTTP): every log and span counted",
        arguments: ["grpc", "http"])
    func otelSDK(proto: String) throws {
        let backend = try startFakeBackend()
        defer { backend.stop() }
        let port = proto == "grpc" ? backend.grpcPort : backend.httpPort
        let r = try peer(
            "otel_sdk_send.py",
            ["--endpoint", "127.0.0.1:\(port)", "--protocol", proto, "--logs", "700", "--spans", "300"])
        #expect(r["flushed"] as? Bool == true)
        #expect(try backend.count("logs", "received") == 700)
        #expect(try backend.count("traces", "received") == 300)
        #expect(try backend.count("logs", "malformed") == 0)
    }

    @Test(
        "injected errors reach an independent client with the configured code and retry delay (gRPC RetryInfo, HTTP Retry-After)"
    )
    func injectedErrors() throws {
        let backend = try startFakeBackend([
            "--error-fraction", "1", "--error-code", "RESOURCE_EXHAUSTED", "--retry-after", "3",
        ])
        defer { backend.stop() }
        let g = try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--requests", "4"])
        #expect((g["errors"] as? [String: Int]) == ["RESOURCE_EXHAUSTED": 4])
        #expect((g["retry_delays"] as? [Int]) == [3, 3, 3, 3])
        let h = try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.httpPort)", "--http", "--requests", "2"])
        #expect((h["errors"] as? [String: Int]) == ["HTTP_429": 2], "RESOURCE_EXHAUSTED maps to 429 on OTLP/HTTP")
        #expect((h["retry_delays"] as? [Int]) == [3, 3])
        #expect(try backend.count("logs", "injected_errors") == 6)
        #expect(try backend.count("logs", "received") == 0, "refused requests are not received")

        // Changed at run time: half the requests, UNAVAILABLE, no retry delay; then cleared.
        let set = try backend.admin("POST", "/faults", "{\"error_fraction\": 0.5}")
        #expect(set.contains("\"error_code\":\"UNAVAILABLE\""), "\(set)")
        let half = try peer(
            "otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--requests", "200", "--items", "1"])
        let failed = (half["errors"] as? [String: Int])?["UNAVAILABLE"] ?? 0
        #expect(failed > 60 && failed < 140, "about half of 200: \(failed)")
        #expect(half["ok"] as? Int == 200 - failed)
        _ = try backend.admin("POST", "/faults", "{}")
        let clear = try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--requests", "5"])
        #expect(clear["ok"] as? Int == 5)
        let bad = try backend.admin("POST", "/faults", "{\"error_fraction\": 2}")
        #expect(bad.contains("--error-fraction must be between 0 and 1"), "\(bad)")
    }

    @Test("added latency and partial success are seen by the client as configured")
    func latencyAndPartialSuccess() throws {
        let backend = try startFakeBackend(["--latency", "80ms", "--reject-fraction", "0.25"])
        defer { backend.stop() }
        let g = try peer(
            "otlp_send.py",
            ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--signal", "traces", "--requests", "3", "--items", "40"])
        #expect(g["ok"] as? Int == 3)
        #expect(g["rejected"] as? Int == 30, "10 of 40 per request")
        #expect((g["min_latency_ms"] as? Double ?? 0) >= 80)
        let h = try peer(
            "otlp_send.py",
            [
                "--endpoint", "127.0.0.1:\(backend.httpPort)", "--http", "--signal", "metrics", "--requests", "2",
                "--items", "8",
            ])
        #expect(h["rejected"] as? Int == 4)
        #expect((h["min_latency_ms"] as? Double ?? 0) >= 80)
        #expect(try backend.count("traces", "rejected") == 30)
        let lg = try loadgenSummary([
            "--endpoint", "127.0.0.1:\(backend.grpcPort)", "--count", "1000", "--batch-size", "100", "--rate", "10k",
        ])
        #expect(lg["rejected"] as? Int == 250)
        #expect(lg["acked"] as? Int == 750)
    }

    @Test("an outage window answers UNAVAILABLE (HTTP 503) while it lasts, then recovers by itself")
    func outage() throws {
        let backend = try startFakeBackend()
        defer { backend.stop() }
        // A window long enough for every request below, however slowly the Python peers start.
        _ = try backend.admin(
            "POST", "/faults", "{\"outage_after\": \"0\", \"outage_for\": \"120s\", \"retry_after\": 1}")
        let during = try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--requests", "2"])
        #expect((during["errors"] as? [String: Int]) == ["UNAVAILABLE": 2])
        #expect((during["retry_delays"] as? [Int]) == [1, 1])
        let http = try peer(
            "otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.httpPort)", "--http", "--requests", "1"])
        #expect((http["errors"] as? [String: Int]) == ["HTTP_503": 1])
        // A short window: once it has passed, exports are served again without anyone lifting it.
        _ = try backend.admin("POST", "/faults", "{\"outage_after\": \"0\", \"outage_for\": \"500ms\"}")
        let after = try eventually {
            try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--requests", "2"])
        }
        #expect(after["ok"] as? Int == 2, "\(after)")
    }

    @Test(
        "outage in refuse mode: connections refused (gRPC UNAVAILABLE, HTTP connection error) while it lasts, then served again"
    )
    func outageRefuses() throws {
        let backend = try startFakeBackend(["--threads", "2"])
        defer { backend.stop() }
        _ = try backend.admin("POST", "/faults", "{\"outage_for\": \"120s\", \"outage_mode\": \"refuse\"}")
        // The listeners close on the receiving threads' next turn.
        _ = try eventually(until: { $0.out == "000" }) {
            try runProcess([
                "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(backend.grpcPort)/",
            ])
        }
        let g = try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--requests", "2"])
        #expect((g["errors"] as? [String: Int]) == ["UNAVAILABLE": 2], "\(g)")
        let refused = try runProcess([
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(backend.grpcPort)/",
        ])
        #expect(refused.out == "000", "nothing listens on the gRPC port")
        let h = try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.httpPort)", "--http", "--requests", "1"])
        #expect((h["errors"] as? [String: Int]) == ["CONNECTION_ERROR": 1], "\(h)")
        // Lifting the outage (POST /faults {}) opens the listeners again.
        _ = try backend.admin("POST", "/faults", "{}")
        let after = try eventually {
            try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--requests", "2"])
        }
        #expect(after["ok"] as? Int == 2, "\(after)")
        let afterHTTP = try eventually {
            try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.httpPort)", "--http", "--requests", "1"])
        }
        #expect(afterHTTP["ok"] as? Int == 1, "\(afterHTTP)")
    }

    @Test("slow reading holds a sender to the configured bytes per second through flow control")
    func slowReading() throws {
        let backend = try startFakeBackend(["--slow-read", "200000"])
        defer { backend.stop() }
        // One request at a time (HTTP/2 would otherwise interleave them and complete none).
        let s = try loadgenSummary([
            "--endpoint", "127.0.0.1:\(backend.grpcPort)", "--rate", "max", "--duration", "2s", "--drain", "1s",
            "--max-in-flight", "1",
        ])
        let requests = try backend.count("logs", "requests")
        // 2 s plus the drain at 200 kB/s reads about 600 kB: two or three 194 kB requests, where unthrottled it takes thousands.
        #expect(requests >= 1 && requests <= 4, "\(requests) requests completed")
        #expect(s["acked"] as? Int == requests * 1000)
        #expect(try backend.count("logs", "bytes") <= 3 * 200_000 + 194_000)
    }

    @Test("gRPC over TLS: loadgen and grpcio with the CA are served; a cleartext client is not")
    func tls() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fb-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let made = try runProcess([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost", "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        #expect(made.status == 0)
        let backend = try startFakeBackend(["--tls-cert", cert, "--tls-key", key])
        defer { backend.stop() }
        let s = try loadgenSummary([
            "--endpoint", "localhost:\(backend.grpcPort)", "--tls", "--ca-file", cert, "--count", "3000",
            "--batch-size", "100", "--rate", "10k",
        ])
        #expect(s["acked"] as? Int == 3000)
        let g = try peer(
            "otlp_send.py",
            ["--endpoint", "localhost:\(backend.grpcPort)", "--tls-ca", cert, "--requests", "3", "--items", "10"])
        #expect(g["ok"] as? Int == 3, "\(g)")
        let plain = try loadgenSummary([
            "--endpoint", "127.0.0.1:\(backend.grpcPort)", "--count", "100", "--batch-size", "100", "--rate", "1k",
            "--drain", "1s",
        ])
        #expect(plain["acked"] as? Int == 0)
        #expect(try backend.count("logs", "received") == 3030)
        let badFlag = try runProcess([Built.executable("fake-backend"), "--tls-cert", cert])
        #expect(badFlag.status == 64 && badFlag.err.contains("--tls-cert and --tls-key go together"))
    }

    @Test("malformed payloads are INVALID_ARGUMENT / HTTP 400 and counted; the server keeps serving")
    func malformed() throws {
        let backend = try startFakeBackend()
        defer { backend.stop() }
        for hex in ["0a0b0c", "ffffffffffffffffffff01", "0a05120312010a"] {
            let g = try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--raw-hex", hex])
            #expect((g["errors"] as? [String: Int]) == ["INVALID_ARGUMENT": 1], "\(hex): \(g)")
        }
        let h = try peer(
            "otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.httpPort)", "--http", "--raw-hex", "0a0b0c"])
        #expect((h["errors"] as? [String: Int]) == ["HTTP_400": 1])
        #expect(try backend.count("logs", "malformed") == 4)
        let ok = try peer("otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--requests", "2"])
        #expect(ok["ok"] as? Int == 2)
    }

    @Test("the latency window: /status?window=start opens it, ?window=stop closes it; only arrivals between count")
    func latencyWindow() throws {
        let backend = try startFakeBackend(["--threads", "2"])
        defer { backend.stop() }
        func send(_ n: Int, _ id: String) throws {
            let s = try loadgenSummary([
                "--endpoint", "127.0.0.1:\(backend.grpcPort)", "--count", String(n), "--batch-size", "100", "--rate",
                "20k",
                "--run-id", id,
            ])
            #expect(s["acked"] as? Int == n)
        }
        try send(1000, "00000000000000b1")  // before the window
        let opened = try backend.status(query: "window=start")
        #expect((opened["window"] as? [String: Any])?["open"] as? Bool == true)
        #expect(((opened["window"] as? [String: Any])?["latency_ms"] as? [String: Any])?["count"] as? Int == 0)
        #expect((opened["time_unix_nano"] as? Int ?? 0) > 1_700_000_000_000_000_000)
        try send(2000, "00000000000000b2")  // inside
        let closed = try backend.status(query: "window=stop")
        try send(500, "00000000000000b3")  // after
        let after = try backend.status()
        for s in [closed, after] {
            let window = s["window"] as? [String: Any] ?? [:]
            #expect(window["open"] as? Bool == false)
            #expect((window["latency_ms"] as? [String: Any])?["count"] as? Int == 2000, "\(window)")
            #expect((window["latency_ms_uncorrected"] as? [String: Any])?["count"] as? Int == 2000)
        }
        #expect((after["latency_ms"] as? [String: Any])?["count"] as? Int == 3500)
    }

    @Test("per-second latency: every item in exactly one finished second; seconds_after pages on; /reset clears them")
    func latencySeconds() throws {
        let backend = try startFakeBackend(["--threads", "2"])
        defer { backend.stop() }
        #expect((try backend.status())["latency_seconds"] == nil, "only when asked")
        // 2.5 s of load at 4k/s over two connections, then the last second settles.
        let s = try loadgenSummary([
            "--endpoint", "127.0.0.1:\(backend.grpcPort)", "--count", "10000", "--batch-size", "100", "--rate", "4k",
            "--connections", "2",
        ])
        #expect(s["acked"] as? Int == 10_000)
        func seconds(_ after: Int) throws -> [[String: Any]] {
            try backend.status(query: "seconds_after=\(after)")["latency_seconds"] as? [[String: Any]] ?? []
        }
        func count(_ x: [String: Any], _ h: String) -> Int { (x[h] as? [String: Any])?["count"] as? Int ?? -1 }
        var all: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(10)
        repeat {
            all = try seconds(0)
            if all.map({ count($0, "latency_ms_uncorrected") }).reduce(0, +) == 10_000 { break }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        let ts = all.compactMap { $0["t"] as? Int }
        #expect(ts.count >= 3 && ts == ts.sorted() && Set(ts).count == ts.count, "\(ts)")
        #expect(all.map { count($0, "latency_ms_uncorrected") }.reduce(0, +) == 10_000, "\(all)")
        #expect(all.map { count($0, "latency_ms") }.reduce(0, +) == 10_000, "intended send times carried")
        for x in all {
            let p = x["latency_ms"] as? [String: Any] ?? [:]
            let (p50, p99, mx) = (p["p50"] as? Double ?? -1, p["p99"] as? Double ?? -1, p["max"] as? Double ?? -1)
            #expect(p50 >= 0 && p50 <= p99 && p99 <= mx * 1.01 && mx < 10_000, "\(x)")
        }
        // Paging: after the first second, the rest; after the last, nothing.
        #expect(try seconds(ts[0]).compactMap { $0["t"] as? Int } == Array(ts.dropFirst()))
        #expect(try seconds(ts.last!).isEmpty)
        #expect(try backend.admin("POST", "/reset").contains("true"))
        #expect(try seconds(0).isEmpty)
    }

    @Test("/metrics names the counters; /reset clears counts, ledger and latency; bad flags exit 64")
    func adminAndFlags() throws {
        let backend = try startFakeBackend()
        defer { backend.stop() }
        _ = try peer(
            "otlp_send.py", ["--endpoint", "127.0.0.1:\(backend.grpcPort)", "--requests", "2", "--items", "10"])
        let metrics = try backend.admin("GET", "/metrics")
        #expect(metrics.contains("pipeperf_backend_items_total{signal=\"logs\"} 20"), "\(metrics)")
        #expect(metrics.contains("pipeperf_backend_missing{signal=\"logs\"} 0"))
        #expect(try backend.admin("POST", "/reset").contains("true"))
        let status = try backend.status()
        #expect((status["logs"] as? [String: Any])?["received"] as? Int == 0)
        #expect((status["runs"] as? [Any])?.isEmpty == true)
        #expect((status["latency_ms"] as? [String: Any])?["count"] as? Int == 0)
        for (args, message) in [
            (["--error-fraction", "1.5"], "--error-fraction must be between 0 and 1"),
            (["--error-code", "NOPE"], "--error-code must be a gRPC status name"),
            (["--grpc", "nowhere"], "--grpc must be HOST:PORT"),
            (["--grpc", "none", "--http", "none"], "nothing would listen"),
            (["--latency", "soon"], "--latency must be a duration"),
            (["--outage-after", "1s"], "--outage-after needs --outage-for"),
        ] {
            let r = try runProcess([Built.executable("fake-backend")] + args)
            #expect(r.status == 64, "\(args)")
            #expect(r.err.contains(message), "\(args): \(r.err)")
        }
    }
}

@Suite("fake-backend syslog input", .serialized, .timeLimit(.minutes(3)))
struct FakeBackendSyslogTests {
    func waitFor(_ backend: SinkProcess, received: Int) throws -> [String: Any] {
        var logs: [String: Any] = [:]
        for _ in 0..<50 {
            logs = (try backend.status())["logs"] as? [String: Any] ?? [:]
            if logs["received"] as? Int ?? 0 >= received { break }
            usleep(100_000)
        }
        return logs
    }

    func syslogPorts(_ backend: SinkProcess) throws -> (tcp: Int, udp: Int) {
        let s = try backend.status()
        return (s["syslog_tcp_port"] as? Int ?? 0, s["syslog_udp_port"] as? Int ?? 0)
    }

    @Test("loadgen's syslog in every format, framing and transport: counted as logs, tracked exactly")
    func fromLoadgen() throws {
        let backend = try startFakeBackend(["--syslog-tcp", "127.0.0.1:0", "--syslog-udp", "127.0.0.1:0"])
        defer { backend.stop() }
        let (tcp, udp) = try syslogPorts(backend)
        let variants: [[String]] = [
            ["--endpoint", "127.0.0.1:\(tcp)"],
            ["--endpoint", "127.0.0.1:\(tcp)", "--syslog-framing", "newline", "--syslog-format", "rfc3164"],
            ["--endpoint", "127.0.0.1:\(udp)", "--syslog-transport", "udp"],
        ]
        for (i, v) in variants.enumerated() {
            let s = try loadgenSummary(
                [
                    "--protocol", "syslog", "--count", "3000", "--batch-size", "100", "--rate", "20k",
                    "--run-id", "00000000000000d\(i)",
                ] + v)
            #expect(s["acked"] as? Int == 3000)
        }
        let logs = try waitFor(backend, received: 9000)
        #expect(logs["received"] as? Int == 9000)
        #expect(logs["distinct"] as? Int == 9000)
        #expect(logs["missing"] as? Int == 0)
        let status = try backend.status()
        #expect((status["syslog"] as? [String: Any])?["messages"] as? Int == 9000)
        // syslog carries the actual send time only: latency from it, none from an intended time.
        #expect((status["latency_ms_uncorrected"] as? [String: Any])?["count"] as? Int == 9000)
        #expect((status["latency_ms"] as? [String: Any])?["count"] as? Int == 0)
    }

    @Test("a real syslog pipeline: loadgen → rsyslogd (imtcp → omfwd, TCP octet-counted and UDP) → fake-backend")
    func throughRsyslog() throws {
        let backend = try startFakeBackend(["--syslog-tcp", "127.0.0.1:0", "--syslog-udp", "127.0.0.1:0"])
        defer { backend.stop() }
        let (tcp, udp) = try syslogPorts(backend)
        let tcpRelay = try Rsyslog { _ in
            """
            ruleset(name="r") { action(type="omfwd" target="127.0.0.1" port="\(tcp)" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format") }
            """
        }
        defer { tcpRelay.stop() }
        let s = try loadgenSummary([
            "--protocol", "syslog", "--endpoint", "127.0.0.1:\(tcpRelay.tcpPort)", "--count", "2000", "--batch-size",
            "100",
            "--rate", "10k", "--run-id", "00000000000000e1",
        ])
        #expect(s["acked"] as? Int == 2000)
        var logs = try waitFor(backend, received: 2000)
        #expect(logs["received"] as? Int == 2000)
        #expect(logs["distinct"] as? Int == 2000, "the structured data survived rsyslog's RFC 5424 forwarding")
        #expect(logs["missing"] as? Int == 0)

        let udpRelay = try Rsyslog { _ in
            """
            ruleset(name="r") { action(type="omfwd" target="127.0.0.1" port="\(udp)" protocol="udp" template="RSYSLOG_TraditionalForwardFormat") }
            """
        }
        defer { udpRelay.stop() }
        let u = try loadgenSummary([
            "--protocol", "syslog", "--syslog-format", "rfc3164", "--endpoint", "127.0.0.1:\(udpRelay.tcpPort)",
            "--count", "1000", "--batch-size", "100", "--rate", "5k", "--run-id", "00000000000000e2",
        ])
        #expect(u["acked"] as? Int == 1000)
        logs = try waitFor(backend, received: 3000)
        #expect(logs["received"] as? Int == 3000)
        #expect(logs["distinct"] as? Int == 3000, "RFC 3164 text tracking survived the traditional forward format")
    }

    @Test("broken octet counting closes the connection and counts as malformed")
    func malformed() throws {
        let backend = try startFakeBackend(["--syslog-tcp", "127.0.0.1:0"])
        defer { backend.stop() }
        let (tcp, _) = try syslogPorts(backend)
        let r = try runProcess([
            "python3", "-c",
            """
            import socket
            s = socket.create_connection(("127.0.0.1", \(tcp)))
            s.sendall(b"5 <13>a12x <13>b")
            s.settimeout(5)
            print("closed" if s.recv(10) == b"" else "open")
            """,
        ])
        #expect(r.out.contains("closed"), "\(r.out) \(r.err)")
        let status = try backend.status()
        #expect((status["syslog"] as? [String: Any])?["malformed"] as? Int == 1)
        #expect(
            (status["syslog"] as? [String: Any])?["messages"] as? Int == 1,
            "the good message before the bad frame counts")
    }
}
