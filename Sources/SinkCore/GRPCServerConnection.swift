// One HTTP/2 connection to a sink: socket and TLS I/O, the read budget of slow reading, output
// flushing and closing.

import PipeperfBase
import H2Transport
import OTLPWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
                // Token bucket: at most `rate` bytes per second, in chunks of at least 1/50 s of it. The
                // bucket holds a tenth more than a chunk, so that a wake-up up to 2 ms later than planned
                // (the poll's millisecond granularity) loses none of the rate, while a burst stays one chunk.
                let now = SystemClock.monotonicNanos()
                let chunk = Double(Swift.max(1024, rate / 50))
                if lastRefill == 0 { lastRefill = now }
                readBudget = Swift.min(chunk * 1.1, readBudget + Double(rate) * Double(now &- lastRefill) / 1e9)
                lastRefill = now
                // Below 1 KiB of budget, wait for a whole chunk: refilling by the few bytes that each pass
                // of the loop earns would read a few bytes per system call and spin a core.
                if readBudget < 1024 {
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
}
