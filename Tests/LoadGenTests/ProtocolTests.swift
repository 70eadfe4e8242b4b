import Foundation
import LoadGen
import OTLPWire
import TestSupport
import Testing

@Suite(
    "loadgen --protocol http against Python's own HTTP/1.1 server (opentelemetry-proto decoding)", .serialized,
    .timeLimit(.minutes(3)))
struct HTTPProtocolTests {
    @Test("the receiver counts exactly what loadgen acks, pipelined, plain and gzip", arguments: Signal.allCases)
    func exactCounts(signal: Signal) throws {
        for compression in ["none", "gzip"] {
            let receiver = try PythonReceiver(["--http-port", "0"])
            let port = try #require(receiver.httpPort)
            let r = try loadgen([
                "--protocol", "http", "--endpoint", "127.0.0.1:\(port)", "--signal", signal.rawValue,
                "--rate", "4000", "--duration", "1s", "--batch-size", "200", "--connections", "2",
                "--max-in-flight", "4", "--compression", compression,
            ])
            let counts = try receiver.stop()
            #expect(r.status == 0, "\(r.err)")
            #expect(r.summary["acked"] as? Int == 4000, "\(compression): \(r.summary)")
            #expect(r.summary["failed"] as? Int == 0)
            #expect(counts[signal.rawValue]?["items"] == 4000)
            #expect(counts[signal.rawValue]?["seq_distinct"] == 4000)
            #expect(counts[signal.rawValue]?["requests"] == 20)
        }
    }

    @Test("an HTTP error status is counted per status; partial success is read from the protobuf body")
    func statusesAndPartialSuccess() throws {
        let failing = try PythonReceiver(["--http-port", "0", "--http-status", "503", "--retry-after", "1"])
        let r = try loadgen([
            "--protocol", "http", "--endpoint", "127.0.0.1:\(try #require(failing.httpPort))", "--count", "1000",
            "--batch-size", "100", "--rate", "5k",
        ])
        _ = try failing.stop()
        #expect(r.summary["acked"] as? Int == 0)
        #expect((r.summary["failed_by_status"] as? [String: Int]) == ["HTTP_503": 1000])

        let partial = try PythonReceiver(["--http-port", "0", "--reject", "7"])
        let p = try loadgen([
            "--protocol", "http", "--endpoint", "127.0.0.1:\(try #require(partial.httpPort))", "--count", "1000",
            "--batch-size", "100", "--rate", "5k", "--signal", "metrics",
        ])
        let counts = try partial.stop()
        #expect(p.summary["rejected"] as? Int == 70)
        #expect(p.summary["acked"] as? Int == 930)
        #expect(counts["metrics"]?["items"] == 1000)
    }

    @Test("a wrong path is an HTTP 404 per batch, named in the summary")
    func wrongPath() throws {
        let receiver = try PythonReceiver(["--http-port", "0"])
        let r = try loadgen([
            "--protocol", "http", "--endpoint", "127.0.0.1:\(try #require(receiver.httpPort))", "--count", "300",
            "--batch-size", "100", "--rate", "5k", "--http-path", "/v1/nothing",
        ])
        _ = try receiver.stop()
        #expect((r.summary["failed_by_status"] as? [String: Int]) == ["HTTP_404": 300])
    }

    @Test("OTLP/HTTP over TLS (ALPN http/1.1) against a self-signed certificate")
    func tls() throws {
        let (cert, key) = try LoadRunTests().selfSignedCertificate()
        let receiver = try PythonReceiver(["--http-port", "0", "--tls-cert", cert, "--tls-key", key])
        let port = try #require(receiver.httpPort)
        let ok = try loadgen([
            "--protocol", "http", "--endpoint", "localhost:\(port)", "--count", "500", "--batch-size", "100",
            "--rate", "5k", "--tls", "--ca-file", cert,
        ])
        let refused = try loadgen([
            "--protocol", "http", "--endpoint", "localhost:\(port)", "--count", "100", "--batch-size", "100",
            "--rate", "5k", "--tls", "--drain", "1s",
        ])
        let counts = try receiver.stop()
        #expect(ok.summary["acked"] as? Int == 500, "\(ok.err)")
        #expect(counts["logs"]?["items"] == 500)
        #expect(refused.summary["acked"] as? Int == 0)
        #expect((refused.summary["first_error"] as? String)?.contains("certificate") == true, "\(refused.summary)")
    }
}

@Suite("loadgen --protocol syslog against rsyslogd", .serialized, .timeLimit(.minutes(3)))
struct SyslogProtocolTests {
    struct Variant: CustomStringConvertible, Sendable {
        let args: [String]
        let udp: Bool
        let rfc5424: Bool
        var description: String { args.joined(separator: " ") }
    }

    static let variants = [
        Variant(args: ["--syslog-format", "rfc5424", "--syslog-framing", "octet-counting"], udp: false, rfc5424: true),
        Variant(args: ["--syslog-format", "rfc5424", "--syslog-framing", "newline"], udp: false, rfc5424: true),
        Variant(args: ["--syslog-format", "rfc3164", "--syslog-framing", "newline"], udp: false, rfc5424: false),
        Variant(
            args: ["--syslog-format", "rfc3164", "--syslog-framing", "octet-counting"], udp: false, rfc5424: false),
        Variant(args: ["--syslog-transport", "udp"], udp: true, rfc5424: true),
        Variant(args: ["--syslog-transport", "udp", "--syslog-format", "rfc3164"], udp: true, rfc5424: false),
    ]

    @Test("rsyslogd parses every message: fields, tracking and exact counts", arguments: variants)
    func rsyslogParses(variant: Variant) throws {
        let rsyslog = try Rsyslog.toFile()
        let port = variant.udp ? rsyslog.udpPort : rsyslog.tcpPort
        let r = try loadgen(
            [
                "--protocol", "syslog", "--endpoint", "127.0.0.1:\(port)", "--count", "2000", "--batch-size", "100",
                "--rate", "10k", "--body-size", "24", "--run-id", "00000000000000ab", "--syslog-hostname", "gen-1",
                "--syslog-app-name", "pp",
            ] + variant.args)
        let lines = try rsyslog.lines(expecting: 2000)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.summary["acked"] as? Int == 2000)
        #expect(lines.count == 2000)
        var seqs = Set<Int>()
        for line in lines {
            let f = line.split(separator: "|", omittingEmptySubsequences: false)
            guard f.count == 5 else {
                Issue.record("unexpected line \(line)")
                continue
            }
            #expect(f[0] == "gen-1")
            #expect(f[1] == "pp")
            let tracking: Substring
            if variant.rfc5424 {
                #expect(f[2] == "load")
                #expect(f[3].hasPrefix("[pipeperf@32473 run=\"00000000000000ab\" seq=\""), "\(line)")
                tracking = f[3]
                #expect(f[4].count == 24)
            } else {
                #expect(f[3] == "-")
                #expect(f[4].contains("pipeperf run=00000000000000ab seq="), "\(line)")
                tracking = f[4]
            }
            if let range = tracking.range(of: "seq="),
                let n = Int(tracking[range.upperBound...].drop(while: { $0 == "\"" }).prefix(20))
            {
                seqs.insert(n)
            }
        }
        #expect(seqs.count == 2000 && seqs == Set(0..<2000), "\(2000 - seqs.count) sequence numbers missing")
    }

    @Test("nobody listening: TCP counts connect failures; UDP reports refused datagrams once")
    func nobodyListening() throws {
        let port = try Rsyslog.freePort(Int32(SOCK_STREAM.rawValue))
        let tcp = try loadgen([
            "--protocol", "syslog", "--endpoint", "127.0.0.1:\(port)", "--count", "100", "--batch-size", "100",
            "--rate", "1k", "--drain", "500ms",
        ])
        #expect(tcp.summary["acked"] as? Int == 0)
        #expect((tcp.summary["connect_failures"] as? Int ?? 0) > 0)
        let udp = try loadgen([
            "--protocol", "syslog", "--syslog-transport", "udp", "--endpoint", "127.0.0.1:\(port)", "--count", "2000",
            "--batch-size", "100", "--rate", "10k",
        ])
        #expect((udp.summary["first_error"] as? String)?.contains("refused") == true, "\(udp.summary)")
    }
}
