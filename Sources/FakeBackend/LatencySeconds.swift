// Per-second end-to-end latency: each receiving thread fills a small histogram pair (corrected and
// uncorrected, two significant digits) for the second its items arrive in and hands it over once the
// second is over — at its next export in a later second or at its next loop turn (at most 50 ms
// later), one lock per thread per second, never per record. The board merges the threads' histograms
// of a second and, once every thread has had its turn, keeps that second's percentiles; the last 600
// seconds are kept. The orchestrator's status reader asks for the seconds after the last one it has
// (`/status?seconds_after=T`), so the run folder holds every second and the report draws p99 over time.

import Histogram
import Synchronization

/// One thread's (or the merged) histograms of one arrival second, in microseconds.
struct SecondHistograms: Sendable {
    /// Unix second the items arrived in.
    var second: UInt64 = 0
    var latency = SecondHistograms.empty()
    var uncorrected = SecondHistograms.empty()

    static func empty() -> Histogram<UInt64> {
        // Up to an hour, 1 % resolution: 26 KB, zeroed once a second.
        Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)
    }

    var isEmpty: Bool { uncorrected.totalCount == 0 }

    mutating func clear(second s: UInt64) {
        second = s
        latency.reset()
        uncorrected.reset()
    }
}

/// Percentiles of one histogram, in microseconds.
public struct LatencyPercentiles: Sendable, Equatable {
    public var count: UInt64 = 0
    public var p50: UInt64 = 0
    public var p90: UInt64 = 0
    public var p99: UInt64 = 0
    public var p99_9: UInt64 = 0
    public var max: UInt64 = 0

    init(_ h: Histogram<UInt64>) {
        count = h.totalCount
        guard count > 0 else { return }
        p50 = h.valueAtPercentile(50)
        p90 = h.valueAtPercentile(90)
        p99 = h.valueAtPercentile(99)
        p99_9 = h.valueAtPercentile(99.9)
        max = h.max
    }
}

/// One finished second.
public struct SecondSummary: Sendable, Equatable {
    /// Unix second of arrival.
    public var second: UInt64
    /// From the intended send time (empty when the items carry none).
    public var latency: LatencyPercentiles
    /// From the actual send time.
    public var uncorrected: LatencyPercentiles
}

/// The seconds the receiving threads handed over, merged.
public final class LatencySeconds: Sendable {
    /// Finished seconds kept for readers.
    public static let kept = 600
    /// A second is final this long after it ends (threads hand theirs over within 50 ms).
    static let settleNanos: UInt64 = 300_000_000

    struct State {
        var pending: [SecondHistograms] = []
        var done: [SecondSummary] = []
    }
    let state = Mutex(State())

    public init() {}

    /// Adds one thread's histograms of a finished second.
    func publish(_ h: SecondHistograms, nowUnixNanos: UInt64) {
        state.withLock { s in
            if let i = s.pending.firstIndex(where: { $0.second == h.second }) {
                s.pending[i].latency.add(h.latency)
                s.pending[i].uncorrected.add(h.uncorrected)
            } else if s.done.last.map({ h.second > $0.second }) ?? true {
                s.pending.append(h)
            }
            // (A second already finished gets nothing more: a thread that late was starved of CPU.)
            Self.settle(&s, nowUnixNanos)
        }
    }

    /// The finished seconds after unix second `after` (0: the most recent), at most `limit`, oldest first.
    public func seconds(after: UInt64, nowUnixNanos: UInt64, limit: Int = 120) -> [SecondSummary] {
        state.withLock { s in
            Self.settle(&s, nowUnixNanos)
            let newer = s.done.reversed().prefix { $0.second > after }.prefix(limit)
            return newer.reversed()
        }
    }

    public func reset() { state.withLock { $0 = State() } }

    static func settle(_ s: inout State, _ now: UInt64) {
        guard s.pending.contains(where: { ($0.second + 1) * 1_000_000_000 + settleNanos <= now }) else { return }
        s.pending.sort { $0.second < $1.second }
        while let first = s.pending.first, (first.second + 1) * 1_000_000_000 + settleNanos <= now {
            s.pending.removeFirst()
            s.done.append(
                SecondSummary(
                    second: first.second, latency: LatencyPercentiles(first.latency),
                    uncorrected: LatencyPercentiles(first.uncorrected)))
        }
        if s.done.count > 2 * kept { s.done.removeFirst(s.done.count - kept) }
    }
}
