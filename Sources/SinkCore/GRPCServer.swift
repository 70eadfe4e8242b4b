// The gRPC side of the sinks: per-thread epoll loops, each with its own SO_REUSEPORT listener,
// accepting HTTP/2 (h2c) connections and handing every OTLP export to the thread's ExportPolicy.
// The transport checks gRPC framing and sizes itself; the message bytes are collected only when the
// policy asks for them (the null sink does not). Replies can be held for a while (injected latency)
// on a per-thread timer heap.

import PipeperfBase
import H2Transport
import OTLPWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Settings of the gRPC listener.
public struct GRPCServerOptions: Sendable {
    public var endpoint: Endpoint
    public var threads: Int
    /// Largest gRPC message accepted; larger ones get RESOURCE_EXHAUSTED (gRPC's default is 4 MiB).
    public var maxMessageBytes: Int
    /// The program's name, for messages.
    public var name: String
    /// TLS (with ALPN h2) instead of cleartext h2c.
    public var tls: TLSServerContext?
    public init(endpoint: Endpoint, threads: Int = 1, maxMessageBytes: Int = 4 * 1024 * 1024, name: String, tls: TLSServerContext? = nil) {
        self.endpoint = endpoint
        self.threads = threads
        self.maxMessageBytes = maxMessageBytes
        self.name = name
        self.tls = tls
    }
}

/// The running gRPC side of a sink.
public final class GRPCServer: Sendable {
    public let port: UInt16
    let group = ThreadGroup()

    /// Binds the listeners (one per thread, same port) and starts the threads; thread `i` gets the
    /// policy `makePolicy(i)`, created on that thread.
    public init(_ options: GRPCServerOptions, counters: SinkCounters,
                makePolicy: @escaping @Sendable (Int) -> any ExportPolicy) throws {
        let fds = try Listeners.bind(options.endpoint, count: options.threads)
        port = TCPListener.boundPort(fds[0])
        guard case .success(let bound) = SocketAddress.resolve(Endpoint(host: options.endpoint.host, port: TCPListener.boundPort(fds[0]))) else {
            for fd in fds { close(fd) }
            throw SinkError("cannot resolve \(options.endpoint)")
        }
        try group.start(fds.count) { i, stopping in
            do {
                let w = try GRPCWorker(listener: fds[i], address: bound, options: options, counters: counters, policy: makePolicy(i))
                w.run(until: stopping)
            } catch {
                close(fds[i])
                printError("\(options.name): worker failed: \(error)")
            }
        }
    }

    /// Stops the threads and closes every connection.
    public func stop() { group.stop() }
}

/// Listening sockets for several threads on one port.
public enum Listeners {
    /// `count` listeners on `endpoint` (SO_REUSEPORT when more than one); with port 0 the first picks
    /// the port and the others bind the same one.
    public static func bind(_ endpoint: Endpoint, count: Int) throws -> [Int32] {
        guard case .success(var address) = SocketAddress.resolve(endpoint) else { throw SinkError("cannot resolve \(endpoint)") }
        var fds: [Int32] = []
        var bound: UInt16 = endpoint.port
        for _ in 0..<count {
            if bound != endpoint.port, case .success(let a) = SocketAddress.resolve(Endpoint(host: endpoint.host, port: bound)) {
                address = a
            }
            do {
                let fd = try TCPListener.listen(address, reusePort: count > 1)
                fds.append(fd)
                bound = TCPListener.boundPort(fd)
            } catch {
                for fd in fds { close(fd) }
                throw SinkError("cannot listen on \(endpoint): \(error)")
            }
        }
        return fds
    }
}

/// A reply waiting for its injected delay.
struct DelayedReply {
    var due: UInt64
    var connection: GRPCServerConnection
    var stream: Int32
    var reply: ExportReply
}

final class GRPCWorker: EventHandler {
    let loop: EventLoop
    /// The listening socket (-1 while an injected outage refuses connections).
    var listener: Int32
    /// Where to listen again after such an outage.
    let address: SocketAddress
    var token = -1
    let options: GRPCServerOptions
    let counters: SinkCounters
    let policy: any ExportPolicy
    lazy var connections = ConnectionTable<GRPCServerConnection> { [counters] in counters.connections.wrappingAdd($0, ordering: .relaxed) }
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
    // Response pieces shared by every stream (built once).
    let okHeaders = H2HeaderBlock([(":status", "200"), ("content-type", "application/grpc")])
    let okTrailers = H2HeaderBlock([("grpc-status", "0")])
    /// An empty ExportXServiceResponse, gRPC-framed: flag 0, length 0.
    let emptyResponse: UnsafeMutableRawPointer
    /// Error trailers built once per distinct answer (no string building per refused request).
    struct ErrorKey: Hashable {
        var code: Int
        var retryAfterSeconds: Int?
        var message: String
    }
    var errorBlocks: [ErrorKey: H2HeaderBlock] = [:]
    /// Replies held back (injected latency), ordered by due time (a binary min-heap).
    var delayed: [DelayedReply] = []
    /// Connections whose reading is paused (injected slow reading), with the time to resume.
    var paused: [(due: UInt64, connection: GRPCServerConnection)] = []

    init(listener: Int32, address: SocketAddress, options: GRPCServerOptions, counters: SinkCounters, policy: any ExportPolicy) throws {
        loop = try EventLoop()
        self.listener = listener
        self.address = address
        self.options = options
        self.counters = counters
        self.policy = policy
        emptyResponse = .allocate(byteCount: 5, alignment: 8)
        emptyResponse.initializeMemory(as: UInt8.self, repeating: 0, count: 5)
        token = try loop.add(listener, .read, self)
    }

    deinit {
        readBuffer.deallocate()
        emptyResponse.deallocate()
    }

    /// Trailers-only response with a gRPC error status (cached per code, message and retry delay).
    func errorHeaders(_ code: Int, _ message: String, retryAfterSeconds: Int? = nil) -> H2HeaderBlock {
        let key = ErrorKey(code: code, retryAfterSeconds: retryAfterSeconds, message: message)
        if let b = errorBlocks[key] { return b }
        var fields = [(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", String(code)),
                      ("grpc-message", percentEncodeGRPCMessage(message))]
        if let r = retryAfterSeconds {
            fields.append(("grpc-status-details-bin", base64(statusWithRetryInfo(code: code, message: message, seconds: r))))
        }
        let b = H2HeaderBlock(fields)
        if errorBlocks.count > 1024 { errorBlocks.removeAll() }
        errorBlocks[key] = b
        return b
    }

    func run(until stop: () -> Bool) {
        while !stop() {
            var timeout: Int64 = 50_000_000
            let now = SystemClock.monotonicNanos()
            applyOutage(now: now)
            fireDelayed(now: now)
            resumePaused(now: now)
            if let first = delayed.first { timeout = Swift.min(timeout, Int64(first.due &- Swift.min(first.due, now))) }
            for p in paused { timeout = Swift.min(timeout, Int64(p.due &- Swift.min(p.due, now))) }
            loop.poll(timeoutNanos: timeout)
            policy.tick(now: SystemClock.monotonicNanos())
        }
        connections.closeAll { $0.close() }
        closeListener()
    }

    /// An injected outage that refuses connections: close the listener and every connection while it
    /// lasts (clients see connection refused), listen again after.
    func applyOutage(now: UInt64) {
        let refuse = policy.refusingConnections(now: now)
        if refuse && listener >= 0 {
            closeListener()
            connections.closeAll { $0.close() }
        } else if !refuse && listener < 0 {
            do {
                listener = try TCPListener.listen(address, reusePort: options.threads > 1)
                token = try loop.add(listener, .read, self)
            } catch {
                if listener >= 0 { close(listener) }
                listener = -1  // try again on the next turn
            }
        }
    }

    func closeListener() {
        guard listener >= 0 else { return }
        loop.remove(listener, token: token)
        close(listener)
        listener = -1
    }

    /// Pauses reading `c` until `due` (slow reading).
    func pause(_ c: GRPCServerConnection, until due: UInt64) {
        paused.append((due, c))
    }

    func resumePaused(now: UInt64) {
        guard !paused.isEmpty else { return }
        var i = 0
        while i < paused.count {
            if paused[i].due <= now {
                let c = paused[i].connection
                paused.swapAt(i, paused.count - 1)
                paused.removeLast()
                c.resumeReading()
            } else {
                i += 1
            }
        }
    }

    func readable() {
        connections.accept(listener) { try GRPCServerConnection(fd: $0, worker: self) }
    }

    func writable() {}

    func closed(_ c: GRPCServerConnection) { connections.remove(c) }

    // MARK: Delayed replies (min-heap on `due`)

    func hold(_ d: DelayedReply) {
        delayed.append(d)
        var i = delayed.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if delayed[parent].due <= delayed[i].due { break }
            delayed.swapAt(parent, i)
            i = parent
        }
    }

    func fireDelayed(now: UInt64) {
        while let first = delayed.first, first.due <= now {
            let last = delayed.removeLast()
            if !delayed.isEmpty {
                delayed[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < delayed.count && delayed[l].due < delayed[m].due { m = l }
                    if r < delayed.count && delayed[r].due < delayed[m].due { m = r }
                    if m == i { break }
                    delayed.swapAt(i, m)
                    i = m
                }
            }
            if !first.connection.isClosed {
                first.connection.send(first.reply, stream: first.stream)
                first.connection.flush()
            }
        }
    }
}

/// One HTTP/2 connection to a sink.
final class GRPCServerConnection: EventHandler, H2SessionDelegate {
    struct StreamState {
        var signal: Signal? = nil
        var known = true
        var bytes = 0
        var header: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
        /// The message bytes, when the policy needs them (a buffer from the connection's pool).
        var message: WireBuffer? = nil
    }

    let fd: Int32
    unowned let worker: GRPCWorker
    var token = -1
    var session: H2Session!
    var tls: TLSConnection?
    var handshaking = false
    /// Slow reading: bytes that may still be read, refilled at the policy's rate.
    var readBudget = 0.0
    var lastRefill: UInt64 = 0
    var readingPaused = false
    var streams: [Int32: StreamState] = [:]
    var freeBodies: [UnsafeMutablePointer<H2Body>] = []
    var bodies: [Int32: UnsafeMutablePointer<H2Body>] = [:]
    /// Message buffers: in use by a stream (request bytes, then the response) or free.
    var freeBuffers: [WireBuffer] = []
    var responseBuffers: [Int32: WireBuffer] = [:]
    let output = H2Output()
    var wantWrite = false
    var isClosed = false

    init(fd: Int32, worker: GRPCWorker) throws {
        self.fd = fd
        self.worker = worker
        streams.reserveCapacity(256)
        token = try worker.loop.add(fd, .read, self)
        if let context = worker.options.tls {
            tls = try TLSConnection(server: context, fd: fd)
            handshaking = true
            continueHandshake()
            return
        }
        session = try H2Session(role: .server, delegate: self)
        flush()
    }

    /// Drives the TLS handshake; the HTTP/2 session starts when it is done.
    func continueHandshake() {
        guard let tls else { return }
        do {
            switch try tls.handshake() {
            case .read?: armWrite(false)
            case .write?: armWrite(true)
            case nil:
                handshaking = false
                session = try H2Session(role: .server, delegate: self)
                flush()
            }
        } catch {
            close()
        }
    }

    func ioRead(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try SocketIO.read(fd, tls, buffer)
    }

    func ioWrite(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        try SocketIO.write(fd, tls, bytes)
    }

    deinit {
        for b in freeBodies { b.deallocate() }
        for b in bodies.values { b.deallocate() }
    }

    func readable() {
        if handshaking { return continueHandshake() }
        if readingPaused { return }
        while !isClosed {
            var buffer = worker.readBuffer
            let rate = worker.policy.slowReadBytesPerSecond()
            if rate > 0 {
                // Token bucket: at most `rate` bytes per second, in chunks of at least 1/50 s of it.
                let now = SystemClock.monotonicNanos()
                let chunk = Double(Swift.max(1024, rate / 50))
                if lastRefill == 0 { lastRefill = now }
                readBudget = Swift.min(chunk, readBudget + Double(rate) * Double(now &- lastRefill) / 1e9)
                lastRefill = now
                if readBudget < 1 {
                    readingPaused = true
                    armInterest()
                    worker.pause(self, until: now &+ UInt64((chunk - readBudget) / Double(rate) * 1e9))
                    break
                }
                buffer = UnsafeMutableRawBufferPointer(rebasing: buffer[..<Swift.min(buffer.count, Int(readBudget))])
            }
            let n: Int
            do { n = try ioRead(buffer) } catch {
                close()
                return
            }
            if n < 0 { break }
            if n == 0 {
                close()
                return
            }
            if rate > 0 { readBudget -= Double(n) }
            do { try session.receive(UnsafeRawBufferPointer(rebasing: buffer[..<n])) } catch {
                close()
                return
            }
            // A short plain read drained the socket; TLS may still hold decrypted records.
            if tls == nil && n < buffer.count && rate == 0 { break }
        }
        flush()
    }

    /// Slow reading: the pause is over.
    func resumeReading() {
        guard readingPaused, !isClosed else { return }
        readingPaused = false
        armInterest()
        readable()
    }

    /// Watches for reading unless paused, and for writing when output is pending.
    func armInterest() {
        guard !isClosed else { return }
        var interest: EventLoop.Interest = readingPaused ? [] : [.read]
        if wantWrite { interest.insert(.write) }
        worker.loop.modify(fd, token: token, interest)
    }

    func writable() {
        if handshaking { return continueHandshake() }
        flush()
    }

    func flush() {
        guard !isClosed, let session else { return }
        do {
            let done = try output.flush(session) { try ioWrite($0) }
            armWrite(!done)
            if done && !session.isAlive { close() }
        } catch {
            close()
        }
    }

    func armWrite(_ on: Bool) {
        guard on != wantWrite, !isClosed else { return }
        wantWrite = on
        armInterest()
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        worker.loop.remove(fd, token: token)
        Glibc.close(fd)
        worker.closed(self)
    }

    // MARK: HTTP/2

    func h2Header(stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard name.count == 5, name[0] == UInt8(ascii: ":"), name[1] == UInt8(ascii: "p") else {
            if streams[stream] == nil { streams[stream] = StreamState() }
            return
        }
        var state = streams[stream] ?? StreamState()
        state.signal = signalFor(grpcPath: value)
        state.known = state.signal != nil
        if state.signal != nil && worker.policy.needsMessage {
            let b = freeBuffers.popLast() ?? WireBuffer(capacity: 64 * 1024)
            b.removeAll()
            state.message = b
        }
        streams[stream] = state
    }

    func h2Data(stream: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard var s = streams[stream] else { return }
        // Keep the first five bytes: the gRPC message header.
        var i = 0
        while s.bytes + i < 5 && i < bytes.count {
            withUnsafeMutableBytes(of: &s.header) { $0[s.bytes + i] = bytes[i] }
            i += 1
        }
        // Collect the message while it stays within the limit (an oversized one is refused below).
        if let m = s.message, i < bytes.count, m.count + bytes.count - i <= worker.options.maxMessageBytes {
            m.append(UnsafeRawBufferPointer(rebasing: bytes[i...]))
        }
        s.bytes += bytes.count
        streams[stream] = s
    }

    func h2RequestComplete(stream: Int32) {
        let s = streams.removeValue(forKey: stream) ?? StreamState()
        defer { if let m = s.message { responseBuffers[stream] = m } }
        guard let signal = s.signal else {
            worker.counters.unknownPath.wrappingAdd(1, ordering: .relaxed)
            respondError(stream, 12, "unknown method: pipeperf \(worker.options.name) serves the OTLP export methods only")
            return
        }
        let c = worker.counters.forSignal(signal)
        c.requests.wrappingAdd(1, ordering: .relaxed)
        c.bytes.wrappingAdd(s.bytes, ordering: .relaxed)
        // gRPC framing (grpc doc/PROTOCOL-HTTP2.md): one message, flag 0 or 1, length = the rest.
        let length = Int(s.header.1) << 24 | Int(s.header.2) << 16 | Int(s.header.3) << 8 | Int(s.header.4)
        if s.bytes >= 5 && s.header.0 <= 1 && length > worker.options.maxMessageBytes {
            c.malformed.wrappingAdd(1, ordering: .relaxed)
            respondError(stream, 8, "message of \(length) bytes is over the limit of \(worker.options.maxMessageBytes)")
            return
        }
        guard s.bytes >= 5, s.header.0 <= 1, length == s.bytes - 5 else {
            c.malformed.wrappingAdd(1, ordering: .relaxed)
            respondError(stream, 3, "malformed gRPC message framing")
            return
        }
        let reply: ExportReply
        if let m = s.message {
            reply = m.withUnsafeBytes {
                worker.policy.handle(ExportRequestInfo(signal: signal, wireBytes: s.bytes, message: $0, gzip: s.header.0 == 1))
            }
        } else {
            reply = worker.policy.handle(ExportRequestInfo(signal: signal, wireBytes: s.bytes, message: nil, gzip: s.header.0 == 1))
        }
        if reply.delayNanos > 0 {
            worker.hold(DelayedReply(due: SystemClock.monotonicNanos() &+ reply.delayNanos, connection: self, stream: stream, reply: reply))
            return
        }
        send(reply, stream: stream)
    }

    /// Sends `reply` on `stream`.
    func send(_ reply: ExportReply, stream: Int32) {
        switch reply.kind {
        case .error(let code, _):
            respondError(stream, code, reply.message ?? "injected by pipeperf \(worker.options.name)", retryAfterSeconds: reply.retryAfterSeconds)
        case .ok(let rejected):
            let body = freeBodies.popLast() ?? UnsafeMutablePointer<H2Body>.allocate(capacity: 1)
            body.initialize(to: H2Body())
            if rejected > 0 {
                // An OTLP partial success: a gRPC-framed Export*ServiceResponse.
                let out = responseBuffers[stream] ?? freeBuffers.popLast() ?? WireBuffer(capacity: 128)
                responseBuffers[stream] = out
                out.resize(to: 5)
                encodePartialSuccess(rejected: rejected, message: reply.message ?? "rejected by pipeperf \(worker.options.name)", into: out)
                out.withUnsafeMutableBytes { GRPCFrame.storeHeader($0.baseAddress!, compressed: false, length: $0.count - 5) }
                body.pointee.base = out.withUnsafeBytes { UnsafeRawPointer($0.baseAddress) }
                body.pointee.count = out.count
            } else {
                body.pointee.base = UnsafeRawPointer(worker.emptyResponse)
                body.pointee.count = 5
            }
            body.pointee.trailers = Unmanaged.passUnretained(worker.okTrailers)
            bodies[stream] = body
            do { try session.submitResponse(stream: stream, headers: worker.okHeaders, body: body) } catch {
                bodies[stream] = nil
                freeBodies.append(body)
            }
        }
    }

    func respondError(_ stream: Int32, _ code: Int, _ message: String, retryAfterSeconds: Int? = nil) {
        try? session.submitHeadersOnly(stream: stream, headers: worker.errorHeaders(code, message, retryAfterSeconds: retryAfterSeconds))
    }

    func h2BodySent(stream: Int32) {}

    func h2StreamClosed(stream: Int32, errorCode: UInt32) {
        if let s = streams.removeValue(forKey: stream), let m = s.message { freeBuffers.append(m) }
        if let b = bodies.removeValue(forKey: stream) { freeBodies.append(b) }
        if let m = responseBuffers.removeValue(forKey: stream) { freeBuffers.append(m) }
    }

    func h2GoAway(lastStreamID: Int32, errorCode: UInt32) {}
}

/// The signal of an OTLP gRPC export path, or nil.
public func signalFor(grpcPath path: UnsafeRawBufferPointer) -> Signal? {
    for s in Signal.allCases {
        var p = s.grpcPath
        let match = p.withUTF8 { u in
            guard u.count == path.count, let a = u.baseAddress, let b = path.baseAddress else { return false }
            return memcmp(a, b, u.count) == 0
        }
        if match { return s }
    }
    return nil
}
