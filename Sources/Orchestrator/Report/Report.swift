// The report of a run: a pure function of the run folder's records. Per test: the measurement window
// (between the test's observation_start and observation_stop events), throughput sent / acked /
// received over that window and in total, dropped %, the fake backend's missing and duplicates,
// end-to-end latency, bytes per item, load-generator lateness and validity, and per component CPU and
// memory from the `process` monitor's samples in the window. Documented in docs/reports.md.

import PipeperfBase
import AdminHTTP

public struct ThroughputReport: Sendable {
    public var signal = "logs"
    public var targetPerSecond: Double? = nil
    public var sentPerSecond = 0.0
    public var ackedPerSecond = 0.0
    public var receivedPerSecond: Double? = nil
    public var sent = 0
    public var acked = 0
    public var failed = 0
    public var received: Int? = nil
    public var droppedPct: Double? = nil
    public var missing: Int? = nil
    public var duplicates: Int? = nil
    public var bytesPerItem: Double? = nil
    public var lateBatches = 0
    public var achievedRate = 0.0
    /// Sent but neither acked, failed nor rejected when the load stopped (still in flight; not loss).
    public var inFlight = 0
}

public struct ComponentReport: Sendable {
    public var name: String
    public var cpuCoresAvg: Double
    public var cpuCoresP95: Double
    public var cpuCoresMax: Double
    public var rssBytesAvg: Double
    public var rssBytesMax: Double
    public var cpuPer100kPerSecond: Double?
    public var samples: Int
    /// Where the figures come from: `process` (procfs) or `docker` (the engine's container stats).
    public var source = "process"
    /// From `docker` samples: network bytes per second and CPU time lost to the CPU limit in the window.
    public var netRxBytesPerSecond: Double? = nil
    public var netTxBytesPerSecond: Double? = nil
    public var throttledSeconds: Double? = nil
}

public struct AssertionResult: Sendable {
    public var expression: String
    public var passed: Bool
    public var value: Double?
    public var message: String
}

public struct TestReport: Sendable {
    public var name: String
    public var status: String
    public var error: String?
    public var windowSeconds: Double
    public var windowComplete: Bool
    public var throughput: ThroughputReport?
    public var latencyMs: [(String, Double)] = []
    public var components: [ComponentReport] = []
    public var invalidReasons: [String] = []
    public var assertions: [AssertionResult] = []
    /// The test's phases from the timeline (seconds from the test's start): warm-up (load started →
    /// observation_start), measure (the window), drain (observation_stop → the load's stop and the end).
    public var phases: [(String, Double, Double)] = []
    /// Samples taken in each phase.
    public var samplesPerPhase: [(String, Int)] = []
}

public struct RunReport: Sendable {
    public static let schemaVersion = 1
    public var suite: String
    public var status: String
    public var folder: String
    public var environment: [(String, String)]
    public var tests: [TestReport]
    /// The sampler's own CPU time and sample count (its cost).
    public var samplerCPUSeconds: Double?
    public var samplerSamples: Int?
}

public enum ReportBuilder {
    /// Computes the report of the run folder's records.
    public static func build(_ r: RunRecords) -> RunReport {
        var env: [(String, String)] = []
        if case .object(let o)? = r.meta["environment"] {
            for k in o.keys.sorted() { env.append((k, o[k]?.string ?? o[k]?.number.map { String($0) } ?? "")) }
        }
        var tests: [TestReport] = []
        let assertionsByTest = r.meta["assertions"]
        for t in r.status["tests"]?.array ?? [] {
            guard let name = t["name"]?.string else { continue }
            var report = test(name, status: t["status"]?.string ?? "unknown", error: t["error"]?.string, r)
            let exprs = (assertionsByTest?[name]?.array ?? []).compactMap(\.string)
            if !exprs.isEmpty {
                report.assertions = exprs.map { evaluate($0, in: flatten(report)) }
                if report.status == "passed" && report.assertions.contains(where: { !$0.passed }) {
                    report.status = "failed"
                }
            }
            tests.append(report)
        }
        let sampler = r.samples.last { $0["source"]?.string == "sampler" }
        var status = r.status["status"]?.string ?? "unknown"
        if status == "passed" && tests.contains(where: { $0.status == "failed" }) { status = "failed" }
        return RunReport(
            suite: r.status["suite"]?.string ?? "", status: status, folder: r.folder, environment: env, tests: tests,
            samplerCPUSeconds: sampler?["cpu_s"]?.number, samplerSamples: sampler?["samples"]?.number.map { Int($0) })
    }

    static func eventTime(_ e: JSON) -> Double { (e["time_unix_nano"]?.number ?? 0) / 1e9 }

    static func test(_ name: String, status: String, error: String?, _ r: RunRecords) -> TestReport {
        let events = r.events.filter { $0["test"]?.string == name }
        let start = events.first { $0["name"]?.string == "observation_start" }.map(eventTime)
        let stop = events.last { $0["name"]?.string == "observation_stop" }.map(eventTime)
        let lastEvent = events.last.map(eventTime)
        let windowStart = start ?? events.first.map(eventTime) ?? 0
        let windowEnd = stop ?? lastEvent ?? windowStart
        var report = TestReport(
            name: name, status: status, error: error, windowSeconds: Swift.max(0, windowEnd - windowStart),
            windowComplete: start != nil && stop != nil)
        // Phases: warm-up from the load's start to the window, the window, then drain to the test's end.
        let testStart = events.first.map(eventTime) ?? windowStart
        let loadStart = events.first { $0["name"]?.string == "load_started" }.map(eventTime) ?? testStart
        let testEnd = lastEvent ?? windowEnd
        if start != nil {
            report.phases = [
                ("warmup", loadStart - testStart, windowStart - testStart),
                ("measure", windowStart - testStart, windowEnd - testStart),
                ("drain", windowEnd - testStart, testEnd - testStart),
            ]
            let tagged = r.samples.filter { $0["source"]?.string != "sampler" }.compactMap { s -> String? in
                let t = (s["t"]?.number ?? 0) / 1e9
                if t >= loadStart && t < windowStart { return "warmup" }
                if t >= windowStart && t <= windowEnd { return "measure" }
                if t > windowEnd && t <= testEnd { return "drain" }
                return nil
            }
            report.samplesPerPhase = ["warmup", "measure", "drain"].map { p in (p, tagged.filter { $0 == p }.count) }
        }
        let files = r.testFiles[safeName(name)] ?? [:]
        let loadFile = files.keys.sorted().first { $0.hasSuffix(".loadgen.json") }
        let snapshot = files.keys.sorted().compactMap { k -> (String, JSON)? in
            guard k.hasSuffix(".snapshot"), let j = files[k], j["logs"] != nil || j["traces"] != nil else { return nil }
            return (String(k.dropLast(9)), j)
        }.first
        // Component samples within the window (a small margin for the edges).
        func inWindow(_ s: JSON) -> Bool {
            let t = (s["t"]?.number ?? 0) / 1e9
            return t >= windowStart - 0.25 && t <= windowEnd + 0.25
        }
        let windowSamples = r.samples.filter(inWindow)

        if let lf = loadFile, let load = files[lf] {
            let loadName = String(lf.dropLast(".loadgen.json".count))
            var tp = ThroughputReport()
            tp.signal = load["signal"]?.string ?? "logs"
            tp.targetPerSecond = load["target_rate"]?.number
            tp.sent = Int(load["sent"]?.number ?? 0)
            tp.acked = Int(load["acked"]?.number ?? 0)
            tp.failed = Int(load["failed"]?.number ?? 0)
            tp.lateBatches = Int(load["late_batches"]?.number ?? 0)
            tp.achievedRate = load["achieved_rate"]?.number ?? 0
            tp.inFlight = Swift.max(0, tp.sent - tp.acked - tp.failed - Int(load["rejected"]?.number ?? 0))
            if tp.sent > 0, let wire = load["bytes_wire"]?.number { tp.bytesPerItem = wire / Double(tp.sent) }
            let duration = load["duration_s"]?.number ?? 0
            // Windowed rates from the load generator's live /status samples; totals over its run otherwise.
            let loadSamples = windowSamples.filter {
                $0["component"]?.string == loadName && $0["source"]?.string == "component"
            }
            if let rate = windowRate(loadSamples, "status.sent") {
                tp.sentPerSecond = rate
            } else if duration > 0 {
                tp.sentPerSecond = Double(tp.sent) / duration
            }
            if let rate = windowRate(loadSamples, "status.acked") {
                tp.ackedPerSecond = rate
            } else if duration > 0 {
                tp.ackedPerSecond = Double(tp.acked) / duration
            }
            if let (backend, snap) = snapshot, let sig = snap[tp.signal] {
                let received = Int(sig["received"]?.number ?? 0)
                tp.received = received
                tp.missing = sig["missing"]?.number.map { Int($0) }
                tp.duplicates = sig["duplicates"]?.number.map { Int($0) }
                // Dropped: sent but never received (as integers: never negative, never wrapping); what was still
                // in flight when the load stopped is reported as such, not as loss.
                let settled = tp.sent - tp.inFlight
                tp.droppedPct = settled > 0 ? Double(Swift.max(0, settled - received)) * 100 / Double(settled) : 0
                let backendSamples = windowSamples.filter {
                    $0["component"]?.string == backend && $0["source"]?.string == "component"
                }
                tp.receivedPerSecond =
                    windowRate(backendSamples, "status.\(tp.signal).received")
                    ?? (duration > 0 ? Double(received) / duration : nil)
                if case .object(let lat)? = snap["latency_ms"] {
                    for k in ["p50", "p90", "p99", "p99_9", "max"] {
                        if let v = lat[k]?.number { report.latencyMs.append((k, v)) }
                    }
                }
            }
            // Validity: the load generator must have kept up and had CPU to spare.
            if let target = tp.targetPerSecond, target > 0, tp.achievedRate < target * 0.97 {
                report.invalidReasons.append(
                    "the load generator reached \(formatFixed(tp.achievedRate * 100 / target, 1)) % of its target rate (under 97 %): the numbers describe the generator, not the pipeline"
                )
            }
            let threads = load["threads"]?.number ?? 1
            if let cpu = load["cpu_seconds"]?.number, duration > 0, cpu / duration / threads > 0.8 {
                report.invalidReasons.append(
                    "the load generator used \(formatFixed(cpu / duration / threads * 100, 0)) % of its \(Int(threads)) thread(s)' CPU (over 80 %)"
                )
            }
            report.throughput = tp
        }
        // CPU and memory per component from its samples in the window, read as the monitor kind that wrote
        // them says (its `ResourceFields`); of several kinds, the one of highest precedence (the engine's
        // container stats over procfs).
        let readers = Registry.monitors.compactMap { k in k.resources.map { (name: k.info.name, fields: $0) } }
        var names: [String] = []
        for s in windowSamples where readers.contains(where: { $0.name == s["source"]?.string }) {
            if let c = s["component"]?.string, !names.contains(c) { names.append(c) }
        }
        for c in names {
            let present = readers.filter { r in
                windowSamples.contains { $0["component"]?.string == c && $0["source"]?.string == r.name }
            }
            guard let reader = present.max(by: { $0.fields.precedence < $1.fields.precedence }) else { continue }
            let source = reader.name
            let ps = windowSamples.filter { $0["component"]?.string == c && $0["source"]?.string == source }
            guard ps.count >= 2 else { continue }
            var rates: [Double] = []
            var used = 0.0
            let cpu = { (s: JSON) in reader.fields.cpuSeconds(s) ?? 0 }
            for i in 1..<ps.count {
                let dt = ((ps[i]["t"]?.number ?? 0) - (ps[i - 1]["t"]?.number ?? 0)) / 1e9
                let d = cpu(ps[i]) - cpu(ps[i - 1])
                if d >= 0 {
                    used += d
                    // Readings taken close together (a window edge next to a regular reading) are too short
                    // for CPU ticks (10 ms) to give a rate: they count toward the average, not p95/max.
                    if dt >= 0.25 { rates.append(d / dt) }
                } else {
                    used += cpu(ps[i])  // the process restarted: its counter began again at 0
                }
            }
            let total = ((ps.last!["t"]?.number ?? 0) - (ps.first!["t"]?.number ?? 0)) / 1e9
            let avg = total > 0 ? used / total : 0
            let rss = ps.compactMap { reader.fields.memoryBytes($0) }
            let sorted = rates.sorted()
            let p95 =
                sorted.isEmpty
                ? 0 : sorted[Swift.min(sorted.count - 1, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)]
            var per100k: Double? = nil
            if let rps = report.throughput?.receivedPerSecond ?? report.throughput?.ackedPerSecond, rps > 0 {
                per100k = avg / (rps / 100_000)
            }
            var cr = ComponentReport(
                name: c, cpuCoresAvg: avg, cpuCoresP95: p95, cpuCoresMax: sorted.last ?? 0,
                rssBytesAvg: rss.isEmpty ? 0 : rss.reduce(0, +) / Double(rss.count), rssBytesMax: rss.max() ?? 0,
                cpuPer100kPerSecond: per100k, samples: ps.count)
            cr.source = source
            reader.fields.extras(ps, &cr)
            report.components.append(cr)
        }
        if !report.invalidReasons.isEmpty && report.status == "passed" { report.status = "invalid" }
        return report
    }

    /// (last − first) / Δt of a counter at `path` over samples, when at least two have it; a counter that
    /// goes down (a restart) restarts the sum.
    static func windowRate(_ samples: [JSON], _ path: String) -> Double? {
        let points = samples.compactMap { s -> (Double, Double)? in
            guard let v = s.at(path)?.number, let t = s["t"]?.number else { return nil }
            return (t / 1e9, v)
        }
        guard points.count >= 2, points.last!.0 > points.first!.0 else { return nil }
        var total = 0.0
        for i in 1..<points.count {
            let d = points[i].1 - points[i - 1].1
            total += d >= 0 ? d : points[i].1
        }
        return total / (points.last!.0 - points.first!.0)
    }

    /// The test's figures as dotted paths (what assertions refer to).
    public static func flatten(_ t: TestReport) -> [String: Double] {
        var m: [String: Double] = ["window_s": t.windowSeconds]
        if let tp = t.throughput {
            m["sent_per_s"] = tp.sentPerSecond
            m["acked_per_s"] = tp.ackedPerSecond
            if let v = tp.receivedPerSecond { m["received_per_s"] = v }
            m["sent"] = Double(tp.sent)
            m["acked"] = Double(tp.acked)
            m["failed"] = Double(tp.failed)
            if let v = tp.received { m["received"] = Double(v) }
            if let v = tp.droppedPct { m["dropped_pct"] = v }
            if let v = tp.missing { m["missing"] = Double(v) }
            if let v = tp.duplicates { m["duplicates"] = Double(v) }
            m["late_batches"] = Double(tp.lateBatches)
            m["in_flight"] = Double(tp.inFlight)
            for (k, v) in m where !k.contains(".") { m["throughput.\(tp.signal).\(k)"] = v }
        }
        for (k, v) in t.latencyMs { m["latency_ms.\(k)"] = v }
        for c in t.components {
            m["components.\(c.name).cpu_cores_avg"] = c.cpuCoresAvg
            m["components.\(c.name).cpu_cores_p95"] = c.cpuCoresP95
            m["components.\(c.name).cpu_cores_max"] = c.cpuCoresMax
            m["components.\(c.name).rss_bytes_avg"] = c.rssBytesAvg
            m["components.\(c.name).rss_bytes_max"] = c.rssBytesMax
        }
        return m
    }

    /// `path OP number`, OP one of < <= > >= == !=.
    public static func evaluate(_ expression: String, in values: [String: Double]) -> AssertionResult {
        let ops = ["<=", ">=", "==", "!=", "<", ">"]
        for op in ops {
            guard let r = expression.range(of: " \(op) ") ?? expression.range(of: op) else { continue }
            let path = String(expression[..<r.lowerBound]).trimmingSpaces
            guard let limit = Double(String(expression[r.upperBound...]).trimmingSpaces) else { break }
            guard let v = values[path] else {
                return AssertionResult(
                    expression: expression, passed: false, value: nil,
                    message: "\(path) is not in the report of this test")
            }
            let ok: Bool
            switch op {
            case "<=": ok = v <= limit
            case ">=": ok = v >= limit
            case "==": ok = v == limit
            case "!=": ok = v != limit
            case "<": ok = v < limit
            default: ok = v > limit
            }
            return AssertionResult(
                expression: expression, passed: ok, value: v,
                message: ok ? "ok" : "\(expression) failed: \(path) is \(formatFixed(v, 3))")
        }
        return AssertionResult(
            expression: expression, passed: false, value: nil,
            message: "cannot read '\(expression)': expected PATH OP NUMBER")
    }
}
