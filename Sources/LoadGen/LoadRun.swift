// A whole load run: resolves the endpoint, starts one worker thread per --threads, prints progress,
// and merges the workers' stats into the summary.

import PipeperfBase
import AdminHTTP
import H2Transport
import Histogram
import OTLPWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The outcome of a run, as printed and as written to --summary-json.
public struct LoadSummary: Sendable {
    public var config: LoadConfig
    public var stats: WorkerStats
    public var durationSeconds: Double
    public var cpuSeconds: Double
    public var interrupted: Bool

    public var achievedRate: Double { durationSeconds > 0 ? Double(stats.sent) / durationSeconds : 0 }

    func ms(_ us: UInt64) -> Double { Double(us) / 1000 }

    /// Failed items by status name (`UNAVAILABLE`, `HTTP_503`, `CONNECTION_LOST`, ...), in a stable order.
    var failuresByStatus: [(String, Int)] {
        var out: [(String, Int)] = []
        for kind in FailureKind.allCases where stats.failed[kind.rawValue] > 0 {
            if kind == .httpError {
                for (status, n) in stats.httpStatuses.sorted(by: { $0.key < $1.key }) {
                    out.append(("HTTP_\(status)", n))
                }
            } else {
                out.append((kind.name, stats.failed[kind.rawValue]))
            }
        }
        return out
    }

    /// The summary as JSON (documented in docs/loadgen.md).
    public var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.field("signal", config.shape.signal.rawValue)
        w.field("protocol", config.protocolName)
        w.field("endpoint", config.endpoint.description)
        w.field("run_id", config.runID.description)
        switch config.rate {
        case .max: w.field("target_rate", "max")
        case .perSecond(let r): w.field("target_rate", r, decimals: 1)
        }
        w.field("achieved_rate", achievedRate, decimals: 1)
        w.field("duration_s", durationSeconds, decimals: 3)
        w.field("planned", stats.plannedItems)
        w.field("unsent", stats.unsent)
        w.field("stopped", stats.stopped)
        w.field("sent", stats.sent)
        w.field("acked", stats.acked)
        w.field("failed", stats.failedTotal)
        w.beginObject("failed_by_status")
        for (name, n) in failuresByStatus { w.field(name, n) }
        w.endObject()
        w.field("rejected", stats.rejected)
        w.field("batches", stats.batches)
        w.field("batch_size", config.shape.batchSize)
        w.field("bytes_wire", stats.bytesWire)
        w.field("bytes_uncompressed", stats.bytesUncompressed)
        w.field("late_batches", stats.lateBatches)
        w.beginObject("send_lag_ms")
        histogram(&w, stats.sendLag)
        w.endObject()
        w.beginObject("rpc_latency_ms")
        histogram(&w, stats.latency)
        w.beginObject("uncorrected")
        histogram(&w, stats.latencyUncorrected)
        w.endObject()
        w.endObject()
        w.field("cpu_seconds", cpuSeconds, decimals: 3)
        w.field("threads", config.threads)
        w.field("connections", config.connections)
        w.field("max_in_flight", config.maxInFlight)
        w.field("connect_failures", stats.connectFailures)
        w.field("reconnects", stats.reconnects)
        w.field("goaways", stats.goaways)
        w.field("replies_read_parked", stats.repliesReadParked)
        if let e = stats.firstError { w.field("first_error", e) } else { w.fieldNull("first_error") }
        if let e = stats.firstGRPCMessage {
            w.field("first_grpc_message", e)
        } else {
            w.fieldNull("first_grpc_message")
        }
        w.field("interrupted", interrupted)
        w.field("debug_build", isDebugBuild)
        w.endObject()
        return w.text + "\n"
    }

    func histogram(_ w: inout JSONWriter, _ h: Histogram<UInt64>) {
        let empty = h.totalCount == 0
        w.field("p50", empty ? 0 : ms(h.valueAtPercentile(50)))
        w.field("p90", empty ? 0 : ms(h.valueAtPercentile(90)))
        w.field("p99", empty ? 0 : ms(h.valueAtPercentile(99)))
        w.field("max", empty ? 0 : ms(h.max))
        w.field("count", Int(h.totalCount))
    }

    /// The final human summary.
    public var text: String {
        var s =
            "loadgen: \(config.shape.signal.rawValue) over \(config.protocolName) to \(config.endpoint), target \(config.rate)/s, "
        s += "achieved \(formatRate(achievedRate))/s over \(fixed(durationSeconds, 2)) s\n"
        s += "  sent \(stats.sent), acked \(stats.acked), failed \(stats.failedTotal), rejected \(stats.rejected)"
        s += " in \(stats.batches) batches of \(config.shape.batchSize)\n"
        if stats.failedTotal > 0 {
            s += "  failures: " + failuresByStatus.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "\n"
        }
        let l = stats.latency, u = stats.latencyUncorrected
        if l.totalCount > 0 {
            s +=
                "  rpc latency ms (from planned send): p50 \(fixed(ms(l.valueAtPercentile(50)), 2)) p99 \(fixed(ms(l.valueAtPercentile(99)), 2)) max \(fixed(ms(l.max), 2))"
            s +=
                "; uncorrected p50 \(fixed(ms(u.valueAtPercentile(50)), 2)) p99 \(fixed(ms(u.valueAtPercentile(99)), 2))\n"
        }
        s +=
            "  late batches \(stats.lateBatches) (send lag p99 \(fixed(ms(stats.sendLag.valueAtPercentile(99)), 2)) ms), "
        s += "wire \(stats.bytesWire) bytes, cpu \(fixed(cpuSeconds, 2)) s"
        if stats.connectFailures > 0 { s += ", connect failures \(stats.connectFailures)" }
        if stats.unsent > 0 {
            s +=
                "\n  unsent: \(stats.unsent) planned items were never sent (no free stream or connection before the end)"
        }
        if let e = stats.firstError { s += "\n  first error: \(e)" }
        if let e = stats.firstGRPCMessage { s += "\n  first grpc-message: \(e)" }
        if interrupted { s += "\n  interrupted: the run was stopped before its end" }
        return s
    }
}

#if DEBUG
public let isDebugBuild = true
#else
public let isDebugBuild = false
#endif

/// Runs the load described by `config`.
public final class LoadRun: Sendable {
    public let config: LoadConfig
    public let live = LiveCounters()

    public init(config: LoadConfig) { self.config = config }

    /// Runs to completion (or until `stop` is set) and returns the summary. `progress` is called about
    /// once a second on the calling thread.
    public func run(progress: ((Double) -> Void)? = nil) throws -> LoadSummary {
        let address: SocketAddress
        switch SocketAddress.resolve(config.endpoint) {
        case .success(let a): address = a
        case .failure(let e): throw e
        }
        let cpu0 = processCPUSeconds()
        let start = SystemClock.monotonicNanos()
        let startUnix = SystemClock.unixNanos()
        let n = config.threads
        let results = Mutex<[WorkerStats?]>(Array(repeating: nil, count: n))
        let failures = Mutex<[String]>([])
        var threads: [pthread_t] = []
        // Each worker rings it when it ends; this thread sleeps on it (and wakes once a second for the
        // progress line) instead of polling.
        let finished = try Doorbell()
        for i in 0..<n {
            let cfg = config, live = live
            let t = try spawnThread {
                defer { finished.ring() }
                do {
                    let w = try Worker(
                        index: i, workers: n, config: cfg, live: live, address: address, startNanos: start,
                        startUnixNanos: startUnix)
                    w.run()
                    let s = w.stats
                    results.withLock { $0[i] = s }
                } catch {
                    failures.withLock { $0.append("worker \(i): \(error)") }
                }
            }
            threads.append(t)
        }
        var remaining = n
        var lastProgress = start
        while remaining > 0 {
            let next = lastProgress + 1_000_000_000
            let now0 = SystemClock.monotonicNanos()
            finished.wait(timeoutNanos: next > now0 ? Int64(next - now0) : 0)
            remaining = results.withLock { r in r.filter { $0 == nil }.count } - failures.withLock { $0.count }
            let now = SystemClock.monotonicNanos()
            // The next wait runs to a second after this one (with or without a progress line: never 0).
            if now - lastProgress >= 1_000_000_000 {
                lastProgress = now
                progress?(Double(now - start) / 1e9)
            }
        }
        for t in threads { pthread_join(t, nil) }
        if let f = failures.withLock({ $0.first }) { throw LoadError(message: f) }
        var merged = WorkerStats()
        for s in results.withLock({ $0 }) { if let s { merged.merge(s) } }
        let end = merged.lastSendNanos > 0 ? merged.lastSendNanos : SystemClock.monotonicNanos()
        var duration = Double(end - start) / 1e9
        if let d = config.durationNanos, !live.stop.load(ordering: .relaxed) {
            // The sending window is the planned duration unless sending ran past it.
            duration = Swift.max(duration, Double(d) / 1e9)
        } else if let interval = config.batchIntervalNanos, merged.batches > 0, !live.stop.load(ordering: .relaxed) {
            // --count with a rate: the window spans the batches' planned times.
            duration = Swift.max(duration, Double(merged.batches) * interval / 1e9)
        }
        return LoadSummary(
            config: config, stats: merged, durationSeconds: duration, cpuSeconds: processCPUSeconds() - cpu0,
            interrupted: live.stop.load(ordering: .relaxed))
    }
}

/// A load run that could not start.
public struct LoadError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
