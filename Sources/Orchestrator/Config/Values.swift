// Value parsers shared by the strategies' readers: CPU lists, byte sizes, IP addresses, published ports.

import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

enum Values {
    /// Whether `s` is an IPv4 or IPv6 address.
    static func isIPAddress(_ s: String) -> Bool {
        var buf = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, s, &buf) == 1 || inet_pton(AF_INET6, s, &buf) == 1
    }

    /// `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]` (Compose's short form; an empty HOST_PORT is any free port).
    static func portMapping(_ text: String) -> Result<PortMapping, PipeperfError> {
        func bad(_ why: String) -> Result<PortMapping, PipeperfError> {
            .failure(
                PipeperfError(
                    .process,
                    "\(why) in port '\(text)' (expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp], e.g. 127.0.0.1:8080:80)"
                ))
        }
        var body = Substring(text)
        var proto = "tcp"
        if let slash = body.lastIndex(of: "/") {
            proto = String(body[body.index(after: slash)...])
            body = body[..<slash]
            guard proto == "tcp" || proto == "udp" else { return bad("protocol '\(proto)' is not tcp or udp") }
        }
        var parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count) else { return bad("too many ':'") }
        func port(_ s: String, allowZero: Bool) -> Int? {
            Int(s).flatMap { (allowZero ? 0 : 1)...65535 ~= $0 ? $0 : nil }
        }
        guard let container = port(parts.removeLast(), allowZero: false) else {
            return bad("the container port is not a number from 1 to 65535")
        }
        var m = PortMapping(containerPort: container, proto: proto)
        m.hostPort = container
        if let hp = parts.popLast() {
            if hp.isEmpty {
                m.hostPort = 0
            } else {
                guard let h = port(hp, allowZero: true) else {
                    return bad("the host port '\(hp)' is not a number from 0 to 65535")
                }
                m.hostPort = h
            }
        }
        if let ip = parts.popLast() {
            guard isIPAddress(ip) else { return bad("'\(ip)' is not an IP address") }
            m.hostIP = ip
        }
        return .success(m)
    }

    /// 256m, 1g, 512k, 1048576 (bytes) → bytes.
    static func byteSize(_ text: String) -> Int64? {
        let t = text.trimmingSpaces.lowercased()
        let units: [(String, Int64)] = [
            ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30),
            ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1),
        ]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v > 0 else { return nil }
            return Int64(v * Double(factor))
        }
        return Int64(t).flatMap { $0 > 0 ? $0 : nil }
    }

    static func cpuList(_ text: String) -> [Int]? {
        var out: [Int] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int(String($0).trimmingSpaces) }
            if bounds.count == 1, let a = bounds[0], a >= 0 {
                out.append(a)
            } else if bounds.count == 2, let a = bounds[0], let b = bounds[1], a >= 0, a <= b, b < 4096 {
                out += Array(a...b)
            } else {
                return nil
            }
        }
        return out.isEmpty ? nil : out
    }
}
