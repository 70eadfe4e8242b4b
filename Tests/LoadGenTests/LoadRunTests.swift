import Foundation
import PipeperfBase
import H2Transport
import LoadGen
import OTLPWire
import TestSupport
import Testing

/// The Python receiver (grpcio + opentelemetry-proto) as a real process on a free port.
final class PythonReceiver {
    let process = Process()
    let stdinPipe = Pipe()
    let port: Int
    /// The OTLP/HTTP port, when started with --http-port.
    let httpPort: Int?
    let stdoutURL: URL
    let dir: URL

    init(_ extra: [String] = []) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeperf-recv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        stdoutURL = dir.appendingPathComponent("out")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", Built.repository.appendingPathComponent("Tests/python/otlp_receiver.py").path, "--port", "0",
                "--stdin-control",
            ] + extra
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = FileHandle.nullDevice
        process.standardInput = stdinPipe
        try process.run()
        var found: Int? = nil
        var foundHTTP: Int? = nil
        let wantHTTP = extra.contains("--http-port")
        for _ in 0..<300 {
            let text = (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
            func port(_ prefix: String) -> Int? {
                text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) })?.split(separator: ":").last.flatMap {
                    Int($0)
                }
            }
            found = port("listening ")
            foundHTTP = port("listening-http ")
            if found != nil && (!wantHTTP || foundHTTP != nil) { break }
            usleep(50_000)
        }
        httpPort = foundHTTP
        guard let found else {
            try? stdinPipe.fileHandleForWriting.close()
            throw LoadError(message: "otlp_receiver.py did not start")
        }
        port = found
    }

    /// Stops the receiver and returns its counts per signal.
    func stop() throws -> [String: [String: Int]] {
        // End of standard input stops it (signals may be blocked in processes this test runner spawns).
        try stdinPipe.fileHandleForWriting.close()
        process.waitUntilExit()
        let text = try String(contentsOf: stdoutURL, encoding: .utf8)
        try? FileManager.default.removeItem(at: dir)
        guard let last = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let json = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: [String: Int]]
        else {
            throw LoadError(message: "no counts from otlp_receiver.py: \(text)")
        }
        return json
    }
}

/// Runs the real `loadgen` binary and returns its exit status, JSON summary and stderr.
func loadgen(_ args: [String]) throws -> (status: Int32, summary: [String: Any], err: String) {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("summary-\(UUID().uuidString).json").path
    let r = try run([Built.executable("loadgen")] + args + ["--summary-json", path, "--quiet"])
    defer { try? FileManager.default.removeItem(atPath: path) }
    let data = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
    let summary = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    return (r.status, summary, r.err)
}

@Suite(
    "loadgen run against an independent gRPC receiver (grpcio + opentelemetry-proto)", .serialized,
    .timeLimit(.minutes(3)))
struct LoadRunTests {
    @Test("the receiver counts exactly what loadgen reports as acked", arguments: Signal.allCases)
    func exactCounts(signal: Signal) throws {
        let receiver = try PythonReceiver()
        let r = try loadgen([
            "--endpoint", "127.0.0.1:\(receiver.port)", "--signal", signal.rawValue, "--rate", "4000",
            "--duration", "2s", "--batch-size", "200", "--connections", "2", "--max-in-flight", "4",
            "--threads", "2",
        ])
        let counts = try receiver.stop()
        #expect(r.status == 0, "\(r.err)")
        let acked = r.summary["acked"] as? Int
        #expect(acked == 8000, "planned 4000/s × 2 s")
        #expect(r.summary["sent"] as? Int == 8000)
        #expect(r.summary["failed"] as? Int == 0)
        #expect(counts[signal.rawValue]?["items"] == acked)
        #expect(counts[signal.rawValue]?["seq_distinct"] == acked, "every sequence number distinct")
        #expect(counts[signal.rawValue]?["requests"] == r.summary["batches"] as? Int)
    }

    @Test("at a fixed rate replies are read at the next planned send, timed by the kernel's receive stamp")
    func parkedReplies() throws {
        // 25 batches/s: 40 ms between sends. A parked reply is read up to 40 ms after it arrived; its
        // latency must be its arrival's (the stamp), not the time it was read.
        let receiver = try PythonReceiver()
        let r = try loadgen([
            "--endpoint", "127.0.0.1:\(receiver.port)", "--rate", "2500", "--batch-size", "100", "--duration", "2s",
            "--connections", "1", "--max-in-flight", "4", "--threads", "1",
        ])
        let counts = try receiver.stop()
        #expect(r.status == 0, "\(r.err)")
        #expect(r.summary["acked"] as? Int == 5000)
        #expect(counts["logs"]?["items"] == 5000)
        let parked = r.summary["replies_read_parked"] as? Int ?? -1
        #expect(parked > 0 && parked <= 50, "replies read parked: \(parked) of 50")
        let latency = r.summary["rpc_latency_ms"] as? [String: Any]
        let uncorrected = latency?["uncorrected"] as? [String: Any]
        let p50 = uncorrected?["p50"] as? Double ?? -1
        #expect(p50 >= 0 && p50 < 30, "uncorrected latency p50 \(p50) ms: read time instead of arrival time?")
    }

    @Test(
        "error statuses are counted by name, with the grpc-message",
        arguments: ["UNAVAILABLE", "RESOURCE_EXHAUSTED", "INVALID_ARGUMENT"])
    func errorStatuses(status: String) throws {
        let receiver = try PythonReceiver(["--status", status, "--message", "injected \(status)"])
        let r = try loadgen([
            "--endpoint", "127.0.0.1:\(receiver.port)", "--count", "1000", "--batch-size", "100", "--rate", "5k",
        ])
        _ = try receiver.stop()
        #expect(r.status == 0)
        #expect(r.summary["acked"] as? Int == 0)
        #expect(r.summary["failed"] as? Int == 1000)
        #expect((r.summary["failed_by_status"] as? [String: Int]) == [status: 1000])
        #expect((r.summary["first_grpc_message"] as? String) == "\(status): injected \(status)")
    }

    @Test("OTLP partial success: rejected items are not acked")
    func partialSuccess() throws {
        let receiver = try PythonReceiver(["--reject", "7"])
        let r = try loadgen([
            "--endpoint", "127.0.0.1:\(receiver.port)", "--count", "1000", "--batch-size", "100", "--rate", "5k",
            "--signal", "traces",
        ])
        let counts = try receiver.stop()
        #expect(r.summary["rejected"] as? Int == 70)
        #expect(r.summary["acked"] as? Int == 930)
        #expect(counts["traces"]?["items"] == 1000)
    }

    @Test("SIGINT stops the run: exit 130, a summary marked interrupted, every sent item accounted for")
    func interrupt() throws {
        let receiver = try PythonReceiver()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("int-\(UUID().uuidString).json").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Built.executable("loadgen"))
        p.arguments = [
            "--endpoint", "127.0.0.1:\(receiver.port)", "--rate", "5k", "--duration", "60s", "--batch-size", "100",
            "--quiet", "--summary-json", path,
        ]
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(1_500_000)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        let counts = try receiver.stop()
        #expect(p.terminationStatus == 130)
        let s =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            ?? [:]
        #expect(s["interrupted"] as? Bool == true)
        let sent = s["sent"] as? Int ?? -1, acked = s["acked"] as? Int ?? -2, failed = s["failed"] as? Int ?? -3
        #expect(sent > 0 && sent == acked + failed)
        #expect(counts["logs"]?["items"] == acked)
        #expect((s["duration_s"] as? Double ?? 99) < 10, "stopped early, not after the planned 60 s")
    }

    @Test("an unreachable endpoint is reported once, retried, and shown in the summary")
    func unreachable() throws {
        // A port nothing listens on: bind one, note it, close it.
        let r = try loadgen([
            "--endpoint", "127.0.0.1:1", "--duration", "1s", "--rate", "1000", "--batch-size", "100", "--drain", "1s",
        ])
        #expect(r.status == 0)
        #expect((r.summary["connect_failures"] as? Int ?? 0) >= 2, "retried with backoff")
        #expect(r.summary["sent"] as? Int == 0)
        #expect((r.summary["first_error"] as? String)?.contains("Connection refused") == true)
        let lines = r.err.split(separator: "\n").filter { $0.contains("cannot connect") }
        #expect(lines.count == 1, "said once: \(r.err)")

        // Closed loop with --count has no window; it gives up after --drain without progress.
        let closed = try loadgen([
            "--endpoint", "127.0.0.1:1", "--rate", "max", "--count", "1000", "--batch-size", "100", "--drain", "1s",
        ])
        #expect(closed.status == 0)
        #expect(closed.summary["unsent"] as? Int == 1000)
        #expect(closed.summary["sent"] as? Int == 0)
    }

    /// A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI.
    func selfSignedCertificate() throws -> (cert: String, key: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeperf-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let r = try run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        #expect(r.status == 0, "openssl: \(r.err)")
        return (cert, key)
    }

    @Test("TLS: verified against a CA file, refused without it, allowed with --insecure-skip-verify")
    func tls() throws {
        let (cert, key) = try selfSignedCertificate()
        let receiver = try PythonReceiver(["--tls-cert", cert, "--tls-key", key])
        let ok = try loadgen([
            "--endpoint", "127.0.0.1:\(receiver.port)", "--tls", "--ca-file", cert, "--count", "2000",
            "--batch-size", "200", "--rate", "10k",
        ])
        let byName = try loadgen([
            "--endpoint", "localhost:\(receiver.port)", "--tls", "--ca-file", cert, "--count", "1000",
            "--batch-size", "200", "--rate", "10k",
        ])
        let unverified = try loadgen([
            "--endpoint", "127.0.0.1:\(receiver.port)", "--tls", "--count", "1000", "--batch-size", "200",
            "--rate", "10k", "--drain", "1s",
        ])
        let skipped = try loadgen([
            "--endpoint", "127.0.0.1:\(receiver.port)", "--tls", "--insecure-skip-verify", "--count", "1000",
            "--batch-size", "200", "--rate", "10k",
        ])
        let plain = try loadgen([
            "--endpoint", "127.0.0.1:\(receiver.port)", "--count", "1000", "--batch-size", "200",
            "--rate", "10k", "--drain", "1s",
        ])
        let counts = try receiver.stop()
        #expect(ok.summary["acked"] as? Int == 2000)
        #expect(byName.summary["acked"] as? Int == 1000)
        #expect(unverified.summary["sent"] as? Int == 0)
        #expect(
            (unverified.summary["first_error"] as? String)?.contains(
                "certificate verification: self-signed certificate") == true)
        #expect(skipped.summary["acked"] as? Int == 1000)
        #expect(plain.summary["acked"] as? Int == 0, "cleartext HTTP/2 against a TLS port gets nothing through")
        #expect(counts["logs"]?["items"] == 4000)
    }

    @Test("bad flags exit 64 and name the flag and the accepted form")
    func badFlags() throws {
        let cases: [([String], String)] = [
            (
                ["--rate", "fast"],
                "--rate must be a positive number with an optional k/M/G suffix, or max (got 'fast')"
            ),
            (["--rate", "0"], "--rate must be"),
            (["--duration", "soon"], "--duration must be a positive duration such as 30s"),
            (["--endpoint", "localhost"], "--endpoint: invalid endpoint 'localhost': missing ':PORT'"),
            (["--endpoint", "127.0.0.1:99999"], "port '99999' is not a number from 0 to 65535"),
            (["--threads", "0"], "--threads must be between 1 and 64 (got 0)"),
            (["--header", "novalue"], "--header must be NAME=VALUE (got 'novalue')"),
            (["--header", ":path=/x"], "is not an allowed header name"),
            (["--count", "5", "--duration", "1s"], "--duration and --count exclude each other"),
            (["--rate", "10", "--duration", "1s"], "plans 10.0 items, less than one batch of 1000"),
            (["--ca-file", "/etc/hostname"], "--ca-file needs --tls"),
            (["--tls", "--ca-file", "/nonexistent.pem"], "--ca-file: cannot read /nonexistent.pem"),
            (["--tls", "--client-cert", "/etc/hostname"], "--client-cert and --client-key go together"),
            (["--protocol", "smtp"], "--protocol must be one of grpc, http, syslog (got 'smtp')"),
            (["--syslog-format", "rfc5424"], "--syslog-format needs --protocol syslog"),
            (["--http-path", "/x"], "--http-path needs --protocol http"),
            (["--protocol", "http", "--http-path", "v1/logs"], "--http-path must start with /"),
            (["--protocol", "http", "--header", "content-length=3"], "that header is set by loadgen for OTLP/HTTP"),
            (
                ["--protocol", "syslog", "--signal", "traces"],
                "--protocol syslog carries logs only (got --signal traces)"
            ),
            (
                ["--protocol", "syslog", "--compression", "gzip"],
                "--compression gzip is not available with --protocol syslog"
            ),
            (
                ["--protocol", "syslog", "--syslog-transport", "sctp"],
                "--syslog-transport must be tcp or udp (got 'sctp')"
            ),
            (
                ["--protocol", "syslog", "--syslog-framing", "crlf"],
                "--syslog-framing must be octet-counting or newline (got 'crlf')"
            ),
            (
                ["--protocol", "syslog", "--syslog-transport", "udp", "--syslog-framing", "newline"],
                "--syslog-framing is for TCP"
            ),
            (
                ["--protocol", "syslog", "--syslog-transport", "udp", "--tls"],
                "--tls is not available with --syslog-transport udp"
            ),
            (
                ["--protocol", "syslog", "--syslog-hostname", "a b"],
                "--syslog-hostname must be 1-255 printable ASCII characters"
            ),
            (
                ["--protocol", "syslog", "--syslog-transport", "udp", "--body-size", "70000"],
                "more than a UDP datagram holds"
            ),
        ]
        for (args, message) in cases {
            let r = try run([Built.executable("loadgen")] + args)
            #expect(r.status == 64, "\(args)")
            #expect(r.err.contains(message), "\(args): \(r.err)")
        }
    }
}

@Suite("Rates, durations and the open-loop plan")
struct PlanTests {
    @Test("rates and durations parse as documented")
    func parsing() {
        #expect(Rate.parse("250") == .perSecond(250))
        #expect(Rate.parse("100k") == .perSecond(100_000))
        #expect(Rate.parse("1.5M") == .perSecond(1_500_000))
        #expect(Rate.parse("max") == .max)
        #expect(Rate.parse("-5") == nil && Rate.parse("1e30") == nil && Rate.parse("k") == nil && Rate.parse("") == nil)
        #expect(DurationSpec.parseNanos("30s") == 30_000_000_000)
        #expect(DurationSpec.parseNanos("1m30s") == 90_000_000_000)
        #expect(DurationSpec.parseNanos("500ms") == 500_000_000)
        #expect(DurationSpec.parseNanos("2") == 2_000_000_000)
        #expect(
            DurationSpec.parseNanos("0s") == nil && DurationSpec.parseNanos("-1s") == nil
                && DurationSpec.parseNanos("9999999999h") == nil)
    }

    /// A 10 s plan holds rate × 10 items, ± one batch, for any rate and batch size (no integer truncation).
    @Test("a 10 s plan holds rate × 10 items ± one batch")
    func planAccuracy() {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<2000 {
            let rate = Double(1 + rng.below(5_000_000)) + Double(rng.below(1000)) / 1000
            let batch = 1 + rng.below(5000)
            let config = LoadConfig(
                endpoint: Endpoint(host: "127.0.0.1", port: 1), rate: .perSecond(rate), durationNanos: 10_000_000_000,
                count: nil, shape: PayloadShape(signal: .logs, batchSize: batch))
            let items = Double((config.plannedBatches ?? 0) * batch)
            #expect(abs(items - rate * 10) <= Double(batch), "rate \(rate), batch \(batch): \(items) items")
        }
    }
}
