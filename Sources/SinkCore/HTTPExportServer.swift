// The OTLP/HTTP side of the sinks on SwiftNIO's HTTP/1.1 codec (not a hand-written parser):
// POST /v1/logs, /v1/traces, /v1/metrics with a binary protobuf body (Content-Type
// application/x-protobuf), gzip accepted (Content-Encoding: gzip). Each event loop has its own
// ExportPolicy, as each gRPC thread does. Answers follow OTLP/HTTP (opentelemetry-proto
// docs/specification.md, "OTLP/HTTP Response"): 200 with an Export*ServiceResponse (partial success
// when items were rejected); errors with a google.rpc.Status body and, for throttling, Retry-After.

import PipeperfBase
import AdminHTTP
import H2Transport
import NIOCore
import NIOHTTP1
import NIOPosix
import OTLPWire
import Synchronization

/// The running OTLP/HTTP side of a sink.
public final class HTTPExportServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    /// The listening channel (nil while an injected outage refuses connections).
    let channel: ChannelBox
    /// The port actually bound.
    public let port: Int

    /// Binds `endpoint` with `threads` event loops; loop `i` gets `makePolicy(i)`.
    public init(
        endpoint: Endpoint, threads: Int, maxBodyBytes: Int, name: String, counters: SinkCounters,
        makePolicy: (Int) -> any ExportPolicy
    ) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var policies: [ObjectIdentifier: PolicyBox] = [:]
        for (i, loop) in group.makeIterator().enumerated() {
            let box = PolicyBox(makePolicy(i))
            policies[ObjectIdentifier(loop)] = box
            // Give the policy its turn between requests (publishing per-thread state when asked).
            loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { _ in
                box.policy.tick(now: SystemClock.monotonicNanos())
            }
        }
        let table = policies
        // Bound again only from the first loop's repeated task, never concurrently: safe to share.
        nonisolated(unsafe) let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let box = table[ObjectIdentifier(channel.eventLoop)]!
                return channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(
                        ExportHTTPHandler(
                            policy: box.policy, counters: counters, maxBodyBytes: maxBodyBytes, name: name))
                }
            }
        let bound: Channel
        do {
            bound = try bootstrap.bind(host: endpoint.host, port: Int(endpoint.port)).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw SinkError("cannot listen on \(endpoint): \(error)")
        }
        self.group = group
        let port = bound.localAddress?.port ?? Int(endpoint.port)
        self.port = port
        let channel = ChannelBox(bound)
        self.channel = channel
        // Injected outages that refuse connections: close the listening channel while the first loop's
        // policy says so, bind it again after (checked every 20 ms, never blocking the loop).
        var loops = group.makeIterator()
        if let first = loops.next(), let box = policies[ObjectIdentifier(first)] {
            let host = endpoint.host
            first.scheduleRepeatedTask(initialDelay: .milliseconds(20), delay: .milliseconds(20)) { _ in
                let refuse = box.policy.refusingConnections(now: SystemClock.monotonicNanos())
                let (current, binding) = channel.state.withLock { ($0.channel, $0.binding) }
                if refuse, let c = current {
                    channel.state.withLock { $0.channel = nil }
                    c.close(promise: nil)
                } else if !refuse && current == nil && !binding {
                    channel.state.withLock { $0.binding = true }
                    bootstrap.bind(host: host, port: port).whenComplete { result in
                        channel.state.withLock {
                            $0.binding = false
                            if case .success(let c) = result { $0.channel = c }
                        }
                    }
                }
            }
        }
    }

    public func stop() {
        if let c = channel.state.withLock({ $0.channel }) { try? c.close().wait() }
        try? group.syncShutdownGracefully()
    }
}

/// The listening channel, replaced across injected outages.
final class ChannelBox: Sendable {
    let state: Mutex<(channel: Channel?, binding: Bool)>
    init(_ c: Channel) { state = Mutex((c, false)) }
}

/// A policy used only on its own event loop.
final class PolicyBox: @unchecked Sendable {
    let policy: any ExportPolicy
    init(_ p: any ExportPolicy) { policy = p }
}

final class ExportHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let policy: any ExportPolicy
    let counters: SinkCounters
    let maxBodyBytes: Int
    let name: String
    var head: HTTPRequestHead?
    var body: ByteBuffer?
    var bytes = 0
    var tooLarge = false
    /// The response body, reused for every answer on this connection.
    let responseBody = WireBuffer(capacity: 256)

    init(policy: any ExportPolicy, counters: SinkCounters, maxBodyBytes: Int, name: String) {
        self.policy = policy
        self.counters = counters
        self.maxBodyBytes = maxBodyBytes
        self.name = name
    }

    func channelActive(context: ChannelHandlerContext) {
        counters.connections.wrappingAdd(1, ordering: .relaxed)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        counters.connections.wrappingAdd(-1, ordering: .relaxed)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            bytes = 0
            tooLarge = false
            if body == nil { body = context.channel.allocator.buffer(capacity: 64 * 1024) }
            body?.clear()
        case .body(var b):
            bytes += b.readableBytes
            if bytes > maxBodyBytes { tooLarge = true } else if policy.needsMessage { body?.writeBuffer(&b) }
        case .end:
            guard let head else { return }
            self.head = nil
            finish(context: context, head: head)
        }
    }

    func finish(context: ChannelHandlerContext, head: HTTPRequestHead) {
        if policy.refusingConnections(now: SystemClock.monotonicNanos()) {
            // An injected outage refusing connections: drop this one without an answer.
            context.close(promise: nil)
            return
        }
        let path =
            head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard let signal = Signal.allCases.first(where: { $0.httpPath == path }) else {
            counters.unknownPath.wrappingAdd(1, ordering: .relaxed)
            return respond(
                context, head, status: 404, grpcCode: GRPCStatusCode.unimplemented.rawValue,
                message: "no OTLP export at \(path); pipeperf \(name) serves /v1/logs, /v1/traces, /v1/metrics")
        }
        guard head.method == .POST else {
            return respond(
                context, head, status: 405, grpcCode: GRPCStatusCode.unimplemented.rawValue,
                message: "\(head.method.rawValue) is not allowed on \(path): use POST")
        }
        let c = counters.forSignal(signal)
        c.requests.wrappingAdd(1, ordering: .relaxed)
        c.bytes.wrappingAdd(bytes, ordering: .relaxed)
        if tooLarge {
            c.malformed.wrappingAdd(1, ordering: .relaxed)
            return respond(
                context, head, status: 413, grpcCode: GRPCStatusCode.resourceExhausted.rawValue,
                message: "body of \(bytes) bytes is over the limit of \(maxBodyBytes)")
        }
        let contentType = head.headers.first(name: "content-type")?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-protobuf") else {
            c.malformed.wrappingAdd(1, ordering: .relaxed)
            return respond(
                context, head, status: 415, grpcCode: GRPCStatusCode.invalidArgument.rawValue,
                message:
                    "Content-Type '\(contentType)' is not supported: send application/x-protobuf (OTLP/HTTP binary protobuf)"
            )
        }
        let encoding = head.headers.first(name: "content-encoding")?.lowercased() ?? "identity"
        guard encoding == "gzip" || encoding == "identity" else {
            c.malformed.wrappingAdd(1, ordering: .relaxed)
            return respond(
                context, head, status: 415, grpcCode: GRPCStatusCode.invalidArgument.rawValue,
                message: "Content-Encoding '\(encoding)' is not supported: use gzip or none")
        }
        let reply: ExportReply
        if policy.needsMessage, let body {
            reply = body.withUnsafeReadableBytes {
                policy.handle(
                    ExportRequestInfo(signal: signal, wireBytes: bytes, message: $0, gzip: encoding == "gzip"))
            }
        } else {
            reply = policy.handle(
                ExportRequestInfo(signal: signal, wireBytes: bytes, message: nil, gzip: encoding == "gzip"))
        }
        if reply.delayNanos > 0 {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .nanoseconds(Int64(reply.delayNanos))) {
                let (handler, context) = loopBound.value
                handler.send(context, head, reply)
            }
            return
        }
        send(context, head, reply)
    }

    func send(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ reply: ExportReply) {
        switch reply.kind {
        case .ok(let rejected):
            let out = responseBody
            out.removeAll()
            if rejected > 0 {
                encodePartialSuccess(
                    rejected: rejected, message: reply.message ?? "rejected by pipeperf \(name)", into: out)
            }
            write(context, head, status: 200, contentType: "application/x-protobuf", body: out, retryAfter: nil)
        case .error(let code, let status):
            respond(
                context, head, status: status, grpcCode: code, message: reply.message ?? "injected by pipeperf \(name)",
                retryAfter: reply.retryAfterSeconds)
        }
    }

    /// An error answer: a google.rpc.Status protobuf body (code, message), as OTLP/HTTP specifies.
    func respond(
        _ context: ChannelHandlerContext, _ head: HTTPRequestHead, status: Int, grpcCode: Int, message: String,
        retryAfter: Int? = nil
    ) {
        let out = responseBody
        out.removeAll()
        var w = ProtoWriter(appendingTo: out)
        w.varintField(1, UInt64(grpcCode))
        w.stringField(2, message)
        w.finish()
        write(context, head, status: status, contentType: "application/x-protobuf", body: out, retryAfter: retryAfter)
    }

    func write(
        _ context: ChannelHandlerContext, _ request: HTTPRequestHead, status: Int, contentType: String,
        body: WireBuffer, retryAfter: Int?
    ) {
        var buffer: ByteBuffer? = nil
        if body.count > 0 {
            var b = context.channel.allocator.buffer(capacity: body.count)
            _ = body.withUnsafeBytes { b.writeBytes($0) }
            buffer = b
        }
        writeHTTPResponse(
            context, status: status, contentType: contentType, body: buffer, keepAlive: request.isKeepAlive,
            extraHeaders: retryAfter.map { [("retry-after", String($0))] } ?? [])
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A request NIO's HTTP parser could not read: answer 400 once and close.
        if error is HTTPParserError {
            counters.unparseable.wrappingAdd(1, ordering: .relaxed)
            writeHTTPResponse(context, status: 400, contentType: nil, body: nil, keepAlive: false)
            return
        }
        context.close(promise: nil)
    }
}
