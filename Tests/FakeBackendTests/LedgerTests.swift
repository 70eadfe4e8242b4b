import OTLPWire
import Testing

@testable import FakeBackend

/// The plain answer: every number kept in a set (unbounded memory), for comparison.
struct NaiveLedger {
    var seen = Set<UInt64>()
    var received = 0
    var duplicates = 0
    var highest: UInt64 = 0

    mutating func add(_ start: UInt64, _ count: Int) {
        for s in start..<(start + UInt64(count)) {
            received += 1
            if !seen.insert(s).inserted { duplicates += 1 }
            highest = max(highest, s)
        }
    }

    var missing: Int { Int(highest + 1) - seen.count }
}

@Suite("the loss and duplicate ledger")
struct LedgerTests {
    @Test(
        "random arrivals within the window: received, distinct, missing and duplicates match a set",
        arguments: [256, 1024, 4096])
    func matchesNaive(window: Int) {
        var rng = SplitMix64(seed: UInt64(window))
        let ledger = RunLedger(signal: .logs, runID: 1, windowBits: window)
        var naive = NaiveLedger()
        var next: UInt64 = 0
        for _ in 0..<3000 {
            // Mostly in order, with gaps, repeats and reordering by less than half a window.
            let n = Int(rng.below(20)) + 1
            var start = next
            switch rng.below(10) {
            case 0: start = next > UInt64(window / 4) ? next - UInt64(rng.below(window / 4)) : 0  // repeat / reorder
            case 1: next += UInt64(rng.below(30))  // a gap
            default: break
            }
            if start == next { next += UInt64(n) }
            ledger.add(start: start, count: n)
            naive.add(start, n)
        }
        let t = ledger.current()
        #expect(t.late == 0)
        #expect(t.received == naive.received)
        #expect(t.distinct == naive.seen.count)
        #expect(t.duplicates == naive.duplicates)
        #expect(t.missing == naive.missing)
        #expect(t.highest == naive.highest)
    }

    @Test("memory stays at the window: a long run with a gap settles it as missing")
    func longRun() {
        let ledger = RunLedger(signal: .traces, runID: 2, windowBits: 1024)
        var s: UInt64 = 0
        for i in 0..<10_000 {
            if i == 5000 { s += 77 }  // 77 lost
            ledger.add(start: s, count: 100)
            s += 100
        }
        ledger.add(start: 500, count: 10)  // far behind: late, not a duplicate we can see
        let t = ledger.current()
        #expect(t.received == 1_000_010)
        #expect(t.distinct == 1_000_000)
        #expect(t.missing == 77, "a late arrival does not lower missing (it may be a duplicate)")
        #expect(t.late == 10)
        #expect(ledger.words == 16)
    }

    @Test("a jump of many windows counts the skipped numbers as missing; a range longer than the window is fine")
    func jumps() {
        let ledger = RunLedger(signal: .metrics, runID: 3, windowBits: 256)
        ledger.add(start: 0, count: 10)
        ledger.add(start: 10_000, count: 1000)
        ledger.add(start: 10_990, count: 20)  // 10 repeats at the end of the long range
        let t = ledger.current()
        #expect(t.distinct == 1020)
        #expect(t.missing == 10_000 - 10)
        #expect(t.duplicates == 10)
        #expect(t.highest == 11_009)
    }

    @Test("numbers near 2^64 and jumps across the whole range neither crash nor overflow")
    func extremes() {
        let ledger = RunLedger(signal: .logs, runID: 9, windowBits: 1024)
        ledger.add(start: 5, count: 3)
        ledger.add(start: UInt64.max - 5, count: 100)  // cut at the top: 6 numbers
        ledger.add(start: UInt64.max / 2, count: 10)  // far behind now: late
        ledger.add(start: UInt64.max, count: 1)  // a duplicate at the very top
        let t = ledger.current()
        #expect(t.received == 3 + 6 + 10 + 1)
        #expect(t.late == 10)
        #expect(t.duplicates == 1)
        #expect(t.highest == UInt64.max)
        #expect(t.distinct == 9)
        #expect(t.missing > 1_000_000_000, "a jump of 2^64 is all missing (saturated): \(t.missing)")
    }

    @Test("the ledger thread merges rings from several producers and evicts the oldest run ids")
    func threadAndEviction() throws {
        let ledger = try Ledger(producers: 2, windowBits: 4096, maxRuns: 2)
        try ledger.start()
        defer { ledger.stop() }
        for run in 1...3 {
            for k in 0..<10 {
                let ring = ledger.rings[k % 2]
                #expect(ring.push(SeqRange(runID: UInt64(run), start: UInt64(k * 100), count: 100, signal: 0)))
            }
        }
        #expect(ledger.rings[0].push(SeqRange(runID: 3, start: 0, count: 5, signal: 0)))
        var runs = ledger.snapshot()
        #expect(runs.count == 3)
        #expect(runs.map(\.distinct) == [1000, 1000, 1000])
        #expect(runs.last?.duplicates == 5)
        #expect(runs.allSatisfy { $0.missing == 0 })
        // A fourth run id in a later pass evicts the least recently used one; its totals stay reported.
        #expect(ledger.rings[1].push(SeqRange(runID: 4, start: 0, count: 50, signal: 1)))
        runs = ledger.snapshot()
        #expect(runs.count == 4)
        #expect(runs.map(\.distinct).reduce(0, +) == 3050)
        #expect(ledger.runs.count <= 3)
        ledger.reset()
        #expect(ledger.snapshot().isEmpty)
    }
}
