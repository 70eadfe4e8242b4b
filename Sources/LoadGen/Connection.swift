// What every connection of a worker shares, whatever the protocol on it: the socket (TCP, or UDP for
// syslog), TLS, connecting with exponential backoff, and the slots of requests in flight. The
// protocol subclasses (H2Connection for gRPC, HTTP1Connection for OTLP/HTTP, SyslogStreamConnection
// and SyslogDatagramConnection) fill in how requests are written and how replies are read. Runs on
// the worker's thread only.

import PipeperfBase
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

class Connection: EventHandler {
    enum State { case idle, connecting, handshaking, active, closed }

    unowned let worker: Worker
    let index: Int
    var state: State = .idle
    var fd: Int32 = -1
    var token = -1
    var tls: TLSConnection?
    var slots: UnsafeMutablePointer<Slot>
    let capacity: Int
    var inFlight = 0
    var wantWrite = false
    var reconnectAtNanos: UInt64 = 0
    var backoffNanos: UInt64 = 50_000_000
    var everConnected = false
    /// Not watched for reading: its replies are read at the worker's next planned send (`readParked`),
    /// which saves a wake-up per batch at a fixed rate. Only H2Connection parks.
    var parked = false

    init(worker: Worker, index: Int, capacity: Int) {
        self.worker = worker
        self.index = index
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(), count: capacity)
    }

    deinit {
        closeSocket()
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Requests that can be submitted now.
    var available: Int { state == .active ? Swift.max(0, capacity - inFlight) : 0 }

    // MARK: Protocol hooks (overridden)

    /// The connection is up (after TLS when used): start the protocol. Throw to fail the connection.
    func start(now: UInt64) throws {}
    /// Submits a request whose body is `body`; false when it cannot be taken now.
    func submit(template: Int, body: UnsafeRawBufferPointer, items: Int, planned: UInt64, now: UInt64) -> Bool { false }
    /// Writes whatever is pending; arms EPOLLOUT when the socket is full.
    func flush(now: UInt64) {}
    /// Bytes arrived from the peer.
    func received(_ bytes: UnsafeRawBufferPointer, now: UInt64) throws {}
    /// After a round of reads (default: write what the reads produced).
    func afterReads(now: UInt64) { flush(now: now) }
    /// The socket is gone: drop protocol state.
    func resetProtocol() {}
    /// Reads what arrived while parked (called at the top of every round of the worker's loop).
    func readParked(now: UInt64) {}
    /// Parks the socket when `allow` (the worker sleeps until its next planned send, and soon) and the
    /// connection can, else unparks it.
    func updateParking(_ allow: Bool) {}

    // MARK: Connecting

    /// Opens the socket and starts a non-blocking connect (TCP).
    func openSocket() throws(SystemError) -> Int32 { try TCPSocket.connect(worker.address) }

    func connect(now: UInt64) {
        guard state == .idle || state == .closed, now >= reconnectAtNanos else { return }
        do throws(SystemError) {
            fd = try openSocket()
            token = try worker.loop.add(fd, [.read, .write], self)
            wantWrite = true
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
        do {
            try start(now: now)
        } catch {
            fail("\(error)", now: now)
            return
        }
        state = .active
        worker.lastProgressNanos = now
        if everConnected { worker.stats.reconnects += 1 }
        everConnected = true
        backoffNanos = 50_000_000
        flush(now: now)
    }

    func armWrite(_ on: Bool) {
        guard on != wantWrite, fd >= 0 else { return }
        wantWrite = on
        if on { parked = false }
        worker.loop.modify(fd, token: token, on ? [.read, .write] : parked ? [] : [.read])
    }

    // MARK: I/O (plain TCP or TLS)

    /// Reads into `buffer`: bytes read, 0 at end of stream, -1 when it would block.
    func ioRead(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try SocketIO.read(fd, tls, buffer)
    }

    /// Writes what the socket takes (0 when full).
    func ioWrite(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        try SocketIO.write(fd, tls, bytes)
    }

    /// Drives the TLS handshake; on completion the protocol starts.
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
        let now = SystemClock.monotonicNanos()
        if state == .connecting {
            let err = TCPSocket.connectResult(fd)
            if err != 0 {
                connectFailed(SystemError(call: "connect", code: err).description, now: now)
                return
            }
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
        let now = SystemClock.monotonicNanos()
        if state == .connecting {
            writable()
            return
        }
        if state == .handshaking {
            continueHandshake(now: now)
            return
        }
        guard state == .active else { return }
        if readAll(now: now, { try ioRead($0) }) { afterReads(now: now) }
    }

    /// Reads with `read` (bytes read, 0 at end of stream, -1 when it would block) until the socket is
    /// drained, handing every chunk to `received`. False when the connection failed or was closed.
    func readAll(now: UInt64, _ read: (UnsafeMutableRawBufferPointer) throws -> Int) -> Bool {
        let buffer = worker.readBuffer
        while fd >= 0 {
            let n: Int
            do { n = try read(buffer) } catch {
                fail("\(error)", now: now)
                return false
            }
            if n < 0 { break }
            if n == 0 {
                peerClosed(now: now)
                return false
            }
            do { try received(UnsafeRawBufferPointer(rebasing: buffer[..<n]), now: now) } catch {
                fail("\(error)", now: now)
                return false
            }
            // A short plain read drained the socket; TLS may still hold decrypted records, so read on.
            if tls == nil && n < buffer.count { break }
        }
        return fd >= 0
    }

    /// The peer closed the connection (end of stream).
    func peerClosed(now: UInt64) { fail("connection closed by the server", now: now) }

    // MARK: Completion and failure

    /// Slot `s` finished: frees it and its template, and reports the batch to the worker.
    func finish(_ s: Int, now: UInt64, outcome: Worker.Outcome) {
        let slot = slots[s]
        if slot.template >= 0 { worker.releaseTemplate(slot.template) }
        slots[s].active = false
        slots[s].template = -1
        slots[s].grpcMessage = nil
        inFlight -= 1
        worker.completed(
            items: slot.items, planned: slot.plannedNanos, sent: slot.sentNanos, now: now, outcome: outcome)
    }

    /// Tears the connection down, failing every request in flight, and schedules a reconnect.
    func fail(_ reason: String, now: UInt64, quiet: Bool = false) {
        if !quiet { worker.reportError("connection to \(worker.config.endpoint) failed: \(reason)") }
        failInFlight(now: now, kind: .connectionLost)
        closeSocket()
        state = .closed
        scheduleReconnect(now: now)
    }

    /// Fails every request in flight as `kind` (connection lost, or timed out at the end of the drain).
    func failInFlight(now: UInt64, kind: FailureKind) {
        for s in 0..<capacity where slots[s].active {
            finish(s, now: now, outcome: .failed(kind, message: nil))
        }
        inFlight = 0
    }

    func closeSocket() {
        resetProtocol()
        tls = nil
        if fd >= 0 {
            worker.loop.remove(fd, token: token)
            close(fd)
            fd = -1
        }
        wantWrite = false
        parked = false
    }
}
