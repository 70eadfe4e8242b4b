// Requests written back to back on one stream socket, oldest first, each a prefix (an HTTP/1.1
// request head; nothing for syslog) followed by the body from a payload template. Shared by OTLP/HTTP
// (HTTP/1.1 pipelining, RFC 9112 §9.3.2: responses come back in request order) and syslog over TCP.

import PipeperfBase
import H2Transport
import OTLPWire

class PipelinedConnection: Connection {
    /// Slots are used in ring order: `head` is the oldest request in flight.
    var head = 0
    /// Requests from `head` on that are completely written.
    var written = 0
    /// Bytes of the next request to write (prefix, then body) already written.
    var writeOffset = 0
    var prefixes: [WireBuffer]
    var bodyBase: UnsafeMutablePointer<UnsafeRawPointer?>
    var bodyCount: UnsafeMutablePointer<Int>

    override init(worker: Worker, index: Int, capacity: Int) {
        prefixes = (0..<capacity).map { _ in WireBuffer(capacity: 512) }
        bodyBase = .allocate(capacity: capacity)
        bodyBase.initialize(repeating: nil, count: capacity)
        bodyCount = .allocate(capacity: capacity)
        bodyCount.initialize(repeating: 0, count: capacity)
        super.init(worker: worker, index: index, capacity: capacity)
    }

    deinit {
        bodyBase.deallocate()
        bodyCount.deallocate()
    }

    /// Fills `prefix` with what goes in front of a body of `count` bytes (default: nothing).
    func writePrefix(_ prefix: WireBuffer, bodyCount: Int) { prefix.removeAll() }

    /// The request in slot `s` is completely on the wire.
    func requestWritten(_ s: Int, now: UInt64) {}

    override func resetProtocol() {
        head = 0
        written = 0
        writeOffset = 0
    }

    override func submit(template: Int, body: UnsafeRawBufferPointer, items: Int, planned: UInt64, now: UInt64) -> Bool
    {
        guard available > 0 else { return false }
        let s = (head + inFlight) % capacity
        writePrefix(prefixes[s], bodyCount: body.count)
        bodyBase[s] = body.baseAddress
        bodyCount[s] = body.count
        slots[s] = Slot(
            stream: 0, active: true, items: items, plannedNanos: planned, sentNanos: now, template: template)
        inFlight += 1
        flush(now: now)
        return true
    }

    /// The oldest request completed: frees its slot and moves the ring on.
    func finishHead(now: UInt64, outcome: Worker.Outcome) {
        let s = head
        head = (head + 1) % capacity
        if written > 0 { written -= 1 } else { writeOffset = 0 }
        finish(s, now: now, outcome: outcome)
    }

    override func flush(now: UInt64) {
        guard fd >= 0, state == .active else { return }
        do {
            while written < inFlight {
                let s = (head + written) % capacity
                let prefix = prefixes[s]
                let p = prefix.count
                if writeOffset < p {
                    let n = try prefix.withUnsafeBytes {
                        try ioWrite(UnsafeRawBufferPointer(rebasing: $0[writeOffset...]))
                    }
                    if n == 0 { return armWrite(true) }
                    writeOffset += n
                    continue
                }
                let done = writeOffset - p
                if done < bodyCount[s], let base = bodyBase[s] {
                    let n = try ioWrite(UnsafeRawBufferPointer(start: base + done, count: bodyCount[s] - done))
                    if n == 0 { return armWrite(true) }
                    writeOffset += n
                    continue
                }
                writeOffset = 0
                written += 1
                requestWritten(s, now: now)
                if fd < 0 { return }
            }
            armWrite(false)
        } catch {
            fail("\(error)", now: now)
        }
    }
}

/// syslog over TCP (RFC 6587), optionally in TLS (RFC 5425): there is no reply, so a batch counts as
/// delivered (acked) once all its bytes are written to the socket; loss beyond that shows only at the
/// receiving end (the fake backend's `missing`).
final class SyslogStreamConnection: PipelinedConnection {
    override func requestWritten(_ s: Int, now: UInt64) {
        finishHead(now: now, outcome: .ok(rejected: 0))
    }

    override func received(_ bytes: UnsafeRawBufferPointer, now: UInt64) throws {
        // A syslog receiver sends nothing back; whatever it sends is ignored.
    }
}
