// syslog input of the fake backend: TCP (RFC 6587, octet counting or newline framing, detected per
// message) and UDP (RFC 5426, one message per datagram), on per-thread epoll loops like the gRPC side.
// Every message counts as a log record; its tracking fields (docs/tracking.md) feed the same ledger
// and latency histogram as OTLP logs, so a pipeline that turns OTLP into syslog (or back) is measured
// end to end.

import PipeperfBase
import H2Transport
import OTLPWire
import SinkCore
import Synchronization
import SyslogWire

#if canImport(Glibc)
import Glibc
#endif

/// syslog counters.
public final class SyslogCounters: Sendable {
    public let messages = Atomic<Int>(0)
    public let bytes = Atomic<Int>(0)
    /// Broken framing (the connection is closed) or oversized messages.
    public let malformed = Atomic<Int>(0)
    public let connections = Atomic<Int>(0)
    public init() {}

    func reset() {
        messages.store(0, ordering: .relaxed)
        bytes.store(0, ordering: .relaxed)
        malformed.store(0, ordering: .relaxed)
    }
}

/// The running syslog side. Messages also count as received logs (`logs`).
public final class SyslogServer: Sendable {
    public let tcpPort: UInt16
    public let udpPort: UInt16
    let group = ThreadGroup()

    /// Listens on `tcp` and/or `udp` with `threads` threads; thread `i` gets `makePolicy(i)`.
    public init(
        tcp: Endpoint?, udp: Endpoint?, threads n: Int, maxMessageBytes: Int, counters: SyslogCounters,
        logs: SignalCounters,
        makePolicy: @escaping @Sendable (Int) -> CountingPolicy
    ) throws {
        let tcpFDs = try tcp.map { try Listeners.bind($0, count: n) } ?? []
        var udpFDs: [Int32] = []
        if let udp {
            guard case .success(var address) = SocketAddress.resolve(udp) else {
                throw SinkError("cannot resolve \(udp)")
            }
            var bound = udp.port
            for _ in 0..<n {
                if bound != udp.port,
                    case .success(let a) = SocketAddress.resolve(Endpoint(host: udp.host, port: bound))
                {
                    address = a
                }
                do {
                    let fd = try UDPSocket.bind(address, reusePort: n > 1)
                    udpFDs.append(fd)
                    bound = TCPListener.boundPort(fd)
                } catch {
                    for fd in udpFDs + tcpFDs { close(fd) }
                    throw SinkError("cannot bind UDP \(udp): \(error)")
                }
            }
        }
        tcpPort = tcpFDs.first.map { TCPListener.boundPort($0) } ?? 0
        udpPort = udpFDs.first.map { TCPListener.boundPort($0) } ?? 0
        let datagramFDs = udpFDs
        try group.start(n) { i, stopping in
            let listener = i < tcpFDs.count ? tcpFDs[i] : -1
            let datagrams = i < datagramFDs.count ? datagramFDs[i] : -1
            do {
                let w = try SyslogWorker(
                    listener: listener, udp: datagrams, maxMessageBytes: maxMessageBytes, counters: counters,
                    logs: logs,
                    policy: makePolicy(i))
                w.run(until: stopping)
            } catch {
                printError("fake-backend: syslog worker failed: \(error)")
            }
            if listener >= 0 { close(listener) }
            if datagrams >= 0 { close(datagrams) }
        }
    }

    public func stop() { group.stop() }
}

final class SyslogWorker: EventHandler {
    let loop: EventLoop
    let listener: Int32
    var listenerToken = -1
    let maxMessageBytes: Int
    let counters: SyslogCounters
    let logs: SignalCounters
    let policy: CountingPolicy
    lazy var connections = ConnectionTable<SyslogConnection> { [counters] in
        counters.connections.wrappingAdd($0, ordering: .relaxed)
    }
    let readBuffer: UnsafeMutableRawBufferPointer
    var udp: SyslogDatagrams?

    init(
        listener: Int32, udp udpFD: Int32, maxMessageBytes: Int, counters: SyslogCounters, logs: SignalCounters,
        policy: CountingPolicy
    ) throws {
        loop = try EventLoop()
        self.listener = listener
        self.maxMessageBytes = maxMessageBytes
        self.counters = counters
        self.logs = logs
        self.policy = policy
        readBuffer = .allocate(byteCount: Swift.max(256 * 1024, maxMessageBytes + 1), alignment: 16)
        if listener >= 0 { listenerToken = try loop.add(listener, .read, self) }
        if udpFD >= 0 {
            let d = SyslogDatagrams(fd: udpFD, worker: self)
            d.token = try loop.add(udpFD, .read, d)
            udp = d
        }
    }

    deinit { readBuffer.deallocate() }

    func run(until stop: () -> Bool) {
        while !stop() {
            loop.poll(timeoutNanos: 50_000_000)
            policy.tick(now: SystemClock.monotonicNanos())
        }
        connections.closeAll { $0.close() }
        if listener >= 0 { loop.remove(listener, token: listenerToken) }
    }

    func readable() {
        connections.accept(listener) { try SyslogConnection(fd: $0, worker: self) }
    }

    func writable() {}

    func closed(_ c: SyslogConnection) { connections.remove(c) }

    /// Counts one message and reads its tracking fields (between `policy.begin` and `policy.end`).
    @inline(__always)
    func message(_ m: UnsafeRawBufferPointer) {
        let t = SyslogReader.tracking(m)
        if t.seq != nil || t.sentUnixNano != nil {
            policy.item(runID: t.runID, seq: t.seq, sentUnixNano: t.sentUnixNano)
        }
    }

    /// After a burst of `n` messages of `bytes` bytes.
    func counted(_ n: Int, bytes: Int) {
        guard n > 0 else { return }
        counters.messages.wrappingAdd(n, ordering: .relaxed)
        counters.bytes.wrappingAdd(bytes, ordering: .relaxed)
        logs.items.wrappingAdd(n, ordering: .relaxed)
    }
}

/// One syslog TCP connection: bytes accumulate until whole messages can be cut out.
final class SyslogConnection: EventHandler {
    let fd: Int32
    unowned let worker: SyslogWorker
    var token = -1
    let pending = WireBuffer(capacity: 64 * 1024)
    var isClosed = false

    init(fd: Int32, worker: SyslogWorker) throws {
        self.fd = fd
        self.worker = worker
        token = try worker.loop.add(fd, .read, self)
    }

    func readable() {
        let buffer = worker.readBuffer
        while !isClosed {
            let n: Int
            do { n = try TCPSocket.read(fd, buffer) } catch {
                close()
                return
            }
            if n < 0 { break }
            if n == 0 {
                close()
                return
            }
            consume(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            if n < buffer.count { break }
        }
    }

    /// Cuts the messages out of what arrived (after what was pending), keeps the incomplete rest.
    func consume(_ fresh: UnsafeRawBufferPointer) {
        let bytes: UnsafeRawBufferPointer
        if pending.count > 0 {
            pending.append(fresh)
            bytes = pending.withUnsafeBytes { $0 }
        } else {
            bytes = fresh
        }
        var offset = 0
        var messages = 0
        worker.policy.begin(.logs)
        do {
            while let (range, next) = try SyslogReader.nextFrame(bytes, from: offset, limit: worker.maxMessageBytes) {
                worker.message(UnsafeRawBufferPointer(rebasing: bytes[range]))
                messages += 1
                offset = next
            }
        } catch {
            worker.policy.end()
            worker.counted(messages, bytes: offset)
            worker.counters.malformed.wrappingAdd(1, ordering: .relaxed)
            close()
            return
        }
        worker.policy.end()
        worker.counted(messages, bytes: offset)
        // Keep the incomplete tail for the next read.
        if pending.count > 0 {
            pending.removeFirst(offset)
        } else if offset < bytes.count {
            pending.assign(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        }
    }

    func writable() {}

    func close() {
        guard !isClosed else { return }
        isClosed = true
        worker.loop.remove(fd, token: token)
        Glibc.close(fd)
        worker.closed(self)
    }
}

/// The UDP socket of a thread: one message per datagram.
final class SyslogDatagrams: EventHandler {
    let fd: Int32
    unowned let worker: SyslogWorker
    var token = -1

    init(fd: Int32, worker: SyslogWorker) {
        self.fd = fd
        self.worker = worker
    }

    func readable() {
        let buffer = worker.readBuffer
        var messages = 0
        var bytes = 0
        worker.policy.begin(.logs)
        for _ in 0..<4096 {
            let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if n < 0 { break }
            var m = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            // A trailing line feed is not part of the message (some senders add one).
            if let last = m.last, last == 10 { m = UnsafeRawBufferPointer(rebasing: m.dropLast()) }
            if m.isEmpty { continue }
            worker.message(m)
            messages += 1
            bytes += n
        }
        worker.policy.end()
        worker.counted(messages, bytes: bytes)
    }

    func writable() {}
}
