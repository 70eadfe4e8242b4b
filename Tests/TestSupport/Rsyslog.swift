import Foundation

/// rsyslogd (Debian's rsyslog) as the independent syslog receiver: it parses each message with its own
/// RFC 5424 / RFC 3164 parsers and writes the fields it found, one line per message.
public final class Rsyslog {
    public let dir: URL
    let process = Process()
    public let tcpPort: Int
    public let udpPort: Int
    public var output: URL { dir.appendingPathComponent("out.log") }

    public static func freePort(_ type: Int32) throws -> Int {
        let (fd, port) = boundSocket(type)
        close(fd)
        return port
    }

    /// A socket bound to a free port on 127.0.0.1 (the caller closes it; `listen` it to hold the port).
    public static func boundSocket(_ type: Int32) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, type, 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// rsyslogd writing each message's fields to `output`, one line per message:
    /// `hostname|app-name|msgid|structured-data|msg`.
    public static func toFile() throws -> Rsyslog {
        try Rsyslog { out in
            """
            template(name="t" type="string" string="%hostname%|%app-name%|%msgid%|%structured-data%|%msg%\\n")
            ruleset(name="r") { action(type="omfile" file="\(out.path)" template="t") }
            """
        }
    }

    /// rsyslogd with TCP and UDP inputs on free ports feeding ruleset "r", which `rules(output)` defines.
    public init(rules: (URL) -> String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeperf-rsyslog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        tcpPort = try Rsyslog.freePort(Int32(SOCK_STREAM.rawValue))
        udpPort = try Rsyslog.freePort(Int32(SOCK_DGRAM.rawValue))
        let conf = """
            global(workDirectory="\(dir.path)")
            module(load="imtcp")
            module(load="imudp")
            input(type="imtcp" port="\(tcpPort)" address="127.0.0.1" ruleset="r")
            input(type="imudp" port="\(udpPort)" address="127.0.0.1" ruleset="r" rcvbufSize="8m")
            \(rules(output))
            """
        try conf.write(to: dir.appendingPathComponent("rsyslog.conf"), atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/rsyslogd")
        process.arguments = [
            "-n", "-f", dir.appendingPathComponent("rsyslog.conf").path, "-i", dir.appendingPathComponent("pid").path,
        ]
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
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(fd)
            if rc == 0 { return }
            usleep(50_000)
        }
        process.terminate()
        throw CocoaError(.fileReadUnknown)
    }

    /// Waits until `expected` lines arrived (or nothing new came for 3 s), stops rsyslogd, returns the lines.
    public func lines(expecting expected: Int) throws -> [Substring] {
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

    /// Stops rsyslogd.
    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }
}
