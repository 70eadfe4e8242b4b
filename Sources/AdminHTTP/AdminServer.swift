// A small HTTP/1.1 server for the components' control surface (DESIGN.md: GET /healthz, /metrics,
// /status, POST /reset, and the load generator's POST /start and /stop). SwiftNIO does the parsing;
// requests are handed to a synchronous handler that must answer quickly (it runs on the event loop).

import NIOCore
import NIOHTTP1
import NIOPosix

/// One admin request: method, path (without the query), query string and body.
public struct AdminRequest: Sendable {
    public var method: String
    public var path: String
    public var query: String
    public var body: [UInt8]
}

/// The answer to an admin request.
public struct AdminResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: String

    public init(status: Int = 200, contentType: String = "text/plain; charset=utf-8", body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func json(_ body: String, status: Int = 200) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: body)
    }

    /// A JSON error document `{"error": "..."}`.
    public static func error(_ status: Int, _ message: String) -> AdminResponse {
        .json("{\"error\":\(JSONWriter.quote(message))}\n", status: status)
    }
}

/// A running admin server.
public final class AdminServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: Channel
    /// The port actually bound (useful with port 0).
    public let port: Int
    public let host: String

    /// Binds `host:port` (port 0 picks a free one) and serves `handler` on one event-loop thread.
    public static func start(
        host: String, port: Int, maxBodyBytes: Int = 1 << 20,
        handler: @escaping @Sendable (AdminRequest) -> AdminResponse
    ) throws -> AdminServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 64)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline().flatMap {
                        channel.pipeline.addHandler(AdminHandler(maxBodyBytes: maxBodyBytes, handler: handler))
                    }
                }
                .bind(host: host, port: port).wait()
            return AdminServer(group: group, channel: channel, host: host, port: channel.localAddress?.port ?? port)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    init(group: MultiThreadedEventLoopGroup, channel: Channel, host: String, port: Int) {
        self.group = group
        self.channel = channel
        self.host = host
        self.port = port
    }

    /// Stops accepting and closes the event loop.
    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// Blocks until the server's listening channel closes.
    public func wait() { try? channel.closeFuture.wait() }
}

final class AdminHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let handler: @Sendable (AdminRequest) -> AdminResponse
    let maxBodyBytes: Int
    var head: HTTPRequestHead?
    var body: [UInt8] = []
    var tooLarge = false

    init(maxBodyBytes: Int, handler: @escaping @Sendable (AdminRequest) -> AdminResponse) {
        self.maxBodyBytes = maxBodyBytes
        self.handler = handler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.removeAll(keepingCapacity: true)
            tooLarge = false
        case .body(var b):
            if body.count + b.readableBytes > maxBodyBytes {
                tooLarge = true
            } else {
                body += b.readBytes(length: b.readableBytes) ?? []
            }
        case .end:
            guard let head else { return }
            let response: AdminResponse
            if tooLarge {
                response = .error(413, "request body over \(maxBodyBytes) bytes")
            } else {
                let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
                response = handler(
                    AdminRequest(
                        method: head.method.rawValue, path: String(parts.first ?? ""),
                        query: parts.count > 1 ? String(parts[1]) : "",
                        body: body))
            }
            write(context: context, response: response, keepAlive: head.isKeepAlive)
            self.head = nil
        }
    }

    func write(context: ChannelHandlerContext, response: AdminResponse, keepAlive: Bool) {
        var buffer = context.channel.allocator.buffer(capacity: response.body.utf8.count)
        buffer.writeString(response.body)
        writeHTTPResponse(
            context, status: response.status, contentType: response.contentType, body: buffer, keepAlive: keepAlive)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Writes one HTTP/1.1 response on a server channel (head with content-type and content-length, the
/// body when there is one, end) and closes the connection after it unless `keepAlive`. Shared by the
/// admin servers and the sinks' OTLP/HTTP server.
public func writeHTTPResponse(
    _ context: ChannelHandlerContext, status: Int, contentType: String?, body: ByteBuffer?, keepAlive: Bool,
    extraHeaders: [(String, String)] = []
) {
    var headers = HTTPHeaders()
    if let contentType { headers.add(name: "content-type", value: contentType) }
    headers.add(name: "content-length", value: String(body?.readableBytes ?? 0))
    for (k, v) in extraHeaders { headers.add(name: k, value: v) }
    if !keepAlive { headers.add(name: "connection", value: "close") }
    let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
    context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
    if let body, body.readableBytes > 0 {
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
    }
    let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
    if !keepAlive {
        let channel = context.channel
        done.whenComplete { _ in channel.close(promise: nil) }
    }
}
