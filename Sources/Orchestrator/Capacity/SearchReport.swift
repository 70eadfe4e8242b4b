// The capacity search in the report: every step recomputed from its records (it is a test of its own,
// `<test>/step-<k>`) and judged again, the search replayed from those outcomes, the test's headline
// figures those of the step at the capacity; across a matrix over `cores`, the scaling of capacity with
// cores and its efficiency.

import AdminHTTP
import PipeperfBase

public struct SearchStepReport: Sendable {
    public var step: Int
    public var purpose: String
    public var targetPerSecond: Double
    public var sentPerSecond: Double
    public var receivedPerSecond: Double?
    public var droppedPct: Double?
    public var latencyMs: [(String, Double)]
    /// CPU cores per component over the step's window.
    public var cpu: [(String, Double)]
    public var outcome: StepOutcome
    public var reason: String
    public var passed: Bool { outcome == .passed }
}

public struct SearchReport: Sendable {
    public var capacityPerSecond: Double
    public var bound: SearchBound
    public var precision: Double
    public var lowPerSecond: Double
    public var highPerSecond: Double?
    public var converged: Bool
    public var reason: String
    public var steps: [SearchStepReport] = []
    public var notes: [String] = []

    /// The name under which a step's records are kept.
    public static func stepName(_ test: String, _ k: Int) -> String { "\(test)/step-\(k)" }

    /// One line about a step for the console: what was offered, sent and received, and the p99.
    static func summary(_ t: TestReport, _ rate: Double) -> String {
        var s = "offered \(formatRate(rate))/s"
        if let tp = t.throughput {
            s += ": sent \(formatRate(tp.sentPerSecond))/s"
            if let r = tp.receivedPerSecond { s += ", received \(formatRate(r))/s" }
            if let d = tp.droppedPct, d > 0 { s += ", dropped \(formatFixed(d, 3)) %" }
        }
        if let p99 = t.latencyMs.first(where: { $0.0 == "p99" })?.1 { s += ", p99 \(formatFixed(p99, 2)) ms" }
        return s
    }

    /// The search of test `name` from the records, and the report of the step at its capacity.
    static func build(_ name: String, spec: JSON, _ r: RunRecords) -> (SearchReport, TestReport?) {
        var search = CapacitySearch(
            from: spec["from"]?.number ?? 1, to: spec["to"]?.number ?? 1, precision: spec["precision"]?.number ?? 0.02,
            growth: spec["growth"]?.number ?? 2, maxSteps: Int(spec["max_steps"]?.number ?? 40))
        let slo = (spec["slo"]?.array ?? []).compactMap(\.string)
        var steps: [SearchStepReport] = []
        var stepReports: [TestReport] = []
        var notes: [String] = []
        let starts = r.events.filter {
            $0["name"]?.string == "search_step_start" && $0["attributes"]?["search"]?.string == name
        }
        for e in starts {
            guard let stepName = e["test"]?.string, let k = e["attributes"]?["step"]?.string.flatMap({ Int($0) }),
                let rate = e["attributes"]?["rate"]?.string.flatMap({ Double($0) })
            else { continue }
            // A step cut short (the run was interrupted inside it) was never judged: it is left out.
            guard
                let end = r.events.last(where: {
                    $0["test"]?.string == stepName && $0["name"]?.string == "search_step_end"
                })
            else { continue }
            let error = end["attributes"]?["error"]?.string
            let t = ReportBuilder.test(stepName, status: error == nil ? "passed" : "failed", error: error, r)
            let (outcome, reason) = StepJudge.judge(t, target: rate, slo: slo)
            if let planned = search.next(), planned.rate != rate {
                notes.append(
                    "step \(k) offered \(formatRate(rate))/s where the search replayed from the records plans \(formatRate(planned.rate))/s"
                )
            }
            if let recorded = end["attributes"]?["outcome"]?.string, recorded != outcome.rawValue {
                notes.append("step \(k) was judged \(recorded) during the run and \(outcome.rawValue) from the records")
            }
            search.record(outcome)
            let tp = t.throughput
            steps.append(
                SearchStepReport(
                    step: k, purpose: e["attributes"]?["purpose"]?.string ?? "", targetPerSecond: rate,
                    sentPerSecond: tp?.sentPerSecond ?? 0, receivedPerSecond: tp?.receivedPerSecond,
                    droppedPct: tp?.droppedPct, latencyMs: t.latencyMs,
                    cpu: t.components.map { ($0.name, $0.cpuCoresAvg) }, outcome: outcome, reason: reason))
            stepReports.append(t)
        }
        if search.result == nil {
            let stopped = r.events.last { $0["test"]?.string == name && $0["name"]?.string == "search_stopped" }
            search.stop(
                stopped?["attributes"]?["reason"]?.string ?? "the search did not finish (the test stopped first)")
        }
        let result = search.result!
        var report = SearchReport(
            capacityPerSecond: result.capacity, bound: result.bound, precision: search.precision,
            lowPerSecond: result.low, highPerSecond: result.high, converged: result.converged, reason: result.reason,
            steps: steps, notes: notes)
        if result.bound == .generator {
            report.notes.append(
                "the capacity is a lower bound: the load generator, not the pipeline, set the limit (give it more threads, cores or load components)"
            )
        }
        if result.bound == .range {
            report.notes.append("the pipeline passed at `to`: its capacity is above the range searched")
        }
        // The headline: the step at the capacity (its confirmation when there is one), else the last.
        let at = steps.indices.last { steps[$0].passed && steps[$0].targetPerSecond == result.capacity }
        return (report, at.map { stepReports[$0] } ?? stepReports.last)
    }
}

/// Capacity against cores across a matrix over `cores`: efficiency = capacity(n) / (n × capacity(1))
/// (against the fewest cores measured when 1 is not).
public struct ScalingReport: Sendable {
    public struct Point: Sendable {
        public var cores: Double
        public var test: String
        public var capacityPerSecond: Double
        public var bound: SearchBound
        public var efficiency: Double?
    }
    public var test: String
    public var points: [Point]

    static func build(_ tests: [TestReport], meta: JSON) -> [ScalingReport] {
        var groups: [(key: String, points: [Point])] = []
        for t in tests {
            guard let s = t.search, t.replicates == 1, case .object(let m)? = meta["tests"]?[t.name]?["matrix"],
                let cores = m["cores"]?.string.flatMap({ Double($0) })
            else { continue }
            let rest = m.keys.sorted().filter { $0 != "cores" }.map { "\($0)=\(m[$0]?.string ?? "")" }
            let stem = String(t.name.prefix { $0 != "[" })
            let key = rest.isEmpty ? stem : "\(stem)[\(rest.joined(separator: ","))]"
            let p = Point(cores: cores, test: t.name, capacityPerSecond: s.capacityPerSecond, bound: s.bound)
            if let i = groups.firstIndex(where: { $0.key == key }) {
                groups[i].points.append(p)
            } else {
                groups.append((key, [p]))
            }
        }
        return groups.compactMap { g in
            var points = g.points.sorted { $0.cores < $1.cores }
            guard let base = points.first, base.capacityPerSecond > 0 else {
                return ScalingReport(test: g.key, points: points)
            }
            for i in points.indices {
                points[i].efficiency =
                    points[i].capacityPerSecond * base.cores / (points[i].cores * base.capacityPerSecond)
            }
            return ScalingReport(test: g.key, points: points)
        }
    }
}
