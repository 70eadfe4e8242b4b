// Replicates: a test run N times (each a full deploy → warm-up → observe → destroy) is summarised per
// metric over its replicates, and the headline metrics that compare and the summaries judge by default.

/// One replicated test's metrics over its replicates.
public struct ReplicateSummary: Sendable {
    public var test: String
    /// The replicates summarised, and those left out (invalid, or ended by an error) with why.
    public var replicates: [String]
    public var excluded: [(String, String)]
    public var confidence: Double
    /// Every report path the summarised replicates all have: its summary and each replicate's value.
    public var metrics: [(path: String, summary: Summary, values: [Double])]

    /// The summaries of every test with two replicates or more.
    public static func build(_ tests: [TestReport], confidence: Double = 0.90) -> [ReplicateSummary] {
        var order: [String] = []
        var byBase: [String: [TestReport]] = [:]
        for t in tests where t.replicates > 1 {
            if byBase[t.base] == nil { order.append(t.base) }
            byBase[t.base, default: []].append(t)
        }
        return order.map { base in
            let all = byBase[base] ?? []
            var excluded: [(String, String)] = []
            var kept: [TestReport] = []
            for t in all {
                if let reason = Headline.exclusion(t) { excluded.append((t.name, reason)) } else { kept.append(t) }
            }
            let flat = kept.map(ReportBuilder.flatten)
            let paths = (flat.first?.keys.sorted() ?? []).filter { p in flat.allSatisfy { $0[p] != nil } }
            let metrics = paths.map { p -> (String, Summary, [Double]) in
                let values = flat.map { $0[p]! }
                return (p, Summary(values, confidence: confidence), values)
            }
            return ReplicateSummary(
                test: base, replicates: kept.map(\.name), excluded: excluded, confidence: confidence, metrics: metrics)
        }
    }
}

/// The metrics judged by default: throughput per signal, loss, latency, CPU and memory per component.
public enum Headline {
    /// The headline paths present in a test's flattened figures, in a stable order.
    public static func paths(_ flat: [String: Double]) -> [String] {
        // A capacity search's answer first: what the search was for.
        var out: [String] = ["search.capacity_per_s"]
        let signals = Set(
            flat.keys.compactMap { k -> String? in
                guard k.hasPrefix("throughput.") else { return nil }
                return k.split(separator: ".").dropFirst().first.map(String.init)
            }
        ).sorted { ($0 == "total" ? 1 : 0, $0) < ($1 == "total" ? 1 : 0, $1) }
        for s in signals {
            let p = "throughput.\(s)."
            out.append(flat[p + "received_per_s"] != nil ? p + "received_per_s" : p + "acked_per_s")
            for k in ["dropped_pct", "missing"] where flat[p + k] != nil { out.append(p + k) }
        }
        for k in ["latency_ms.p50", "latency_ms.p99"] where flat[k] != nil { out.append(k) }
        let components = Set(
            flat.keys.compactMap { k -> String? in
                guard k.hasPrefix("components."), k.hasSuffix(".cpu_cores_avg") else { return nil }
                return String(k.dropFirst("components.".count).dropLast(".cpu_cores_avg".count))
            }
        ).sorted()
        for c in components {
            out.append("components.\(c).cpu_cores_avg")
            if flat["components.\(c).rss_bytes_avg"] != nil { out.append("components.\(c).rss_bytes_avg") }
        }
        return out.filter { flat[$0] != nil }
    }

    /// Why a replicate's figures cannot be used (nil when they can).
    public static func exclusion(_ t: TestReport) -> String? {
        if t.status == "invalid" { return "invalid: " + t.invalidReasons.joined(separator: "; ") }
        if let e = t.error { return "failed: \(e)" }
        if !t.windowComplete { return "its observation window is incomplete" }
        return nil
    }
}
