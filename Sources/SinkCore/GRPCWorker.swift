// One receiving thread of the gRPC server: its epoll loop, listener (closed during an injected
// outage that refuses connections), connections, paused readers (slow reading) and its ExportPolicy.

import PipeperfBase
import H2Transport
import OTLPWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
    lazy var connections = ConnectionTable<GRPCServerConnection> { [counters] in
        counters.connections.wrappingAdd($0, ordering: .relaxed)
    }
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
    // Response pieces shared by every stream (built once).
    let okHeaders = H2HeaderBlock([(":status", "200"), ("content-type", "application/grpc")])
    let okTrailers = H2HeaderBlock([("grpc-status", String(GRPCStatusCode.ok.rawValue))])
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

    init(
        listener: Int32, address: SocketAddress, options: GRPCServerOptions, counters: SinkCounters,
        policy: any ExportPolicy
    ) throws {
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
        var fields = [
            (":status", "200"), ("content-type", "application/grpc"), ("grpc-status", String(code)),
            ("grpc-message", percentEncodeGRPCMessage(message)),
        ]
        if let r = retryAfterSeconds {
            fields.append(
                ("grpc-status-details-bin", base64(statusWithRetryInfo(code: code, message: message, seconds: r))))
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
}
