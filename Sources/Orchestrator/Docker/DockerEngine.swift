// The Docker Engine API over its unix socket (API 1.41, Docker 20.10 and later): HTTP/1.1 requests
// encoded and answers parsed by SwiftNIO's HTTP/1.1 client codec (NIOHTTP1, the same codec
// AsyncHTTPClient is built on) on one NIO event loop; the orchestrator's thread waits for each answer
// with a deadline. Control path only: a few requests per component per phase, one per monitor reading.

import AdminHTTP
import H2Transport
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A failure talking to the engine, or an error it answered with (its `message`).
public struct DockerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// The HTTP status the engine answered with (0: no answer).
    public var status = 0

    public init(_ description: String, status: Int = 0) {
        self.description = description
        self.status = status
    }
}

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
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    public init(socketPath: String? = nil) throws(DockerError) {
        if let socketPath {
            self.socketPath = socketPath
        } else if let host = getenv("DOCKER_HOST").map({ String(cString: $0) }), !host.isEmpty {
            guard host.hasPrefix("unix://") else {
                throw DockerError("DOCKER_HOST=\(host): pipeperf talks to the engine over a unix socket only (unix:///var/run/docker.sock)")
            }
            self.socketPath = String(host.dropFirst("unix://".count))
        } else {
            self.socketPath = "/var/run/docker.sock"
        }
    }

    /// Checks that an engine answers; the error says how to start one.
    public func ping() throws(DockerError) {
        do {
            let r = try request("GET", "/_ping", timeoutNanos: 5_000_000_000)
            guard r.status == 200 else { throw DockerError("the Docker engine on \(socketPath) answered /_ping with \(r.status)") }
        } catch {
            throw DockerError("no Docker engine answers on \(socketPath) (\(error)); start one with scripts/docker-engine, or set DOCKER_HOST=unix://PATH")
        }
    }

    /// Sends one request (path without the API version prefix, query included) and returns the whole answer.
    public func request(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
                        timeoutNanos: UInt64 = 30_000_000_000, maxBytes: Int = 256 << 20) throws(DockerError) -> DockerResponse {
        let loop = DockerEngine.group.next()
        let promise = loop.makePromise(of: DockerResponse.self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise, maxBytes: maxBytes))
                }
            }
        let channel: Channel
        do {
            channel = try bootstrap.connect(unixDomainSocketPath: socketPath).wait()
        } catch {
            promise.fail(error)
            throw DockerError("cannot connect to the Docker engine at \(socketPath): \(error)")
        }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: DockerEngine.apiPrefix + path)
        head.headers.add(name: "Host", value: "docker")
        head.headers.add(name: "User-Agent", value: "pipeperf")
        head.headers.add(name: "Connection", value: "close")
        if let body {
            head.headers.add(name: "Content-Type", value: contentType)
            head.headers.add(name: "Content-Length", value: String(body.count))
        } else if method == "POST" {
            head.headers.add(name: "Content-Length", value: "0")
        }
        let timeout = loop.scheduleTask(in: .nanoseconds(Int64(timeoutNanos))) {
            channel.pipeline.fireErrorCaught(DockerError("no answer within \(timeoutNanos / 1_000_000_000) s"))
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer { timeout.cancel() }
        do {
            return try promise.futureResult.wait()
        } catch let e as DockerError {
            throw DockerError("\(method) \(path): \(e.description)")
        } catch {
            throw DockerError("\(method) \(path): \(error)")
        }
    }

    /// A request whose answer must be 2xx (or one of `accept`); the engine's message otherwise.
    @discardableResult
    public func expect(_ method: String, _ path: String, body: JSON? = nil, accept: [Int] = [], what: String,
                       timeoutNanos: UInt64 = 30_000_000_000) throws(DockerError) -> DockerResponse {
        let r = try request(method, path, body: body.map { Array($0.text.utf8) }, timeoutNanos: timeoutNanos)
        guard (200..<300).contains(r.status) || accept.contains(r.status) else {
            throw DockerError("\(what): \(r.message)", status: r.status)
        }
        return r
    }
}

/// Collects one HTTP answer and completes the promise once (answer, error, timeout or close).
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<DockerResponse>
    let maxBytes: Int
    var status = 0
    var body: [UInt8] = []
    var done = false

    init(promise: EventLoopPromise<DockerResponse>, maxBytes: Int) {
        self.promise = promise
        self.maxBytes = maxBytes
    }

    func finish(_ context: ChannelHandlerContext, _ result: Result<DockerResponse, Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): status = Int(h.status.code)
        case .body(var b):
            if body.count + b.readableBytes > maxBytes {
                finish(context, .failure(DockerError("answer larger than \(maxBytes >> 20) MiB")))
                return
            }
            body += b.readBytes(length: b.readableBytes) ?? []
        case .end: finish(context, .success(DockerResponse(status: status, body: body)))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { finish(context, .failure(error)) }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(DockerError("the engine closed the connection before its answer ended")))
    }
}

/// Percent-encoding for query values.
func queryEscape(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
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
        var closed = false
    }
    final class Box: Sendable {
        let m = Mutex(State())
        func withLockedValue<R>(_ body: (inout State) -> R) -> R { m.withLock { body(&$0) } }
    }
    let state = Box()

    public init(engine: DockerEngine, id: String) throws(DockerError) {
        let loop = DockerEngine.group.next()
        let box = state
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(LineSplitter { line in
                        guard let j = JSON.parse(bytes: line) else { return }
                        box.withLockedValue { $0.newest = (SystemClock.unixNanos(), j); $0.taken = false }
                    } onClose: {
                        box.withLockedValue { $0.closed = true }
                    })
                }
            }
        let channel: Channel
        do { channel = try bootstrap.connect(unixDomainSocketPath: engine.socketPath).wait() } catch {
            throw DockerError("cannot connect to the Docker engine at \(engine.socketPath): \(error)")
        }
        state.withLockedValue { $0.channel = channel }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: DockerEngine.apiPrefix + "/containers/\(id)/stats?stream=true")
        head.headers.add(name: "Host", value: "docker")
        head.headers.add(name: "User-Agent", value: "pipeperf")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    /// The newest reading when it was not taken yet (its arrival time and document).
    public func takeNew() -> (unixNanos: UInt64, stats: JSON)? {
        state.withLockedValue { s in
            guard !s.taken, let n = s.newest else { return nil }
            s.taken = true
            return n
        }
    }

    public func close() {
        let channel = state.withLockedValue { s -> Channel? in
            s.closed = true
            return s.channel
        }
        _ = try? channel?.close().wait()
    }
}

/// Hands each complete line of a streamed body to `onLine`.
final class LineSplitter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    let onLine: ([UInt8]) -> Void
    let onClose: () -> Void
    var pending: [UInt8] = []

    init(onLine: @escaping ([UInt8]) -> Void, onClose: @escaping () -> Void) {
        self.onLine = onLine
        self.onClose = onClose
    }

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

    func channelInactive(context: ChannelHandlerContext) { onClose() }
}
