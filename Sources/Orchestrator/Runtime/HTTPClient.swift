// A small blocking HTTP/1.1 client for hooks and admin APIs (one request per connection,
// `Connection: close`), with a deadline. The orchestrator's control path, not a hot path.

import H2Transport

#if canImport(Glibc)
import Glibc
#endif

public struct HTTPResult: Sendable {
    public var status: Int
    public var body: String
}

public enum HTTPClient {
    /// Sends one request; throws on connection problems or when `timeoutNanos` passes.
    public static func request(_ method: String, _ url: HTTPURL, body: String? = nil, bodyBytes: [UInt8]? = nil, headers: [(String, String)] = [],
                               contentType: String? = nil, timeoutNanos: UInt64 = 10_000_000_000) throws(ProcessError) -> HTTPResult {
        guard case .success(let address) = SocketAddress.resolve(Endpoint(host: url.host, port: UInt16(url.port))) else {
            throw ProcessError(description: "cannot resolve \(url.host)")
        }
        let deadline = SystemClock.monotonicNanos() + timeoutNanos
        let fd: Int32
        do { fd = try TCPSocket.connect(address) } catch { throw ProcessError(description: "connect to \(url.host):\(url.port): \(error)") }
        defer { close(fd) }
        guard waitFor(fd, Int16(POLLOUT), deadline), TCPSocket.connectResult(fd) == 0 else {
            let code = TCPSocket.connectResult(fd)
            throw ProcessError(description: "connect to \(url.host):\(url.port): \(code != 0 ? String(cString: strerror(code)) : "timed out")")
        }
        var head = "\(method) \(url.path) HTTP/1.1\r\nHost: \(url.host):\(url.port)\r\nConnection: close\r\nUser-Agent: pipeperf\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        let payload = bodyBytes ?? Array((body ?? "").utf8)
        if body != nil || bodyBytes != nil || method == "POST" || method == "PUT" {
            head += "Content-Length: \(payload.count)\r\n"
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
        }
        let request = Array((head + "\r\n").utf8) + payload
        var sent = 0
        while sent < request.count {
            guard waitFor(fd, Int16(POLLOUT), deadline) else { throw ProcessError(description: "timed out sending to \(url.host):\(url.port)") }
            let n: Int
            do { n = try request.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(SystemError) -> Int in try TCPSocket.write(fd, UnsafeRawBufferPointer(rebasing: b[sent...])) } } catch {
                throw ProcessError(description: "sending to \(url.host):\(url.port): \(error)")
            }
            sent += n
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            guard waitFor(fd, Int16(POLLIN), deadline) else { throw ProcessError(description: "timed out waiting for \(url.host):\(url.port)") }
            let n: Int
            do { n = try buffer.withUnsafeMutableBytes { (b: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int in try TCPSocket.read(fd, b) } } catch {
                throw ProcessError(description: "reading from \(url.host):\(url.port): \(error)")
            }
            if n == 0 { break }
            if n > 0 { response += buffer[..<n] }
            if response.count > 64 << 20 { throw ProcessError(description: "response from \(url.host):\(url.port) over 64 MiB") }
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), text.count >= 12, let status = Int(text.dropFirst(9).prefix(3)) else {
            throw ProcessError(description: "not an HTTP response from \(url.host):\(url.port)")
        }
        var bodyText = ""
        if let r = text.range(of: "\r\n\r\n") { bodyText = String(text[r.upperBound...]) }
        if text[..<(text.range(of: "\r\n\r\n")?.lowerBound ?? text.endIndex)].lowercased().contains("transfer-encoding: chunked") {
            bodyText = dechunk(bodyText)
        }
        return HTTPResult(status: status, body: bodyText)
    }

    static func waitFor(_ fd: Int32, _ events: Int16, _ deadline: UInt64) -> Bool {
        while true {
            let now = SystemClock.monotonicNanos()
            if now >= deadline { return false }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(Swift.min(1000, (deadline - now) / 1_000_000 + 1)))
            if r > 0 { return true }
            if r < 0 && errno != EINTR { return true }
        }
    }

    static func dechunk(_ s: String) -> String {
        var out = ""
        var rest = Substring(s)
        while let nl = rest.range(of: "\r\n") {
            guard let size = Int(rest[..<nl.lowerBound].split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = nl.upperBound
            let end = rest.index(start, offsetBy: size, limitedBy: rest.endIndex) ?? rest.endIndex
            out += rest[start..<end]
            rest = rest[end...].dropFirst(2)
        }
        return out
    }
}
