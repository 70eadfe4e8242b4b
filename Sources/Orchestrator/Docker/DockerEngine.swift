// The Docker Engine API over its unix socket (API 1.41, Docker 20.10 and later), through the
// orchestrator's HTTP client (Runtime/HTTPClient.swift: SwiftNIO's HTTP/1.1 codec). Control path only:
// a few requests per component per phase, and one stats stream per monitored container.

import PipeperfBase
import AdminHTTP

import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One answer of the engine.
public struct DockerResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }
    public var json: JSON? { JSON.parse(bytes: body) }
    /// The engine's error message (`{"message": "..."}`), or the body.
    public var message: String { json?["message"]?.string ?? text.trimmingSpaces }
}

public final class DockerEngine: Sendable {
    /// The socket: $DOCKER_HOST when it is `unix://PATH`, else /var/run/docker.sock.
    public let socketPath: String
    static let apiPrefix = "/v1.41"

    public init(socketPath: String? = nil) throws(PipeperfError) {
        if let socketPath {
            self.socketPath = socketPath
        } else if let host = getenv("DOCKER_HOST").map({ String(cString: $0) }), !host.isEmpty {
            guard host.hasPrefix("unix://") else {
                throw PipeperfError(
                    .docker,
                    "DOCKER_HOST=\(host): pipeperf talks to the engine over a unix socket only (unix:///var/run/docker.sock)"
                )
            }
            self.socketPath = String(host.dropFirst("unix://".count))
        } else {
            self.socketPath = "/var/run/docker.sock"
        }
    }

    /// Checks that an engine answers; the error says how to start one.
    public func ping() throws(PipeperfError) {
        do {
            let r = try request("GET", "/_ping", timeoutNanos: 5_000_000_000)
            guard r.status == 200 else {
                throw PipeperfError(.docker, "the Docker engine on \(socketPath) answered /_ping with \(r.status)")
            }
        } catch {
            throw PipeperfError(
                .docker,
                "no Docker engine answers on \(socketPath) (\(error)); start one with scripts/docker-engine, or set DOCKER_HOST=unix://PATH"
            )
        }
    }

    /// Sends one request (path without the API version prefix, query included) and returns the whole answer.
    public func request(
        _ method: String, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
        timeoutNanos: UInt64 = 30_000_000_000, maxBytes: Int = 256 << 20
    ) throws(PipeperfError) -> DockerResponse {
        do {
            let r = try HTTPExchange.perform(
                .unix(path: socketPath), method: method, uri: DockerEngine.apiPrefix + path, host: "docker",
                body: body, contentType: contentType, timeoutNanos: timeoutNanos, maxBytes: maxBytes)
            return DockerResponse(status: r.status, body: r.body)
        } catch {
            throw PipeperfError(.docker, error.description)
        }
    }

    /// A request whose answer must be 2xx (or one of `accept`); the engine's message otherwise.
    @discardableResult
    public func expect(
        _ method: String, _ path: String, body: JSON? = nil, accept: [Int] = [], what: String,
        timeoutNanos: UInt64 = 30_000_000_000
    ) throws(PipeperfError) -> DockerResponse {
        let r = try request(method, path, body: body.map { Array($0.text.utf8) }, timeoutNanos: timeoutNanos)
        guard (200..<300).contains(r.status) || accept.contains(r.status) else {
            throw PipeperfError(.docker, "\(what): \(r.message)", status: r.status)
        }
        return r
    }
}

/// Percent-encoding for query values.
func queryEscape(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            out.append(Character(Unicode.Scalar(b)))
        default:
            let hex = Array("0123456789ABCDEF")
            out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
        }
    }
    return out
}

/// Splits the multiplexed log stream of a container without a TTY (8-byte frame headers: stream 1 or 2,
/// then the big-endian length) into stdout and stderr.
public func demuxDockerLogs(_ bytes: [UInt8]) -> (stdout: [UInt8], stderr: [UInt8]) {
    var out: [UInt8] = []
    var err: [UInt8] = []
    var i = 0
    while i + 8 <= bytes.count {
        let stream = bytes[i]
        let n = Int(bytes[i + 4]) << 24 | Int(bytes[i + 5]) << 16 | Int(bytes[i + 6]) << 8 | Int(bytes[i + 7])
        guard stream <= 2, bytes[i + 1] == 0, bytes[i + 2] == 0, bytes[i + 3] == 0 else { return (bytes, []) }  // not multiplexed (a TTY)
        let end = Swift.min(bytes.count, i + 8 + n)
        if stream == 2 { err += bytes[(i + 8)..<end] } else { out += bytes[(i + 8)..<end] }
        i = end
    }
    return (out, err)
}

/// A container's stats as the engine streams them (GET /containers/ID/stats?stream=true: one JSON
/// document per collection, about once a second). The engine answers a one-shot request only at its next
/// collection too, so a blocking request per reading would stall the sampler up to a second per
/// container; the stream is read on the event loop instead and the sampler takes the newest reading.
public final class DockerStatsStream: Sendable {
    struct State {
        var newest: (unixNanos: UInt64, stats: JSON)? = nil
        var taken = true
        var channel: Channel? = nil
    }
    let state = Mutex(State())

    public init(engine: DockerEngine, id: String) throws(PipeperfError) {
        let channel: Channel
        do {
            channel = try HTTPExchange.connect(.unix(path: engine.socketPath)) { [weak self] in
                LineSplitter { line in
                    guard let j = JSON.parse(bytes: line) else { return }
                    self?.state.withLock {
                        $0.newest = (SystemClock.unixNanos(), j); $0.taken = false
                    }
                }
            }
        } catch {
            throw PipeperfError(.docker, error.description)
        }
        state.withLock { $0.channel = channel }
        HTTPExchange.send(
            channel, method: "GET", uri: DockerEngine.apiPrefix + "/containers/\(id)/stats?stream=true", host: "docker",
            headers: [], body: nil, contentType: nil)
    }

    /// The newest reading when it was not taken yet (its arrival time and document).
    public func takeNew() -> (unixNanos: UInt64, stats: JSON)? {
        state.withLock { s in
            guard !s.taken, let n = s.newest else { return nil }
            s.taken = true
            return n
        }
    }

    public func close() {
        _ = try? state.withLock({ $0.channel })?.close().wait()
    }
}

/// Hands each complete line of a streamed body to `onLine`.
final class LineSplitter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    let onLine: ([UInt8]) -> Void
    var pending: [UInt8] = []

    init(onLine: @escaping ([UInt8]) -> Void) { self.onLine = onLine }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .body(var b) = unwrapInboundIn(data) else { return }
        pending += b.readBytes(length: b.readableBytes) ?? []
        while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(pending[..<nl])
            pending.removeFirst(nl + 1)
            if !line.isEmpty { onLine(line) }
        }
        if pending.count > 16 << 20 { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}
