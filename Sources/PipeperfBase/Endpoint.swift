// TCP/UDP endpoints as users write them (HOST:PORT), parsed without Foundation.

/// A host and port, as users write them: `127.0.0.1:4317`, `localhost:4317`, `[::1]:4317`.
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; an optional `http://` or `https://` prefix and a trailing `/` are accepted.
    /// Returns a message naming the problem otherwise.
    public static func parse(_ text: String) -> Result<Endpoint, EndpointError> {
        var s = Substring(text)
        for prefix in ["http://", "https://"] where s.hasPrefix(prefix) { s = s.dropFirst(prefix.count) }
        while s.hasSuffix("/") { s = s.dropLast() }
        let hostPart: Substring
        let portPart: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else {
                return .failure(EndpointError(text: text, reason: "missing ']' after an IPv6 address"))
            }
            hostPart = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure(EndpointError(text: text, reason: "missing ':PORT'")) }
            portPart = rest.dropFirst()
        } else {
            guard let colon = s.lastIndex(of: ":") else {
                return .failure(EndpointError(text: text, reason: "missing ':PORT'"))
            }
            hostPart = s[..<colon]
            portPart = s[s.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { return .failure(EndpointError(text: text, reason: "missing host")) }
        guard let port = UInt16(portPart) else {
            return .failure(EndpointError(text: text, reason: "port '\(portPart)' is not a number from 0 to 65535"))
        }
        return .success(Endpoint(host: String(hostPart), port: port))
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// An endpoint that could not be parsed or resolved.
public struct EndpointError: Error, CustomStringConvertible, Sendable {
    public let text: String
    public let reason: String
    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }
    public var description: String { "invalid endpoint '\(text)': \(reason) (expected HOST:PORT, e.g. 127.0.0.1:4317)" }
}
