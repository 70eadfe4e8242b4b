// The fake backend's handling of one export, on the receiving thread: gunzip if needed, count the
// items with the OTLPWire scanner, read the tracking attributes (sequence runs go to the ledger, send
// and intended send times to the latency histograms), then apply the faults. No lock and no allocation per request.

import PipeperfBase
import H2Transport
import Histogram
import OTLPGzip
import OTLPWire
import SinkCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A receiving thread's end-to-end latency histograms (microseconds): from each item's intended send
/// time (`latency`, corrected for coordinated omission) and from its actual send time (`uncorrected`),
/// over the backend's life and over the measurement window (between a window start and stop).
public struct LatencySet: Sendable {
    public var latency = LatencySet.empty()
    public var uncorrected = LatencySet.empty()
    public var windowLatency = LatencySet.empty()
    public var windowUncorrected = LatencySet.empty()
    /// Whether a window is open (arrivals also go into the window histograms).
    public var windowOpen = false

    static func empty() -> Histogram<UInt64> {
        // Microseconds, up to an hour, 3 significant digits.
        Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    }

    mutating func add(_ o: LatencySet) {
        latency.add(o.latency)
        uncorrected.add(o.uncorrected)
        windowLatency.add(o.windowLatency)
        windowUncorrected.add(o.windowUncorrected)
        windowOpen = windowOpen || o.windowOpen
    }

    /// Records `count` items that arrived `micros` after they were sent and `dueMicros` after they were
    /// due (nil when the items carry no intended send time).
    @inline(__always)
    mutating func record(micros: UInt64, dueMicros: UInt64?, count: UInt64) {
        _ = uncorrected.record(micros, count: count)
        if let d = dueMicros { _ = latency.record(d, count: count) }
        if windowOpen {
            _ = windowUncorrected.record(micros, count: count)
            if let d = dueMicros { _ = windowLatency.record(d, count: count) }
        }
    }
}

/// End-to-end latency histograms of the receiving threads, merged when someone asks.
public final class LatencyBoard: Sendable {
    let requested = Atomic<Int>(0)
    let resets = Atomic<Int>(0)
    let windowStarts = Atomic<Int>(0)
    let windowStops = Atomic<Int>(0)
    /// Per-second percentiles (the report's latency over time).
    public let seconds = LatencySeconds()
    /// One thread's published histograms.
    final class Slot: Sendable {
        /// A policy publishes here (slots of transports that are off stay inactive and are not waited for).
        let active = Atomic<Bool>(false)
        let state = Mutex<(generation: Int, set: LatencySet)>((0, LatencySet()))
        func withLock<R>(_ body: (inout (generation: Int, set: LatencySet)) -> R) -> R {
            state.withLock { body(&$0) }
        }
    }
    let slots: [Slot]

    public init(threads: Int) {
        slots = (0..<threads).map { _ in Slot() }
    }

    /// The merged histograms as of now; threads publish within their next loop turn (after applying any
    /// window start or stop asked before the call).
    public func snapshot(timeoutNanos: UInt64 = 2_000_000_000) -> LatencySet {
        let want = requested.wrappingAdd(1, ordering: .releasing).newValue
        let deadline = SystemClock.monotonicNanos() + timeoutNanos
        var merged = LatencySet()
        var pending = Set(slots.indices.filter { slots[$0].active.load(ordering: .acquiring) })
        while !pending.isEmpty && SystemClock.monotonicNanos() < deadline {
            for i in pending where slots[i].withLock({ $0.generation >= want }) {
                slots[i].withLock { merged.add($0.set) }
                pending.remove(i)
            }
            if !pending.isEmpty { usleep(500) }
        }
        return merged
    }

    public func reset() {
        resets.wrappingAdd(1, ordering: .releasing)
        seconds.reset()
    }

    /// Opens a measurement window: the window histograms start empty and take every later arrival.
    public func startWindow() { windowStarts.wrappingAdd(1, ordering: .releasing) }

    /// Closes the window: its histograms keep what arrived while it was open.
    public func stopWindow() { windowStops.wrappingAdd(1, ordering: .releasing) }
}

/// The fake backend's per-thread policy.
public final class CountingPolicy: ExportPolicy {
    let counters: SinkCounters
    let ring: RangeRing
    let board: LatencyBoard
    let slot: Int
    var faults: FaultDecider
    let gunzip: GzipDecompressor?
    let inflated = WireBuffer(capacity: 1 << 20)
    let maxInflatedBytes: Int
    var latency = LatencySet()
    /// This thread's histograms of the current arrival second.
    var second = SecondHistograms()
    var seenRequest = 0
    var seenReset = 0
    var seenWindowStart = 0
    var seenWindowStop = 0

    // The tracking visitor's state for the current request.
    var signalIndex: UInt8 = 0
    var runID: UInt64 = 0
    var rangeStart: UInt64 = 0
    var rangeCount: UInt32 = 0
    var nowUnixNanos: UInt64 = 0
    var lastSent: UInt64 = 0
    /// The intended send time of the current run of items (0: they carry none).
    var lastIntended: UInt64 = 0
    var sentCount = 0

    public init(
        slot: Int, counters: SinkCounters, ledger: Ledger, board: LatencyBoard, faults: FaultState,
        maxInflatedBytes: Int
    ) {
        self.slot = slot
        self.counters = counters
        ring = ledger.rings[slot]
        self.board = board
        board.slots[slot].active.store(true, ordering: .releasing)
        self.faults = FaultDecider(state: faults, seed: 0x5EED &+ UInt64(slot))
        gunzip = try? GzipDecompressor()
        self.maxInflatedBytes = maxInflatedBytes
    }

    public var needsMessage: Bool { true }

    public func handle(_ request: ExportRequestInfo) -> ExportReply {
        let c = counters.forSignal(request.signal)
        // An injected error refuses the request before it is read: its items are not received.
        if let refusal = faults.error(now: SystemClock.monotonicNanos()) {
            c.injectedErrors.wrappingAdd(1, ordering: .relaxed)
            return refusal
        }
        guard var message = request.message else { return .success }
        if request.gzip {
            guard let gunzip else { return malformed(c, "gzip is not available") }
            inflated.removeAll()
            do { _ = try gunzip.decompress(message, appendingTo: inflated, limit: maxInflatedBytes) } catch {
                return malformed(c, "cannot gunzip the message: \(error)")
            }
            message = inflated.withUnsafeBytes { $0 }
        }
        begin(request.signal)
        var visitor = Visitor(policy: self)
        let counts: ScanCounts
        do { counts = try OTLPScanner.scan(request.signal, message, visitor: &visitor) } catch {
            end()
            return malformed(c, "cannot decode the \(request.signal.rawValue) export request: \(error)")
        }
        end()
        c.items.wrappingAdd(counts.items, ordering: .relaxed)
        let reply = faults.success(items: counts.items)
        if case .ok(let rejected) = reply.kind, rejected > 0 { c.rejected.wrappingAdd(rejected, ordering: .relaxed) }
        return reply
    }

    func malformed(_ c: SignalCounters, _ message: String) -> ExportReply {
        c.malformed.wrappingAdd(1, ordering: .relaxed)
        return ExportReply(
            kind: .error(
                grpcCode: GRPCStatusCode.invalidArgument.rawValue, httpStatus: GRPCStatusCode.invalidArgument.httpStatus
            ), message: message)
    }

    /// Starts reading the items of one request (or a burst of syslog messages) of `signal`.
    @inline(__always)
    func begin(_ signal: Signal) {
        signalIndex = signal.index
        rangeCount = 0
        sentCount = 0
        nowUnixNanos = SystemClock.unixNanos()
    }

    /// Hands what the items carried to the ledger and the latency histogram.
    @inline(__always)
    func end() {
        flushRange()
        flushLatency()
    }

    /// Called for every item that carries tracking fields.
    @inline(__always)
    func item(runID id: UInt64?, seq: UInt64?, sentUnixNano: UInt64?, intendedUnixNano: UInt64? = nil) {
        if let seq {
            let id = id ?? 0
            // Extend the run only without wrapping past UInt64.max (a number off the wire can be anything).
            if rangeCount > 0 && id == runID && seq != 0 && seq == rangeStart &+ UInt64(rangeCount)
                && rangeCount < UInt32.max
            {
                rangeCount += 1
            } else {
                flushRange()
                runID = id
                rangeStart = seq
                rangeCount = 1
            }
        }
        if let sent = sentUnixNano {
            // Items of a batch share both times: one histogram update per batch, not per item.
            let due = intendedUnixNano ?? 0
            if sentCount > 0 && sent == lastSent && due == lastIntended {
                sentCount += 1
            } else {
                flushLatency()
                lastSent = sent
                lastIntended = due
                sentCount = 1
            }
        }
    }

    func flushRange() {
        guard rangeCount > 0 else { return }
        let r = SeqRange(runID: runID, start: rangeStart, count: rangeCount, signal: signalIndex)
        // The ledger thread drains far faster than requests arrive; a full ring means it is starved
        // of CPU, so wait for it rather than lose numbers.
        while !ring.push(r) { sched_yield() }
        rangeCount = 0
    }

    func flushLatency() {
        guard sentCount > 0 else { return }
        // A send time in the future (clocks apart) counts as zero latency.
        let micros = nowUnixNanos > lastSent ? (nowUnixNanos - lastSent) / 1000 : 0
        let due: UInt64? =
            lastIntended == 0
            ? nil : Swift.min(nowUnixNanos > lastIntended ? (nowUnixNanos - lastIntended) / 1000 : 0, 3_600_000_000)
        let clamped = Swift.min(micros, 3_600_000_000)
        latency.record(micros: clamped, dueMicros: due, count: UInt64(sentCount))
        let arrival = nowUnixNanos / 1_000_000_000
        if arrival != second.second { handOverSecond(next: arrival) }
        _ = second.uncorrected.record(clamped, count: UInt64(sentCount))
        if let due { _ = second.latency.record(due, count: UInt64(sentCount)) }
        sentCount = 0
    }

    /// Hands the finished second's histograms to the board (once a second at most) and starts `next`.
    func handOverSecond(next: UInt64) {
        if !second.isEmpty { board.seconds.publish(second, nowUnixNanos: SystemClock.unixNanos()) }
        second.clear(second: next)
    }

    public func slowReadBytesPerSecond() -> Int {
        faults.refresh()
        return faults.config.slowReadBytesPerSecond
    }

    public func refusingConnections(now: UInt64) -> Bool {
        faults.refresh()
        return faults.config.outageRefuses && faults.config.inOutage(now)
    }

    public func tick(now: UInt64) {
        // The request first: a reset or window change asked before it is then seen below, so the
        // published histograms reflect it.
        let want = board.requested.load(ordering: .acquiring)
        let r = board.resets.load(ordering: .acquiring)
        if r != seenReset {
            seenReset = r
            latency = LatencySet()
            second.clear(second: 0)
        }
        if !second.isEmpty {
            let nowSecond = SystemClock.unixNanos() / 1_000_000_000
            if nowSecond > second.second { handOverSecond(next: nowSecond) }
        }
        let ws = board.windowStarts.load(ordering: .acquiring)
        if ws != seenWindowStart {
            seenWindowStart = ws
            latency.windowLatency.reset()
            latency.windowUncorrected.reset()
            latency.windowOpen = true
        }
        let we = board.windowStops.load(ordering: .acquiring)
        if we != seenWindowStop {
            seenWindowStop = we
            latency.windowOpen = false
        }
        if want != seenRequest {
            seenRequest = want
            let copy = latency
            board.slots[slot].withLock { $0 = (want, copy) }
        }
    }

    struct Visitor: TrackingVisitor {
        unowned let policy: CountingPolicy
        @inline(__always)
        mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?) {
            policy.item(runID: runID, seq: seq, sentUnixNano: sentUnixNano)
        }
        @inline(__always)
        mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?, intendedUnixNano: UInt64?) {
            policy.item(runID: runID, seq: seq, sentUnixNano: sentUnixNano, intendedUnixNano: intendedUnixNano)
        }
    }
}

extension Signal {
    /// Position in `Signal.allCases` (logs 0, traces 1, metrics 2).
    var index: UInt8 {
        switch self {
        case .logs: return 0
        case .traces: return 1
        case .metrics: return 2
        }
    }
}
