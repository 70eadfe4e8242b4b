// One HTTP/2 connection of a worker (OTLP over gRPC): submits export requests as streams, reads
// replies and trailers, and reports each finished batch to its worker. Runs on the worker's thread only.

import PipeperfBase
import H2Transport
import OTLPWire

#if canImport(Glibc)
import Glibc
#endif

final class H2Connection: Connection, H2SessionDelegate {
    var session: H2Session?
    var bodies: UnsafeMutablePointer<H2Body>
    /// Per-slot response message buffers (partial success), reused.
    var responses: [WireBuffer]
    /// Output nghttp2 produced that the socket did not take yet.
    let output = H2Output()

    // Parking (fixed-rate gRPC over plain TCP): between a batch's send and the next planned send the
    // worker would wake twice, for the reply and for its timer. A parked connection is not watched for
    // reading; the worker reads it when its timer fires, and each reply's time is the kernel's receive
    // stamp of the packet that carried it (SO_TIMESTAMPNS), so latency stays what it would have been.
    /// The kernel stamps this socket's packets.
    var stamped = false
    /// A parked read could not time a reply exactly (no stamp, or frames after the reply in the same
    /// read): this connection stops parking for the rest of its life.
    var parkingSpoiled = false
    /// During a parked read: the monotonic time its bytes arrived, else 0.
    var arrivalNanos: UInt64 = 0
    /// During a parked read: `framesReceived` when a stream closed, else -1.
    var framesAtClose = -1

    override init(worker: Worker, index: Int, capacity: Int) {
        bodies = .allocate(capacity: capacity)
        bodies.initialize(repeating: H2Body(), count: capacity)
        responses = (0..<capacity).map { _ in WireBuffer(capacity: 64) }
        super.init(worker: worker, index: index, capacity: capacity)
    }

    deinit {
        bodies.deinitialize(count: capacity)
        bodies.deallocate()
    }

    /// Free request slots, respecting the peer's SETTINGS_MAX_CONCURRENT_STREAMS.
    override var available: Int {
        guard state == .active, let session else { return 0 }
        return Swift.max(0, Swift.min(capacity, session.peerMaxConcurrentStreams) - inFlight)
    }

    override func start(now: UInt64) throws {
        session = try H2Session(role: .client, delegate: self)
        if worker.parking && tls == nil && !parkingSpoiled {
            stamped = (try? TCPSocket.enableReceiveTimestamps(fd)) != nil
        }
    }

    override func resetProtocol() {
        session = nil
        output.reset()
        stamped = false
        arrivalNanos = 0
        framesAtClose = -1
    }

    // MARK: Parking

    override func updateParking(_ allow: Bool) {
        var park = allow && stamped && !parkingSpoiled && state == .active && !wantWrite && inFlight <= 1
        if park, let session, session.isAlive, !session.wantsWrite, output.isEmpty {
            // A body still waiting for flow-control credit needs the peer's WINDOW_UPDATE at once.
            for s in 0..<capacity where slots[s].active && slots[s].template >= 0 { park = false }
        } else {
            park = false
        }
        guard park != parked, fd >= 0 else { return }
        parked = park
        worker.loop.modify(fd, token: token, park ? [] : [.read])
    }

    override func readParked(now: UInt64) {
        guard parked, let session else { return }
        // The kernel stamps packets with CLOCK_REALTIME; the replies' times are monotonic.
        let realNow = Int64(bitPattern: SystemClock.unixNanos())
        let monoNow = SystemClock.monotonicNanos()
        // A read's stamp is its last packet's: frames after a reply may have come later than the reply.
        func checkFramesAfterClose() {
            if framesAtClose >= 0 && session.framesReceived > framesAtClose { parkingSpoiled = true }
            framesAtClose = -1
        }
        let ok = readAll(now: now) { buffer in
            checkFramesAfterClose()
            var stamp: Int64 = 0
            let n = try TCPSocket.readStamped(fd, buffer, stamp: &stamp)
            if stamp > 0 {
                let age = UInt64(Swift.max(0, realNow - stamp))
                arrivalNanos = monoNow - Swift.min(age, monoNow - 1)
            } else {
                if n > 0 { parkingSpoiled = true }
                arrivalNanos = 0
            }
            return n
        }
        checkFramesAfterClose()
        arrivalNanos = 0
        if ok { afterReads(now: now) }
    }

    // MARK: Sending

    override func submit(template: Int, body: UnsafeRawBufferPointer, items: Int, planned: UInt64, now: UInt64) -> Bool
    {
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
        slots[s] = Slot(
            stream: stream, active: true, items: items, plannedNanos: planned, sentNanos: now, template: template)
        responses[s].removeAll()
        inFlight += 1
        flush(now: now)
        return true
    }

    /// Writes pending output and whatever nghttp2 has to send; arms EPOLLOUT when the socket is full.
    override func flush(now: UInt64) {
        guard fd >= 0, let session else { return }
        do {
            armWrite(!(try output.flush(session) { try ioWrite($0) }))
        } catch {
            fail("\(error)", now: now)
        }
    }

    // MARK: Reading

    override func received(_ bytes: UnsafeRawBufferPointer, now: UInt64) throws {
        try session?.receive(bytes)
    }

    override func afterReads(now: UInt64) {
        flush(now: now)
        if let s = session, !s.isAlive, inFlight == 0 { fail("session ended (GOAWAY)", now: now, quiet: true) }
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
        let slot = slots[s]
        var now: UInt64
        if arrivalNanos != 0 {
            now = Swift.max(arrivalNanos, slot.sentNanos)
            worker.stats.repliesReadParked += 1
            framesAtClose = session?.framesReceived ?? -1
        } else {
            now = SystemClock.monotonicNanos()
        }
        let outcome: Worker.Outcome
        if slot.grpcStatus == 0 {
            outcome = .ok(rejected: responses[s].withUnsafeBytes { partialSuccessRejected(grpcFramed: $0) })
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
        finish(s, now: now, outcome: outcome)
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

/// Items rejected by an OTLP partial success in a gRPC response body: the first length-prefixed message.
func partialSuccessRejected(grpcFramed body: UnsafeRawBufferPointer) -> Int {
    guard body.count >= 5, let base = body.baseAddress, base.load(as: UInt8.self) == 0 else { return 0 }
    let len = Int(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
    guard len <= body.count - 5 else { return 0 }
    return partialSuccessRejected(message: UnsafeRawBufferPointer(start: base + 5, count: len))
}

/// Items rejected by an OTLP partial success in an Export*ServiceResponse message: its
/// `partial_success` (field 1) `rejected_*` count (field 1), for any of the three signals.
func partialSuccessRejected(message: UnsafeRawBufferPointer) -> Int {
    var r = WireReader(message)
    var rejected = 0
    do throws(WireError) {
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            if f == 1 && t == .lengthDelimited {
                var ps = try r.lengthDelimited()
                while !ps.isAtEnd {
                    let (pf, pt) = try ps.tag()
                    if pf == 1 && pt == .varint {
                        rejected = Int(truncatingIfNeeded: try ps.varint())
                    } else {
                        try ps.skip(pt, field: pf)
                    }
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
