// syslog over UDP (RFC 5426): one message per datagram on a connected socket, sent with sendmmsg.
// There is no reply: a batch counts as delivered (acked) when all its datagrams were handed to the
// kernel. UDP loses silently under load; the receiving end (the fake backend's `missing`) shows it.

import PipeperfBase
import H2Transport
import OTLPWire

#if canImport(Glibc)
import Glibc
#endif

final class SyslogDatagramConnection: Connection {
    var head = 0
    /// Messages of the head batch already sent.
    var nextMessage = 0

    override func openSocket() throws(SystemError) -> Int32 { try UDPSocket.connect(worker.address) }

    override func connect(now: UInt64) {
        guard state == .idle || state == .closed, now >= reconnectAtNanos else { return }
        do throws(SystemError) {
            fd = try openSocket()
            token = try worker.loop.add(fd, [.read], self)
        } catch {
            connectFailed(error.description, now: now)
            return
        }
        // Nothing to wait for: a connected UDP socket can send at once.
        established(now: now)
    }

    override func resetProtocol() {
        head = 0
        nextMessage = 0
    }

    override func submit(template: Int, body: UnsafeRawBufferPointer, items: Int, planned: UInt64, now: UInt64) -> Bool
    {
        guard available > 0 else { return false }
        let s = (head + inFlight) % capacity
        slots[s] = Slot(
            stream: 0, active: true, items: items, plannedNanos: planned, sentNanos: now, template: template)
        inFlight += 1
        flush(now: now)
        return true
    }

    override func flush(now: UInt64) {
        guard fd >= 0, state == .active else { return }
        var refusedRetries = 0
        while inFlight > 0 {
            let batch = worker.syslogTemplates[slots[head].template]
            let remaining = batch.count - nextMessage
            let sent: Int
            do throws(SystemError) {
                sent = try UDPSocket.send(
                    fd, base: batch.base, offsets: batch.messageOffsets + nextMessage, count: remaining,
                    size: batch.messageSize)
            } catch {
                if error.code == ECONNREFUSED && refusedRetries < 8 {
                    // An ICMP port-unreachable for an earlier datagram (nobody listening); this one was not
                    // sent. Counted and reported once; the lost datagrams show as missing at the receiver.
                    refusedRetries += 1
                    worker.stats.connectFailures += 1
                    worker.reportError(
                        "syslog datagrams to \(worker.config.endpoint) were refused (ICMP port unreachable): is anything listening?"
                    )
                    continue
                }
                fail(error.description, now: now)
                return
            }
            if sent == 0 { return armWrite(true) }
            nextMessage += sent
            if nextMessage == batch.count {
                nextMessage = 0
                let s = head
                head = (head + 1) % capacity
                finish(s, now: now, outcome: .ok(rejected: 0))
            }
        }
        armWrite(false)
    }

    override func readable() {
        // Nothing is expected back; what arrives is a queued ICMP error, which reading consumes.
        guard fd >= 0 else { return }
        for _ in 0..<64 {
            do throws(SystemError) {
                if try TCPSocket.read(fd, worker.readBuffer) < 0 { return }
            } catch {
                if error.code != ECONNREFUSED { return fail(error.description, now: SystemClock.monotonicNanos()) }
                worker.stats.connectFailures += 1
                worker.reportError(
                    "syslog datagrams to \(worker.config.endpoint) were refused (ICMP port unreachable): is anything listening?"
                )
            }
        }
    }
}
