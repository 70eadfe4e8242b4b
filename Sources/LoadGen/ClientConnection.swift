// One HTTP/2 connection of a worker: connects, submits gRPC export requests into free slots, reads
// replies, and reports each finished batch to its worker. Runs on the worker's thread only.

import H2Transport
import OTLPWire

#if canImport(Glibc)
import Glibc
#endif

/// A request in flight on a connection.
struct Slot {
    var stream: Int32 = 0
    var active = false
    var items = 0
    var plannedNanos: UInt64 = 0
    var sentNanos: UInt64 = 0
    var template = -1
    var httpStatus = 0
    var grpcStatus = -1
    var grpcMessage: String? = nil
}

final class ClientConnection: EventHandler, H2SessionDelegate {
    enum State { case idle, connecting, handshaking, active, closed }

    unowned let worker: Worker
    let index: Int
    var state: State = .idle
    var fd: Int32 = -1
    var token = -1
    var session: H2Session?
    var tls: TLSConnection?
    var slots: UnsafeMutablePointer<Slot>
    var bodies: UnsafeMutablePointer<H2Body>
    /// Per-slot response message buffers (partial success), reused.
    var responses: [WireBuffer]
    let capacity: Int
    var inFlight = 0
    /// Output nghttp2 produced that the socket did not take yet.
    let output = H2Output()
    var wantWrite = false
    var reconnectAtNanos: UInt64 = 0
    var backoffNanos: UInt64 = 50_000_000
    var everConnected = false

    init(worker: Worker, index: Int, capacity: Int) {
        self.worker = worker
        self.index = index
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(), count: capacity)
        bodies = .allocate(capacity: capacity)
        bodies.initialize(repeating: H2Body(), count: capacity)
        responses = (0..<capacity).map { _ in WireBuffer(capacity: 64) }
    }

    deinit {
        closeSocket()
        slots.deinitialize(count: capacity)
        slots.deallocate()
        bodies.deinitialize(count: capacity)
        bodies.deallocate()
    }

    /// Free request slots, respecting the peer's SETTINGS_MAX_CONCURRENT_STREAMS.
    var available: Int {
        guard state == .active, let session else { return 0 }
        return Swift.max(0, Swift.min(capacity, session.peerMaxConcurrentStreams) - inFlight)
    }

    // MARK: Connecting

    func connect(now: UInt64) {
        guard state == .idle || state == .closed, now >= reconnectAtNanos else { return }
        do throws(SystemError) {
            fd = try TCPSocket.connect(worker.address)
            token = try worker.loop.add(fd, [.read, .write], self)
            state = .connecting
        } catch {
            connectFailed(error.description, now: now)
        }
    }

    func connectFailed(_ reason: String, now: UInt64) {
        closeSocket()
        state = .closed
        worker.stats.connectFailures += 1
        worker.reportError("cannot connect to \(worker.config.endpoint): \(reason)")
        scheduleReconnect(now: now)
    }

    func scheduleReconnect(now: UInt64) {
        // Exponential backoff from 50 ms to 2 s with ±25 % jitter, so reconnects of many connections spread.
        let jitter = Double(worker.rng.below(500)) / 1000 + 0.75
        reconnectAtNanos = now + UInt64(Double(backoffNanos) * jitter)
        backoffNanos = Swift.min(backoffNanos * 2, 2_000_000_000)
    }

    func established(now: UInt64) {
        do throws(H2Error) {
            session = try H2Session(role: .client, delegate: self)
        } catch {
            fail(error.description, now: now)
            return
        }
        state = .active
        worker.lastProgressNanos = now
        if everConnected { worker.stats.reconnects += 1 }
        everConnected = true
        backoffNanos = 50_000_000
        flush(now: now)
    }

    // MARK: Sending

    /// Submits a request in a free slot. Returns false when the session refused it.
    func submit(template: Int, body: UnsafeRawBufferPointer, items: Int, planned: UInt64, now: UInt64) -> Bool {
        guard let session, let s = (0..<capacity).first(where: { !slots[$0].active }) else { return false }
        bodies[s].base = body.baseAddress
        bodies[s].count = body.count
        bodies[s].offset = 0
        let stream: Int32
        do throws(H2Error) {
            stream = try session.submitRequest(headers: worker.headers, body: bodies + s)
        } catch {
            worker.reportError(error.description)
            return false
        }
        slots[s] = Slot(stream: stream, active: true, items: items, plannedNanos: planned, sentNanos: now, template: template)
        responses[s].removeAll()
        inFlight += 1
        flush(now: now)
        return true
    }

    /// Writes pending output and whatever nghttp2 has to send; arms EPOLLOUT when the socket is full.
    func flush(now: UInt64) {
        guard fd >= 0, let session else { return }
        do {
            armWrite(!(try output.flush(session) { try ioWrite($0) }))
        } catch {
            fail("\(error)", now: now)
        }
    }

    func armWrite(_ on: Bool) {
        guard on != wantWrite, fd >= 0 else { return }
        wantWrite = on
        worker.loop.modify(fd, token: token, on ? [.read, .write] : [.read])
    }

    // MARK: I/O (plain TCP or TLS)

    /// Reads into `buffer`: bytes read, 0 at end of stream, -1 when it would block.
    func ioRead(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let tls { return try tls.read(buffer) }
        return try TCPSocket.read(fd, buffer)
    }

    /// Writes what the socket takes (0 when full).
    func ioWrite(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        if let tls { return try tls.write(bytes) }
        return try TCPSocket.write(fd, bytes)
    }

    /// Drives the TLS handshake; on completion the HTTP/2 session starts.
    func continueHandshake(now: UInt64) {
        guard let tls else { return }
        do {
            switch try tls.handshake() {
            case .read?: armWrite(false)
            case .write?: armWrite(true)
            case nil: established(now: now)
            }
        } catch {
            connectFailed("\(error)", now: now)
        }
    }

    // MARK: Events

    func writable() {
        let now = Clock.monotonicNanos()
        if state == .connecting {
            let err = TCPSocket.connectResult(fd)
            if err != 0 {
                connectFailed(SystemError(call: "connect", code: err).description, now: now)
                return
            }
            wantWrite = true
            if let context = worker.tlsContext {
                do {
                    tls = try TLSConnection(context: context, fd: fd, host: worker.config.endpoint.host)
                } catch {
                    connectFailed("\(error)", now: now)
                    return
                }
                state = .handshaking
                continueHandshake(now: now)
                return
            }
            established(now: now)
            return
        }
        if state == .handshaking {
            continueHandshake(now: now)
            return
        }
        flush(now: now)
    }

    func readable() {
        let now = Clock.monotonicNanos()
        if state == .connecting {
            writable()
            return
        }
        if state == .handshaking {
            continueHandshake(now: now)
            return
        }
        guard let session else { return }
        let buffer = worker.readBuffer
        while fd >= 0 {
            let n: Int
            do { n = try ioRead(buffer) } catch {
                fail("\(error)", now: now)
                return
            }
            if n < 0 { break }
            if n == 0 {
                fail("connection closed by the server", now: now)
                return
            }
            do throws(H2Error) { try session.receive(UnsafeRawBufferPointer(rebasing: buffer[..<n])) } catch {
                fail(error.description, now: now)
                return
            }
            // A short plain read drained the socket; TLS may still hold decrypted records, so read on.
            if tls == nil && n < buffer.count { break }
        }
        flush(now: now)
        if let s = self.session, !s.isAlive, inFlight == 0 { fail("session ended (GOAWAY)", now: now, quiet: true) }
    }

    // MARK: HTTP/2 events

    func slotIndex(_ stream: Int32) -> Int? {
        var i = 0
        while i < capacity {
            if slots[i].active && slots[i].stream == stream { return i }
            i += 1
        }
        return nil
    }

    func h2Header(stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard let s = slotIndex(stream) else { return }
        if equals(name, ":status") {
            slots[s].httpStatus = parseInt(value) ?? 0
        } else if equals(name, "grpc-status") {
            slots[s].grpcStatus = parseInt(value) ?? 2
        } else if equals(name, "grpc-message"), value.count > 0 {
            slots[s].grpcMessage = String(decoding: value, as: UTF8.self)
        }
    }

    func h2Data(stream: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let s = slotIndex(stream), responses[s].count < 1 << 20 else { return }
        responses[s].append(bytes)
    }

    func h2BodySent(stream: Int32) {
        guard let s = slotIndex(stream) else { return }
        worker.releaseTemplate(slots[s].template)
        slots[s].template = -1
    }

    func h2GoAway(lastStreamID: Int32, errorCode: UInt32) {
        worker.stats.goaways += 1
    }

    func h2StreamClosed(stream: Int32, errorCode: UInt32) {
        guard let s = slotIndex(stream) else { return }
        let now = Clock.monotonicNanos()
        var slot = slots[s]
        if slot.template >= 0 { worker.releaseTemplate(slot.template) }
        slots[s].active = false
        slots[s].template = -1
        inFlight -= 1
        let outcome: Worker.Outcome
        if slot.grpcStatus == 0 {
            outcome = .ok(rejected: responses[s].withUnsafeBytes { partialSuccessRejected($0) })
        } else if slot.grpcStatus > 0 {
            outcome = .failed(FailureKind(rawValue: slot.grpcStatus) ?? .unknown, message: slot.grpcMessage)
        } else if errorCode == 7 {  // REFUSED_STREAM: not processed, safe to count as refused
            outcome = .failed(.refused, message: nil)
        } else if errorCode != 0 {
            outcome = .failed(.streamReset, message: "stream reset with HTTP/2 error \(errorCode)")
        } else if slot.httpStatus != 200 && slot.httpStatus != 0 {
            outcome = .httpError(slot.httpStatus)
        } else {
            outcome = .failed(.missingStatus, message: nil)
        }
        slot.grpcMessage = nil
        worker.completed(items: slot.items, planned: slot.plannedNanos, sent: slot.sentNanos, now: now, outcome: outcome)
    }

    // MARK: Failure

    /// Tears the connection down, failing every request in flight, and schedules a reconnect.
    func fail(_ reason: String, now: UInt64, quiet: Bool = false) {
        if !quiet { worker.reportError("connection to \(worker.config.endpoint) failed: \(reason)") }
        for s in 0..<capacity where slots[s].active {
            if slots[s].template >= 0 { worker.releaseTemplate(slots[s].template) }
            slots[s].active = false
            slots[s].template = -1
            worker.completed(items: slots[s].items, planned: slots[s].plannedNanos, sent: slots[s].sentNanos, now: now,
                             outcome: .failed(.connectionLost, message: nil))
        }
        inFlight = 0
        closeSocket()
        state = .closed
        scheduleReconnect(now: now)
    }

    func closeSocket() {
        session = nil
        tls = nil
        if fd >= 0 {
            worker.loop.remove(fd, token: token)
            close(fd)
            fd = -1
        }
        output.reset()
        wantWrite = false
    }
}

@inline(__always)
func equals(_ a: UnsafeRawBufferPointer, _ b: StaticString) -> Bool {
    guard a.count == b.utf8CodeUnitCount, let p = a.baseAddress else { return false }
    return memcmp(p, b.utf8Start, a.count) == 0
}

func parseInt(_ v: UnsafeRawBufferPointer) -> Int? {
    guard !v.isEmpty, v.count < 10 else { return nil }
    var n = 0
    for b in v {
        guard b >= 48 && b <= 57 else { return nil }
        n = n * 10 + Int(b - 48)
    }
    return n
}

/// Items rejected by an OTLP partial success in a gRPC response body: the first message's
/// `partial_success` (field 1) `rejected_*` count (field 1), for any of the three signals.
func partialSuccessRejected(_ body: UnsafeRawBufferPointer) -> Int {
    guard body.count >= 5, let base = body.baseAddress, base.load(as: UInt8.self) == 0 else { return 0 }
    let len = Int(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
    guard len <= body.count - 5 else { return 0 }
    var r = WireReader(UnsafeRawBufferPointer(start: base + 5, count: len))
    var rejected = 0
    do throws(WireError) {
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            if f == 1 && t == .lengthDelimited {
                var ps = try r.lengthDelimited()
                while !ps.isAtEnd {
                    let (pf, pt) = try ps.tag()
                    if pf == 1 && pt == .varint { rejected = Int(truncatingIfNeeded: try ps.varint()) } else { try ps.skip(pt, field: pf) }
                }
            } else {
                try r.skip(t, field: f)
            }
        }
    } catch {
        return rejected
    }
    return Swift.max(0, rejected)
}
