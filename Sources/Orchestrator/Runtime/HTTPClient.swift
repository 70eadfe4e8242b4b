// The orchestrator's one HTTP/1.1 client, for hooks, ready checks, admin APIs, monitors, self-telemetry
// (TCP) and the Docker Engine API (its unix socket): requests encoded and answers parsed by SwiftNIO's
// client codec (NIOHTTP1, the codec AsyncHTTPClient is built on) on one event-loop thread; one request per
// connection (`Connection: close`) with a deadline, the calling thread waiting for the answer. The
// control path, not a hot path.

import NIOCore
import PipeperfBase
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

public struct HTTPResult: Sendable {
    public var status: Int
    public var body: String
}

/// Where a request goes.
enum HTTPTarget: Sendable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    var description: String {
        switch self {
        case .tcp(let host, let port): return "\(host):\(port)"
        case .unix(let path): return path
        }
    }
}

enum HTTPExchange {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// A connected channel with the HTTP client codec and `handler` after it.
    static func connect(
        _ target: HTTPTarget, timeoutNanos: UInt64 = 5_000_000_000,
        handler: @escaping @Sendable () -> ChannelHandler
    ) throws(PipeperfError) -> Channel {
        let bootstrap = ClientBootstrap(group: group.next())
            .connectTimeout(.nanoseconds(Int64(min(timeoutNanos, 5_000_000_000))))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler())
                }
            }
        do {
            switch target {
            case .tcp(let host, let port): return try bootstrap.connect(host: host, port: port).wait()
            case .unix(let path): return try bootstrap.connect(unixDomainSocketPath: path).wait()
            }
        } catch {
            throw PipeperfError(.process, "connect to \(target): \(error)")
        }
    }

    /// Sends the request head (and body) on `channel`.
    static func send(
        _ channel: Channel, method: String, uri: String, host: String, headers: [(String, String)], body: [UInt8]?,
        contentType: String?
    ) {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: uri)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "User-Agent", value: "pipeperf")
        head.headers.add(name: "Connection", value: "close")
        for (k, v) in headers { head.headers.add(name: k, value: v) }
        if body != nil || method == "POST" || method == "PUT" {
            head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
            if let contentType, body != nil { head.headers.add(name: "Content-Type", value: contentType) }
        }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body, !body.isEmpty {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    /// One request and its whole answer (status, body), within `timeoutNanos`.
    static func perform(
        _ target: HTTPTarget, method: String, uri: String, host: String, headers: [(String, String)] = [],
        body: [UInt8]? = nil, contentType: String? = nil, timeoutNanos: UInt64,
        maxBytes: Int = 64 << 20
    ) throws(PipeperfError) -> (status: Int, body: [UInt8]) {
        let promise = group.next().makePromise(of: (Int, [UInt8]).self)
        let channel: Channel
        do {
            channel = try connect(target, timeoutNanos: timeoutNanos) {
                ResponseCollector(promise: promise, maxBytes: maxBytes)
            }
        } catch {
            promise.fail(error)  // never handed to a handler
            throw error
        }
        let timeout = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeoutNanos))) {
            channel.pipeline.fireErrorCaught(PipeperfError(.process, "no answer within \(formatSeconds(timeoutNanos))"))
        }
        defer { timeout.cancel() }
        send(channel, method: method, uri: uri, host: host, headers: headers, body: body, contentType: contentType)
        do {
            let (status, bytes) = try promise.futureResult.wait()
            return (status, bytes)
        } catch let e as PipeperfError {
            throw PipeperfError(.process, "\(method) \(target)\(uri): \(e.description)")
        } catch {
            throw PipeperfError(.process, "\(method) \(target)\(uri): \(error)")
        }
    }

    /// CPU time of the event-loop thread so far (the monitors' HTTP work runs there, not on the sampler's thread).
    static func loopCPUNanos() -> UInt64 {
        (try? group.next().submit { () -> UInt64 in
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        }.wait()) ?? 0
    }

    static func formatSeconds(_ nanos: UInt64) -> String {
        nanos % 1_000_000_000 == 0 ? "\(nanos / 1_000_000_000) s" : "\(nanos / 1_000_000) ms"
    }
}

public enum HTTPClient {
    /// Sends one request to an http:// URL; throws on connection problems or when `timeoutNanos` passes.
    public static func request(
        _ method: String, _ url: HTTPURL, body: String? = nil, bodyBytes: [UInt8]? = nil,
        headers: [(String, String)] = [],
        contentType: String? = nil, timeoutNanos: UInt64 = 10_000_000_000
    ) throws(PipeperfError) -> HTTPResult {
        let payload = bodyBytes ?? body.map { Array($0.utf8) }
        let r = try HTTPExchange.perform(
            .tcp(host: url.host, port: url.port), method: method, uri: url.path, host: "\(url.host):\(url.port)",
            headers: headers, body: payload, contentType: contentType, timeoutNanos: timeoutNanos)
        return HTTPResult(status: r.status, body: String(decoding: r.body, as: UTF8.self))
    }
}

/// Collects one HTTP answer and completes the promise once (answer, error, timeout or close).
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<(Int, [UInt8])>
    let maxBytes: Int
    var status = 0
    var body: [UInt8] = []
    var done = false

    init(promise: EventLoopPromise<(Int, [UInt8])>, maxBytes: Int) {
        self.promise = promise
        self.maxBytes = maxBytes
    }

    func finish(_ context: ChannelHandlerContext, _ result: Result<(Int, [UInt8]), Error>) {
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
                finish(context, .failure(PipeperfError(.process, "answer larger than \(maxBytes >> 20) MiB")))
                return
            }
            body += b.readBytes(length: b.readableBytes) ?? []
        case .end: finish(context, .success((status, body)))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { finish(context, .failure(error)) }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(PipeperfError(.process, "the connection closed before the answer ended")))
    }
}

/// A parsed http:// URL.
public struct HTTPURL: Sendable {
    public var host: String
    public var port: Int
    public var path: String

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    public init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard case .success(let e) = Endpoint.parse(authority.contains(":") ? authority : authority + ":80") else {
            return nil
        }
        host = e.host
        port = Int(e.port)
    }
}
