// Loss and duplicate accounting from the tracking sequence numbers, exact and in bounded memory.
//
// The receiving threads never share a data structure: each turns the sequence numbers of a request
// into runs of consecutive numbers (a generated batch is one run) and pushes them into its own
// single-producer ring. One ledger thread drains the rings into a bitmap window per (signal, run id):
// a bit per sequence number from `base` to `base + window`. When a number beyond the window arrives,
// the window slides and the words leaving it are settled for good: set bits are distinct arrivals,
// clear bits below the highest number seen are missing. Memory is window / 8 bytes per run id, at
// any rate and for any run length. Arrivals more than a window behind the highest number are counted
// as `late` only: whether they are duplicates or fill a gap already settled as missing cannot be told,
// so `missing` is an upper bound when `late` is not zero (make the window larger than the reordering).

import PipeperfBase
import H2Transport
import OTLPWire
import Synchronization

/// A run of consecutive sequence numbers of one run id and signal.
struct SeqRange {
    var runID: UInt64
    var start: UInt64
    var count: UInt32
    var signal: UInt8
}

/// A single-producer, single-consumer ring of sequence ranges (lock-free: one atomic store per push).
final class RangeRing: @unchecked Sendable {
    let capacity: Int
    let mask: Int
    let buffer: UnsafeMutablePointer<SeqRange>
    /// Next slot the consumer reads / the producer writes (monotonic counters).
    let head = Atomic<Int>(0)
    let tail = Atomic<Int>(0)

    /// Rung when the ring reaches a quarter of its capacity, so the consumer drains it early.
    let bell: Doorbell?
    let quarter: Int

    init(capacity: Int, bell: Doorbell? = nil) {
        var c = 1
        while c < capacity { c <<= 1 }
        self.capacity = c
        self.bell = bell
        quarter = Swift.max(1, c / 4)
        mask = c - 1
        buffer = .allocate(capacity: c)
        buffer.initialize(repeating: SeqRange(runID: 0, start: 0, count: 0, signal: 0), count: c)
    }

    deinit { buffer.deallocate() }

    /// Producer: false when the ring is full.
    @inline(__always)
    func push(_ r: SeqRange) -> Bool {
        let t = tail.load(ordering: .relaxed)
        let h = head.load(ordering: .acquiring)
        if t &- h >= capacity { return false }
        buffer[t & mask] = r
        tail.store(t &+ 1, ordering: .releasing)
        if t &+ 1 &- h == quarter { bell?.ring() }
        return true
    }

    /// Ranges queued (approximate when read by the producer).
    var fill: Int { tail.load(ordering: .relaxed) &- head.load(ordering: .relaxed) }

    /// Consumer: hands every queued range to `body`; returns how many.
    func drain(_ body: (SeqRange) -> Void) -> Int {
        let h = head.load(ordering: .relaxed)
        let t = tail.load(ordering: .acquiring)
        var i = h
        while i != t {
            body(buffer[i & mask])
            i &+= 1
        }
        head.store(t, ordering: .releasing)
        return t &- h
    }
}

/// What the ledger knows about one run id of one signal.
public struct RunTotals: Sendable, Equatable {
    public var signal: Signal
    public var runID: UInt64
    /// Tracked items received (duplicates included).
    public var received = 0
    /// Distinct sequence numbers received.
    public var distinct = 0
    /// Sequence numbers below the highest seen that never arrived.
    public var missing = 0
    /// Items whose sequence number had already arrived.
    public var duplicates = 0
    /// Items that arrived more than a window behind the highest sequence number.
    public var late = 0
    /// The highest sequence number seen.
    public var highest: UInt64 = 0
}

/// The bitmap window of one run id.
final class RunLedger {
    var totals: RunTotals
    let words: Int
    var bits: UnsafeMutablePointer<UInt64>
    /// The window's first word: sequence numbers baseWord × 64 ..< (baseWord + words) × 64. Kept in words
    /// so that no arithmetic overflows, whatever numbers arrive off the wire (up to UInt64.max).
    var baseWord: UInt64 = 0
    var seenAny = false
    /// Settled so far (words that left the window).
    var settledDistinct = 0
    var settledMissing = 0
    var lastUse: UInt64 = 0

    init(signal: Signal, runID: UInt64, windowBits: Int) {
        totals = RunTotals(signal: signal, runID: runID)
        // At least two words, so that half a window (the largest step) is whole words.
        words = Swift.max(2, windowBits / 64)
        bits = .allocate(capacity: words)
        bits.initialize(repeating: 0, count: words)
    }

    deinit { bits.deallocate() }

    /// The first sequence number of the window.
    var base: UInt64 { baseWord * 64 }

    @inline(__always)
    func slot(_ word: UInt64) -> Int { Int(word % UInt64(words)) }

    /// Moves the window so that word `last` is its last word, settling the words that leave it.
    func slide(toIncludeWord last: UInt64) {
        let newBaseWord = last - UInt64(words - 1)  // callers guarantee last >= baseWord + words
        let leaving = newBaseWord - baseWord
        let settle = Swift.min(leaving, UInt64(words))
        var w = baseWord
        for _ in 0..<settle {
            let s = slot(w)
            let set = bits[s].nonzeroBitCount
            settledDistinct += set
            settledMissing += 64 - set
            bits[s] = 0
            w += 1
        }
        // Words skipped entirely (a jump of more than a window) never had an arrival (saturating: a jump
        // near 2^64 would not fit in an Int).
        if leaving > settle {
            let skipped = Swift.min(leaving - settle, UInt64(Int.max / 128))
            settledMissing =
                settledMissing.addingReportingOverflow(Int(skipped) * 64).overflow
                ? Int.max : settledMissing + Int(skipped) * 64
        }
        baseWord = newBaseWord
    }

    func add(start: UInt64, count: Int) {
        guard count > 0 else { return }
        // Numbers past UInt64.max do not exist: a range is cut at the top.
        let count = UInt64(count) - 1 > UInt64.max - start ? Int(UInt64.max - start) + 1 : count
        // A range longer than half the window goes in halves, so a slide never passes the range's start.
        let half = words * 32
        if count > half {
            var s = start, n = count
            while n > 0 {
                let take = Swift.min(n, half)
                add(start: s, count: take)
                n -= take
                if n > 0 { s += UInt64(take) }
            }
            return
        }
        totals.received += count
        if !seenAny {
            seenAny = true
            // The first window starts at the word of the first number seen, or at 0 when that is in reach.
            baseWord = start / 64 < UInt64(words / 2) ? 0 : start / 64
        }
        var s = start
        var n = count
        if s / 64 < baseWord {
            // Arrived too late for the window.
            let lateCount = Int(Swift.min(UInt64(n), base - s))
            totals.late += lateCount
            n -= lateCount
            if n == 0 { return }
            s = base
        }
        let last = s + UInt64(n - 1)
        if last / 64 - baseWord >= UInt64(words) { slide(toIncludeWord: last / 64) }
        if last > totals.highest { totals.highest = last }
        // Set the bits word by word, counting the ones already set (duplicates).
        while n > 0 {
            let bit = Int(s % 64)
            let take = Swift.min(n, 64 - bit)
            let mask: UInt64 = take == 64 ? ~0 : ((1 << UInt64(take)) - 1) << UInt64(bit)
            let i = slot(s / 64)
            totals.duplicates += (bits[i] & mask).nonzeroBitCount
            bits[i] |= mask
            n -= take
            if n > 0 { s += UInt64(take) }
        }
    }

    /// Totals including the unsettled window.
    func current() -> RunTotals {
        var t = totals
        var set = 0
        for i in 0..<words { set += bits[i].nonzeroBitCount }
        t.distinct = settledDistinct + set
        // Missing in the window: numbers from base to highest without a bit.
        let inWindow =
            seenAny && totals.highest >= base ? Int(Swift.min(totals.highest - base, UInt64(Int.max - 1))) + 1 : 0
        let open = Swift.max(0, inWindow - set)
        t.missing = settledMissing.addingReportingOverflow(open).overflow ? Int.max : settledMissing + open
        return t
    }
}

/// The ledger thread and the rings that feed it.
public final class Ledger: @unchecked Sendable {
    let rings: [RangeRing]
    let windowBits: Int
    let maxRuns: Int
    /// Consumer state: only the ledger thread touches it.
    var runs: [Key: RunLedger] = [:]
    /// Totals of run ids evicted to keep memory bounded (settled as they were).
    var evicted: [RunTotals] = []
    var tick: UInt64 = 0
    let stopFlag = Atomic<Bool>(false)
    /// Snapshot requests and the published snapshot.
    let requested = Atomic<Int>(0)
    let published = Mutex<(generation: Int, runs: [RunTotals])>((0, []))
    let resetRequested = Atomic<Int>(0)
    var resetsDone = 0
    var thread: pthread_t?
    /// Wakes the ledger thread: requests and filling rings ring it.
    let bell: Doorbell

    struct Key: Hashable {
        var signal: UInt8
        var runID: UInt64
    }

    /// `producers` rings (one per receiving thread), `windowBits` per run id, at most `maxRuns` run ids
    /// tracked with a bitmap at once (the least recently used is settled and evicted beyond that).
    public init(producers: Int, windowBits: Int, maxRuns: Int = 64, ringCapacity: Int = 1 << 18) throws(ThreadError) {
        let bell = try Doorbell()
        self.bell = bell
        rings = (0..<producers).map { _ in RangeRing(capacity: ringCapacity, bell: bell) }
        self.windowBits = windowBits
        self.maxRuns = maxRuns
    }

    /// The longest the ledger thread sleeps when nothing rings its bell.
    static let maxSleepNanos: UInt64 = 1_000_000_000

    public func start() throws {
        thread = try spawnThread { [self] in
            // The thread sleeps on its bell: a status or reset request rings it (and is served at once),
            // so does a producer whose ring reaches a quarter of its capacity. Otherwise it sleeps for as
            // long as the rings take to fill an eighth at the rate just seen, from 1 ms to a second.
            // Nothing reads the ledger between requests, so waking up rarely costs nothing in freshness
            // and is what keeps a lightly loaded backend cheap: at 100 batches/s it drains once a second
            // (a wake-up of an idle CPU costs tens of microseconds on a virtual machine).
            let eighth = rings.map(\.capacity).min().map { $0 / 8 } ?? 1
            var sleep: UInt64 = 1_000_000
            var last = SystemClock.monotonicNanos()
            while !stopFlag.load(ordering: .relaxed) {
                let n = drainOnce()
                serveRequests()
                let now = SystemClock.monotonicNanos()
                let elapsed = Swift.max(now &- last, 1)
                last = now
                sleep =
                    n == 0
                    ? Swift.min(sleep * 2, Self.maxSleepNanos)
                    : Swift.min(Self.maxSleepNanos, Swift.max(1_000_000, elapsed / UInt64(n) * UInt64(eighth)))
                if rings.allSatisfy({ $0.fill < $0.capacity / 4 }) { bell.wait(timeoutNanos: Int64(sleep)) }
            }
        }
    }

    public func stop() {
        stopFlag.store(true, ordering: .relaxed)
        bell.ring()
        if let thread { pthread_join(thread, nil) }
    }

    func drainOnce() -> Int {
        var n = 0
        tick &+= 1
        for r in rings {
            n += r.drain { range in
                let key = Key(signal: range.signal, runID: range.runID)
                let ledger: RunLedger
                if let l = runs[key] {
                    ledger = l
                } else {
                    // Over the limit, the least recently used run id is settled and dropped, unless it was
                    // touched in this pass too (then the limit is exceeded until the next pass).
                    if runs.count >= maxRuns, let oldest = runs.min(by: { $0.value.lastUse < $1.value.lastUse }),
                        oldest.value.lastUse < tick
                    {
                        evicted.append(oldest.value.current())
                        runs[oldest.key] = nil
                    }
                    ledger = RunLedger(
                        signal: Signal.allCases[Int(range.signal)], runID: range.runID, windowBits: windowBits)
                    runs[key] = ledger
                }
                ledger.lastUse = tick
                ledger.add(start: range.start, count: Int(range.count))
            }
        }
        return n
    }

    func serveRequests() {
        let reset = resetRequested.load(ordering: .acquiring)
        if reset != resetsDone {
            _ = drainOnce()
            runs.removeAll()
            evicted.removeAll()
            resetsDone = reset
        }
        let want = requested.load(ordering: .acquiring)
        if want != published.withLock({ $0.generation }) {
            _ = drainOnce()
            // A run id evicted and seen again has two entries: add them up.
            var merged: [Key: RunTotals] = [:]
            for t in evicted + runs.values.map({ $0.current() }) {
                let key = Key(signal: t.signal.index, runID: t.runID)
                if var m = merged[key] {
                    m.received += t.received
                    m.distinct += t.distinct
                    m.missing += t.missing
                    m.duplicates += t.duplicates
                    m.late += t.late
                    m.highest = Swift.max(m.highest, t.highest)
                    merged[key] = m
                } else {
                    merged[key] = t
                }
            }
            let all = Array(merged.values)
            published.withLock { $0 = (want, all) }
        }
    }

    /// The totals per (signal, run id) as of now: everything pushed before the call is included.
    public func snapshot(timeoutNanos: UInt64 = 5_000_000_000) -> [RunTotals] {
        let want = requested.wrappingAdd(1, ordering: .releasing).newValue
        bell.ring()
        let deadline = SystemClock.monotonicNanos() + timeoutNanos
        while SystemClock.monotonicNanos() < deadline {
            let (g, runs) = published.withLock { ($0.generation, $0.runs) }
            if g >= want { return runs.sorted { ($0.signal.rawValue, $0.runID) < ($1.signal.rawValue, $1.runID) } }
            usleep(500)
        }
        return published.withLock { $0.runs }
    }

    /// Drains the rings on the calling thread (single-threaded use: tests and the fuzzer, with no
    /// ledger thread started).
    public func drainNow() -> [RunTotals] {
        _ = drainOnce()
        return evicted + runs.values.map { $0.current() }
    }

    /// Forgets every run id (POST /reset), after settling what is queued.
    public func reset() {
        resetRequested.wrappingAdd(1, ordering: .releasing)
        _ = snapshot()
    }
}

#if canImport(Glibc)
import Glibc
#endif
