import Foundation
import LoadGen
import OTLPWire
import TestSupport
import Testing

@Suite("loadgen --protocol http against Python's own HTTP/1.1 server (opentelemetry-proto decoding)", .serialized)
struct HTTPProtocolTests {
    @Test("the receiver counts exactly what loadgen acks, pipelined, plain and gzip", arguments: Signal.allCases)
    func exactCounts(signal: Signal) throws {
        for compression in ["none", "gzip"] {
            let receiver = try PythonReceiver(["--http-port", "0"])
            let port = try #require(receiver.httpPort)
            let r = try loadgen(["--protocol", "http", "--endpoint", "127.0.0.1:\(port)", "--signal", signal.rawValue,
                                 "--rate", "4000", "--duration", "1s", "--batch-size", "200", "--connections", "2",
                                 "--max-in-flight", "4", "--compression", compression])
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
        let r = try loadgen(["--protocol", "http", "--endpoint", "127.0.0.1:\(try #require(failing.httpPort))", "--count", "1000",
                             "--batch-size", "100", "--rate", "5k"])
        _ = try failing.stop()
        #expect(r.summary["acked"] as? Int == 0)
        #expect((r.summary["failed_by_status"] as? [String: Int]) == ["HTTP_503": 1000])

        let partial = try PythonReceiver(["--http-port", "0", "--reject", "7"])
        let p = try loadgen(["--protocol", "http", "--endpoint", "127.0.0.1:\(try #require(partial.httpPort))", "--count", "1000",
                             "--batch-size", "100", "--rate", "5k", "--signal", "metrics"])
        let counts = try partial.stop()
        #expect(p.summary["rejected"] as? Int == 70)
        #expect(p.summary["acked"] as? Int == 930)
        #expect(counts["metrics"]?["items"] == 1000)
    }

    @Test("a wrong path is an HTTP 404 per batch, named in the summary")
    func wrongPath() throws {
        let receiver = try PythonReceiver(["--http-port", "0"])
        let r = try loadgen(["--protocol", "http", "--endpoint", "127.0.0.1:\(try #require(receiver.httpPort))", "--count", "300",
                             "--batch-size", "100", "--rate", "5k", "--http-path", "/v1/nothing"])
        _ = try receiver.stop()
        #expect((r.summary["failed_by_status"] as? [String: Int]) == ["HTTP_404": 300])
    }

    @Test("OTLP/HTTP over TLS (ALPN http/1.1) against a self-signed certificate")
    func tls() throws {
        let (cert, key) = try LoadRunTests().selfSignedCertificate()
        let receiver = try PythonReceiver(["--http-port", "0", "--tls-cert", cert, "--tls-key", key])
        let port = try #require(receiver.httpPort)
        let ok = try loadgen(["--protocol", "http", "--endpoint", "localhost:\(port)", "--count", "500", "--batch-size", "100",
                              "--rate", "5k", "--tls", "--ca-file", cert])
        let refused = try loadgen(["--protocol", "http", "--endpoint", "localhost:\(port)", "--count", "100", "--batch-size", "100",
                                   "--rate", "5k", "--tls", "--drain", "1s"])
        let counts = try receiver.stop()
        #expect(ok.summary["acked"] as? Int == 500, "\(ok.err)")
        #expect(counts["logs"]?["items"] == 500)
        #expect(refused.summary["acked"] as? Int == 0)
        #expect((refused.summary["first_error"] as? String)?.contains("certificate") == true, "\(refused.summary)")
    }
}

/// rsyslogd (Debian's rsyslog) as the independent syslog receiver: it parses each message with its own
/// RFC 5424 / RFC 3164 parsers and writes the fields it found, one line per message.
final class Rsyslog {
    let dir: URL
    let process = Process()
    let tcpPort: Int
    let udpPort: Int
    var output: URL { dir.appendingPathComponent("out.log") }

    static func freePort(_ type: Int32) throws -> Int {
        let fd = socket(AF_INET, type, 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeperf-rsyslog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        tcpPort = try Rsyslog.freePort(Int32(SOCK_STREAM.rawValue))
        udpPort = try Rsyslog.freePort(Int32(SOCK_DGRAM.rawValue))
        let conf = """
            global(workDirectory="\(dir.path)")
            module(load="imtcp")
            module(load="imudp")
            input(type="imtcp" port="\(tcpPort)" address="127.0.0.1" ruleset="r")
            input(type="imudp" port="\(udpPort)" address="127.0.0.1" ruleset="r")
            template(name="t" type="string" string="%hostname%|%app-name%|%msgid%|%structured-data%|%msg%\\n")
            ruleset(name="r") { action(type="omfile" file="\(output.path)" template="t") }
            """
        try conf.write(to: dir.appendingPathComponent("rsyslog.conf"), atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/rsyslogd")
        process.arguments = ["-n", "-f", dir.appendingPathComponent("rsyslog.conf").path, "-i", dir.appendingPathComponent("pid").path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready when the TCP input accepts connections.
        for _ in 0..<200 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(tcpPort).bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            close(fd)
            if rc == 0 { return }
            usleep(50_000)
        }
        process.terminate()
        throw LoadError(message: "rsyslogd did not start")
    }

    /// Waits until `expected` lines arrived (or nothing new came for 3 s), stops rsyslogd, returns the lines.
    func lines(expecting expected: Int) throws -> [Substring] {
        var last = -1
        var stable = 0
        var lines: [Substring] = []
        while stable < 30 {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            lines = text.split(separator: "\n")
            if lines.count >= expected { break }
            stable = lines.count == last ? stable + 1 : 0
            last = lines.count
            usleep(100_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
        return lines
    }
}

@Suite("loadgen --protocol syslog against rsyslogd", .serialized)
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
        Variant(args: ["--syslog-format", "rfc3164", "--syslog-framing", "octet-counting"], udp: false, rfc5424: false),
        Variant(args: ["--syslog-transport", "udp"], udp: true, rfc5424: true),
        Variant(args: ["--syslog-transport", "udp", "--syslog-format", "rfc3164"], udp: true, rfc5424: false),
    ]

    @Test("rsyslogd parses every message: fields, tracking and exact counts", arguments: variants)
    func rsyslogParses(variant: Variant) throws {
        let rsyslog = try Rsyslog()
        let port = variant.udp ? rsyslog.udpPort : rsyslog.tcpPort
        let r = try loadgen(["--protocol", "syslog", "--endpoint", "127.0.0.1:\(port)", "--count", "2000", "--batch-size", "100",
                             "--rate", "10k", "--body-size", "24", "--run-id", "00000000000000ab", "--syslog-hostname", "gen-1",
                             "--syslog-app-name", "pp"] + variant.args)
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
            if let range = tracking.range(of: "seq="), let n = Int(tracking[range.upperBound...].drop(while: { $0 == "\"" }).prefix(20)) {
                seqs.insert(n)
            }
        }
        #expect(seqs == Set(0..<2000))
    }

    @Test("nobody listening: TCP counts connect failures; UDP reports refused datagrams once")
    func nobodyListening() throws {
        let port = try Rsyslog.freePort(Int32(SOCK_STREAM.rawValue))
        let tcp = try loadgen(["--protocol", "syslog", "--endpoint", "127.0.0.1:\(port)", "--count", "100", "--batch-size", "100",
                               "--rate", "1k", "--drain", "500ms"])
        #expect(tcp.summary["acked"] as? Int == 0)
        #expect((tcp.summary["connect_failures"] as? Int ?? 0) > 0)
        let udp = try loadgen(["--protocol", "syslog", "--syslog-transport", "udp", "--endpoint", "127.0.0.1:\(port)", "--count", "2000",
                               "--batch-size", "100", "--rate", "10k"])
        #expect((udp.summary["first_error"] as? String)?.contains("refused") == true, "\(udp.summary)")
    }
}
