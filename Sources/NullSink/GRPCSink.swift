// The gRPC side of the null sink: per-thread epoll loops, each with its own SO_REUSEPORT listener,
// accepting HTTP/2 (h2c) connections and answering every OTLP export with success at the least
// possible cost: the payload is not decoded, only its gRPC framing is checked and its bytes counted.

import H2Transport
import OTLPWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Per-signal counters shared by the sink's threads (relaxed atomics, one update per request).
public final class SignalCounters: Sendable {
    public let requests = Atomic<Int>(0)
    public let bytes = Atomic<Int>(0)
    public let malformed = Atomic<Int>(0)
    public let rejected = Atomic<Int>(0)
    public init() {}

    func reset() {
        requests.store(0, ordering: .relaxed)
        bytes.store(0, ordering: .relaxed)
        malformed.store(0, ordering: .relaxed)
        rejected.store(0, ordering: .relaxed)
    }
}

/// Counters of the whole sink.
public final class SinkCounters: Sendable {
    public let logs = SignalCounters()
    public let traces = SignalCounters()
    public let metrics = SignalCounters()
    /// Requests for a path that is not an OTLP export method.
    public let unknownPath = Atomic<Int>(0)
    public let connections = Atomic<Int>(0)
    public init() {}

    public func forSignal(_ s: Signal) -> SignalCounters {
        switch s {
        case .logs: return logs
        case .traces: return traces
        case .metrics: return metrics
        }
    }

    public func reset() {
        for s in Signal.allCases { forSignal(s).reset() }
        unknownPath.store(0, ordering: .relaxed)
    }
}

/// Settings of the gRPC listener.
public struct GRPCSinkOptions: Sendable {
    public var endpoint: Endpoint
    public var threads: Int
    /// Largest gRPC message accepted; larger ones get RESOURCE_EXHAUSTED (gRPC's default is 4 MiB).
    public var maxMessageBytes: Int
    public init(endpoint: Endpoint, threads: Int = 1, maxMessageBytes: Int = 4 * 1024 * 1024) {
        self.endpoint = endpoint
        self.threads = threads
        self.maxMessageBytes = maxMessageBytes
    }
}

/// The running gRPC side of the sink.
public final class GRPCSink: Sendable {
    public let port: UInt16
    let stopFlag = Atomic<Bool>(false)
    let threads: Mutex<[pthread_t]>

    /// Binds the listeners (one per thread, same port) and starts the threads.
    public init(_ options: GRPCSinkOptions, counters: SinkCounters) throws {
        guard case .success(var address) = SocketAddress.resolve(options.endpoint) else {
            throw SinkError("cannot resolve \(options.endpoint)")
        }
        var fds: [Int32] = []
        var bound: UInt16 = options.endpoint.port
        for _ in 0..<options.threads {
            if bound != options.endpoint.port, case .success(let a) = SocketAddress.resolve(Endpoint(host: options.endpoint.host, port: bound)) {
                address = a
            }
            do {
                let fd = try TCPListener.listen(address, reusePort: options.threads > 1)
                fds.append(fd)
                bound = TCPListener.boundPort(fd)
            } catch {
                for fd in fds { close(fd) }
                throw SinkError("cannot listen on \(options.endpoint): \(error)")
            }
        }
        port = bound
        threads = Mutex([])
        var started: [pthread_t] = []
        for fd in fds {
            let opts = options
            let t = try spawnThread { [self] in
                do {
                    let w = try SinkWorker(listener: fd, options: opts, counters: counters)
                    w.run(until: { self.stopFlag.load(ordering: .relaxed) })
                } catch {
                    printError("null-sink: worker failed: \(error)")
                }
                close(fd)
            }
            started.append(t)
        }
        let all = started
        threads.withLock { $0 = all }
    }

    /// Stops the threads and closes every connection.
    public func stop() {
        stopFlag.store(true, ordering: .relaxed)
        for t in threads.withLock({ $0 }) { pthread_join(t, nil) }
    }
}

/// A failure to start the sink.
public struct SinkError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

final class SinkWorker: EventHandler {
    let loop: EventLoop
    let listener: Int32
    var token = -1
    let options: GRPCSinkOptions
    let counters: SinkCounters
    var connections: Set<ObjectIdentifier> = []
    var live: [ObjectIdentifier: SinkConnection] = [:]
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
    // Response pieces shared by every stream (built once).
    let okHeaders = H2HeaderBlock([(":status", "200"), ("content-type", "application/grpc")])
    let okTrailers = H2HeaderBlock([("grpc-status", "0")])
    /// An empty ExportXServiceResponse, gRPC-framed: flag 0, length 0.
    let emptyResponse: UnsafeMutableRawPointer
    var errorBlocks: [Int: H2HeaderBlock] = [:]

    init(listener: Int32, options: GRPCSinkOptions, counters: SinkCounters) throws {
        loop = try EventLoop()
        self.listener = listener
        self.options = options
        self.counters = counters
        emptyResponse = .allocate(byteCount: 5, alignment: 8)
        emptyResponse.initializeMemory(as: UInt8.self, repeating: 0, count: 5)
        token = try loop.add(listener, .read, self)
    }

    deinit {
        readBuffer.deallocate()
        emptyResponse.deallocate()
    }

    /// Trailers-only response with a gRPC error status (cached per code and message).
    func errorHeaders(_ code: Int, _ message: String) -> H2HeaderBlock {
        let key = code << 8 | message.utf8.count
        if let b = errorBlocks[key] { return b }
        let b = H2HeaderBlock([(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", String(code)),
                               ("grpc-message", message)])
        errorBlocks[key] = b
        return b
    }

    func run(until stop: () -> Bool) {
        while !stop() { loop.poll(timeoutMillis: 50) }
        for c in live.values { c.close() }
        loop.remove(listener, token: token)
    }

    func readable() {
        while true {
            let fd: Int32?
            do { fd = try TCPListener.accept(listener) } catch { return }
            guard let fd else { return }
            do {
                let c = try SinkConnection(fd: fd, worker: self)
                live[ObjectIdentifier(c)] = c
                counters.connections.wrappingAdd(1, ordering: .relaxed)
            } catch {
                close(fd)
            }
        }
    }

    func writable() {}

    func closed(_ c: SinkConnection) {
        live[ObjectIdentifier(c)] = nil
        counters.connections.wrappingAdd(-1, ordering: .relaxed)
    }
}

/// One HTTP/2 connection to the sink.
final class SinkConnection: EventHandler, H2SessionDelegate {
    struct StreamState {
        var signal: Signal? = nil
        var known = true
        var bytes = 0
        var header: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
    }

    let fd: Int32
    unowned let worker: SinkWorker
    var token = -1
    var session: H2Session!
    var streams: [Int32: StreamState] = [:]
    var freeBodies: [UnsafeMutablePointer<H2Body>] = []
    var bodies: [Int32: UnsafeMutablePointer<H2Body>] = [:]
    let output = H2Output()
    var wantWrite = false
    var isClosed = false

    init(fd: Int32, worker: SinkWorker) throws {
        self.fd = fd
        self.worker = worker
        streams.reserveCapacity(256)
        session = try H2Session(role: .server, delegate: self)
        token = try worker.loop.add(fd, .read, self)
        flush()
    }

    deinit {
        for b in freeBodies { b.deallocate() }
        for b in bodies.values { b.deallocate() }
    }

    func readable() {
        while !isClosed {
            let n: Int
            do { n = try TCPSocket.read(fd, worker.readBuffer) } catch {
                close()
                return
            }
            if n < 0 { break }
            if n == 0 {
                close()
                return
            }
            do { try session.receive(UnsafeRawBufferPointer(rebasing: worker.readBuffer[..<n])) } catch {
                close()
                return
            }
            if n < worker.readBuffer.count { break }
        }
        flush()
    }

    func writable() { flush() }

    func flush() {
        guard !isClosed else { return }
        do {
            let done = try output.flush(session) { try TCPSocket.write(fd, $0) }
            armWrite(!done)
            if done && !session.isAlive { close() }
        } catch {
            close()
        }
    }

    func armWrite(_ on: Bool) {
        guard on != wantWrite, !isClosed else { return }
        wantWrite = on
        worker.loop.modify(fd, token: token, on ? [.read, .write] : [.read])
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
        var state = StreamState()
        state.signal = signalFor(path: value)
        state.known = state.signal != nil
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
        s.bytes += bytes.count
        streams[stream] = s
    }

    func h2RequestComplete(stream: Int32) {
        let s = streams.removeValue(forKey: stream) ?? StreamState()
        guard let signal = s.signal else {
            worker.counters.unknownPath.wrappingAdd(1, ordering: .relaxed)
            respondError(stream, 12, "unknown method: pipeperf null-sink serves the OTLP export methods only")
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
        let body = freeBodies.popLast() ?? UnsafeMutablePointer<H2Body>.allocate(capacity: 1)
        body.initialize(to: H2Body())
        body.pointee.base = UnsafeRawPointer(worker.emptyResponse)
        body.pointee.count = 5
        body.pointee.trailers = Unmanaged.passUnretained(worker.okTrailers)
        bodies[stream] = body
        do { try session.submitResponse(stream: stream, headers: worker.okHeaders, body: body) } catch {
            bodies[stream] = nil
            freeBodies.append(body)
        }
    }

    func respondError(_ stream: Int32, _ code: Int, _ message: String) {
        try? session.submitHeadersOnly(stream: stream, headers: worker.errorHeaders(code, message))
    }

    func h2BodySent(stream: Int32) {}

    func h2StreamClosed(stream: Int32, errorCode: UInt32) {
        streams[stream] = nil
        if let b = bodies.removeValue(forKey: stream) { freeBodies.append(b) }
    }

    func h2GoAway(lastStreamID: Int32, errorCode: UInt32) {}
}

/// The signal of an OTLP gRPC export path, or nil.
func signalFor(path: UnsafeRawBufferPointer) -> Signal? {
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
