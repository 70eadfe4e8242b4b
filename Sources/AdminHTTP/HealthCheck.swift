// `COMPONENT healthcheck [HOST:PORT]`: the container images' health command (there is no shell or curl
// in an image built FROM scratch). GET /healthz on the component's own admin address; exit 0 on a 200,
// 1 otherwise, within 2 seconds.

#if canImport(Glibc)
import PipeperfBase
import Glibc
#endif

public enum HealthCheck {
    /// Runs the check and exits when the first argument is `healthcheck`; returns otherwise.
    public static func runIfAsked(defaultAdmin: String) {
        let args = CommandLine.arguments
        guard args.count >= 2, args[1] == "healthcheck" else { return }
        if args.count > 3 || args.dropFirst(2).contains(where: { $0.hasPrefix("-") }) {
            printError(
                "usage: \(args[0]) healthcheck [HOST:PORT]  (GET /healthz on the admin address, default \(defaultAdmin))"
            )
            exit(2)
        }
        let target = args.count == 3 ? args[2] : defaultAdmin
        switch probe(target) {
        case .none: exit(0)
        case .some(let problem):
            printError("healthcheck \(target): \(problem)")
            exit(1)
        }
    }

    /// nil when http://target/healthz answers 200; otherwise what went wrong.
    static func probe(_ target: String) -> String? {
        guard let colon = target.lastIndex(of: ":"), let port = UInt16(target[target.index(after: colon)...]) else {
            return "expected HOST:PORT"
        }
        var host = String(target[..<colon])
        if host.isEmpty || host == "0.0.0.0" { host = "127.0.0.1" }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { return "expected an IPv4 address, got \(host)" }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "socket: \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { return "connect: \(String(cString: strerror(errno)))" }
        let request = "GET /healthz HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        guard request.withCString({ send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }) > 0 else { return "send failed" }
        var buffer = [UInt8](repeating: 0, count: 64)
        var got = 0
        while got < 12 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, 64 - got, 0) }
            if n <= 0 { return "no answer" }
            got += n
        }
        let head = String(decoding: buffer[..<got], as: UTF8.self)
        return head.hasPrefix("HTTP/1.1 200") || head.hasPrefix("HTTP/1.0 200")
            ? nil : "answered \(head.split(separator: "\r\n").first ?? "")"
    }
}

private func printError(_ s: String) {
    var line = s + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
