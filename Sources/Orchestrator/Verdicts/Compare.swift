// `pipeperf compare BASELINE CANDIDATE`: per test present in both and per metric (the headline ones and
// those named in the test's `compare:`), the baseline and candidate means over their replicates, the
// difference with Welch's interval, and a verdict. A regression needs both an interval that excludes
// zero at the chosen confidence and an effect at least the threshold; a metric whose coefficient of
// variation is above the bound in either run is `erratic`; with one replicate on a side the verdict is
// `impossible` (there is no variance to judge by). Documented in docs/compare.md.

import AdminHTTP
import FoundationEssentials
import PipeperfBase

/// One side of a comparison: per test, per metric, the replicates' values.
public struct ResultSet: Sendable {
    public var label: String
    public var suite: String
    public var tests: [String: [String: [Double]]] = [:]
    public var order: [String] = []
    /// `compare:` metrics per test (from run.json).
    public var compare: [String: [CompareMetric]] = [:]

    /// A run folder's figures, from its records (the report is computed again, as `pipeperf report` does).
    public static func folder(_ path: String, label: String? = nil) throws(PipeperfError) -> ResultSet {
        let records = try RunRecords(folder: path)
        let report = ReportBuilder.build(records)
        var set = ResultSet(label: label ?? path, suite: report.suite)
        for t in report.tests where Headline.exclusion(t) == nil {
            if set.tests[t.base] == nil { set.order.append(t.base) }
            for (k, v) in ReportBuilder.flatten(t) { set.tests[t.base, default: [:]][k, default: []].append(v) }
        }
        if case .object(let o)? = records.meta["compare"] {
            for (test, list) in o {
                set.compare[test] = (list.array ?? []).compactMap { m in
                    guard let metric = m["metric"]?.string else { return nil }
                    return CompareMetric(
                        metric: metric, higherIsBetter: m["direction"]?.string == "higher",
                        thresholdPct: m["threshold_pct"]?.number)
                }
            }
        }
        return set
    }

    /// A run folder, or a history reference (`SUITE@latest`, `SUITE@<sha>`, `SUITE@<run id>`,
    /// `SUITE@branch:<name>`) resolved in the store: its folder when it still exists, else the stored values.
    public static func resolve(_ what: String, results: String) throws(PipeperfError) -> ResultSet {
        if FileManager.default.fileExists(atPath: "\(what)/status.json") { return try folder(what) }
        if FileManager.default.fileExists(atPath: what) && !what.contains("@") {
            throw PipeperfError(.failed, "\(what) is not a pipeperf run folder (no status.json)")
        }
        guard what.contains("@") else {
            throw PipeperfError(
                .failed,
                "'\(what)' is neither a run folder nor a history reference (SUITE@latest, SUITE@<git sha>, SUITE@<run id>, SUITE@branch:<name>)"
            )
        }
        let store = try HistoryStore(path: HistoryStore.defaultPath(results: results), create: false)
        let run = try store.resolve(what)
        let label = "\(what) (\(run.runID)\(run.codeCommit.isEmpty ? "" : ", \(run.codeCommit.prefix(12))"))"
        if FileManager.default.fileExists(atPath: "\(run.folder)/status.json") {
            return try folder(run.folder, label: label)
        }
        var set = ResultSet(label: label, suite: run.suite)
        for v in try store.values(suite: run.suite, runID: run.runID) where v.status != "excluded" {
            if set.tests[v.test] == nil { set.order.append(v.test) }
            set.tests[v.test, default: [:]][v.metric, default: []].append(v.value)
        }
        return set
    }
}

/// One metric's judgement.
public struct MetricVerdict: Sendable {
    public var test: String
    public var metric: String
    public var higherIsBetter: Bool
    public var baseline: Summary
    public var candidate: Summary
    public var difference: Difference?
    public var thresholdPct: Double
    /// `regression`, `improvement`, `no_change`, `erratic` or `impossible`.
    public var verdict: String
    public var reason: String
}

public struct Comparison: Sendable {
    public var baseline: String
    public var candidate: String
    public var confidence: Double
    public var thresholdPct: Double
    public var erraticCV: Double
    public var metrics: [MetricVerdict]
    /// Tests in one side only.
    public var onlyBaseline: [String]
    public var onlyCandidate: [String]

    /// `regression` when any metric regressed; else `improvement` when any improved; `impossible` when no
    /// metric could be judged; else `no_change`.
    public var verdict: String {
        if metrics.contains(where: { $0.verdict == "regression" }) { return "regression" }
        if metrics.contains(where: { $0.verdict == "improvement" }) { return "improvement" }
        if !metrics.isEmpty && metrics.allSatisfy({ $0.verdict == "impossible" }) { return "impossible" }
        return "no_change"
    }

    public static func compare(
        _ b: ResultSet, _ c: ResultSet, confidence: Double = 0.90, thresholdPct: Double = 5,
        thresholds: [String: Double] = [:], erraticCV: Double = 0.10
    ) -> Comparison {
        var out: [MetricVerdict] = []
        for test in c.order where b.tests[test] != nil {
            let bm = b.tests[test] ?? [:], cm = c.tests[test] ?? [:]
            let means = cm.mapValues { $0.reduce(0, +) / Double(Swift.max(1, $0.count)) }
            var specs = Headline.paths(means).map {
                CompareMetric(metric: $0, higherIsBetter: CompareMetric.higherByName($0), thresholdPct: nil)
            }
            for s in c.compare[test] ?? b.compare[test] ?? [] {
                specs.removeAll { $0.metric == s.metric }
                specs.append(s)
            }
            for s in specs {
                guard let bv = bm[s.metric], let cv = cm[s.metric] else { continue }
                let threshold = thresholds[s.metric] ?? s.thresholdPct ?? thresholdPct
                out.append(
                    judge(
                        test: test, spec: s, bv, cv, confidence: confidence, thresholdPct: threshold,
                        erraticCV: erraticCV))
            }
        }
        return Comparison(
            baseline: b.label, candidate: c.label, confidence: confidence, thresholdPct: thresholdPct,
            erraticCV: erraticCV, metrics: out, onlyBaseline: b.order.filter { c.tests[$0] == nil },
            onlyCandidate: c.order.filter { b.tests[$0] == nil })
    }

    static func judge(
        test: String, spec: CompareMetric, _ bv: [Double], _ cv: [Double], confidence: Double,
        thresholdPct: Double, erraticCV: Double
    ) -> MetricVerdict {
        let sb = Summary(bv, confidence: confidence), sc = Summary(cv, confidence: confidence)
        let d = Statistics.welch(baseline: bv, candidate: cv, confidence: confidence)
        var v = MetricVerdict(
            test: test, metric: spec.metric, higherIsBetter: spec.higherIsBetter, baseline: sb, candidate: sc,
            difference: d, thresholdPct: thresholdPct, verdict: "no_change", reason: "")
        guard let d else {
            v.verdict = "impossible"
            v.reason =
                "\(Swift.min(bv.count, cv.count)) replicate on a side: no variance to judge by (run with --replicates 3 or more)"
            return v
        }
        if sb.stddev == 0 && sc.stddev == 0 && sb.mean == sc.mean {
            v.reason = "identical"
            return v
        }
        // A metric too noisy to judge is set aside (erratic), unless the change is decisive anyway: the whole
        // interval lies beyond the threshold, or the two sides do not overlap at all with a gap of at least
        // the threshold and at least the baseline's own range (complete separation: an exact two-sided
        // rank-test p of 2 / C(nb + nc, nb), 0.10 for 3 against 3, judged against 1 − confidence). A metric
        // that is zero in every replicate of a side (loss, missing) has no relative spread.
        let erratic = [sb, sc].filter { s in s.mean != 0 && s.cv > erraticCV }
        let intervalDecisive = d.ciLowPct.map { $0 > thresholdPct || (d.ciHighPct ?? 0) < -thresholdPct } ?? false
        if !erratic.isEmpty && !intervalDecisive {
            if let gap = separation(bv, cv, confidence: confidence), sb.mean != 0,
                Swift.abs(gap) / Swift.abs(sb.mean) * 100 >= thresholdPct,
                Swift.abs(gap) >= (bv.max()! - bv.min()!)
            {
                let worse = spec.higherIsBetter ? gap < 0 : gap > 0
                v.verdict = worse ? "regression" : "improvement"
                v.reason =
                    "noisy, but no replicate of one side overlaps the other and the gap between them is \(formatFixed(Swift.abs(gap) / Swift.abs(sb.mean) * 100, 1)) % of the baseline, wider than the baseline's range (rank-test p = \(formatFixed(separationP(bv.count, cv.count), 3)))"
                return v
            }
            v.verdict = "erratic"
            v.reason =
                "coefficient of variation \(formatFixed(erratic.map(\.cv).max()! * 100, 1)) % above \(formatFixed(erraticCV * 100, 1)) %"
            return v
        }
        let excludesZero = d.ciLow > 0 || d.ciHigh < 0
        let worse = spec.higherIsBetter ? d.delta < 0 : d.delta > 0
        let bigEnough = d.deltaPct.map { Swift.abs($0) >= thresholdPct } ?? true
        if !excludesZero {
            v.reason = "the \(formatFixed(confidence * 100, 0)) % interval includes 0"
        } else if !bigEnough {
            v.reason = "the change is under the \(formatFixed(thresholdPct, 1)) % threshold"
        } else {
            v.verdict = worse ? "regression" : "improvement"
            v.reason =
                d.deltaPct == nil
                ? "the baseline is 0 and the interval excludes 0"
                : "the interval excludes 0 and the change is at least \(formatFixed(thresholdPct, 1)) %"
        }
        return v
    }

    /// The gap between two samples that do not overlap (candidate − baseline side, signed), when complete
    /// separation is significant at `confidence`; nil when they overlap or there are too few values.
    static func separation(_ b: [Double], _ c: [Double], confidence: Double) -> Double? {
        guard let bMin = b.min(), let bMax = b.max(), let cMin = c.min(), let cMax = c.max(),
            separationP(b.count, c.count) <= 1 - confidence + 1e-12
        else { return nil }
        if cMin > bMax { return cMin - bMax }
        if cMax < bMin { return cMax - bMin }
        return nil
    }

    /// The exact two-sided p of complete separation of n and m values (Mann–Whitney U = 0): 2 / C(n + m, n).
    static func separationP(_ n: Int, _ m: Int) -> Double {
        var ways = 1.0
        for i in 0..<n { ways = ways * Double(m + n - i) / Double(i + 1) }
        return Swift.min(1, 2 / ways)
    }

    // MARK: Output

    public func render(_ format: String) -> String {
        switch format {
        case "json": return json
        case "html": return html
        case "markdown": return table(markdown: true)
        default: return table(markdown: false)
        }
    }

    public var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.field("verdict", verdict)
        w.field("method", "welch")
        w.field("confidence", confidence, decimals: 3)
        w.field("threshold_pct", thresholdPct, decimals: 3)
        w.field("erratic_cv", erraticCV, decimals: 3)
        w.field("baseline", baseline)
        w.field("candidate", candidate)
        w.beginArray("metrics")
        for m in metrics {
            w.beginObject()
            w.field("test", m.test)
            w.field("metric", m.metric)
            w.field("direction", m.higherIsBetter ? "higher" : "lower")
            for (k, s) in [("baseline", m.baseline), ("candidate", m.candidate)] {
                w.beginObject(k)
                w.field("mean", s.mean, decimals: 6)
                w.field("n", s.n)
                w.field("stddev", s.stddev, decimals: 6)
                if s.cv.isFinite { w.field("cv", s.cv, decimals: 6) } else { w.fieldNull("cv") }
                w.endObject()
            }
            func opt(_ k: String, _ v: Double?) { if let v { w.field(k, v, decimals: 4) } else { w.fieldNull(k) } }
            opt("delta_pct", m.difference?.deltaPct)
            opt("ci_low_pct", m.difference?.ciLowPct)
            opt("ci_high_pct", m.difference?.ciHighPct)
            opt("delta", m.difference?.delta)
            opt("ci_low", m.difference?.ciLow)
            opt("ci_high", m.difference?.ciHigh)
            w.field("threshold_pct", m.thresholdPct, decimals: 3)
            w.field("verdict", m.verdict)
            w.field("reason", m.reason)
            w.endObject()
        }
        w.endArray()
        w.field("only_in_baseline", onlyBaseline)
        w.field("only_in_candidate", onlyCandidate)
        w.endObject()
        return w.text + "\n"
    }

    func table(markdown: Bool) -> String {
        var rows: [[String]] = [
            [
                "test", "metric", "better", "baseline (n)", "candidate (n)", "Δ %",
                "\(formatFixed(confidence * 100, 0)) % interval", "verdict",
            ]
        ]
        for m in metrics {
            func side(_ s: Summary) -> String { "\(formatMetric(s.mean, m.metric)) (\(s.n))" }
            let pct = m.difference?.deltaPct.map { ($0 >= 0 ? "+" : "") + formatFixed($0, 2) } ?? "—"
            let interval =
                m.difference.flatMap { d in
                    d.ciLowPct.map { "[\(formatFixed($0, 2)), \(formatFixed(d.ciHighPct ?? 0, 2))] %" }
                        ?? "[\(formatMetric(d.ciLow, m.metric)), \(formatMetric(d.ciHigh, m.metric))]"
                } ?? "—"
            let verdict = markdown && m.verdict == "regression" ? "**regression**" : m.verdict
            rows.append([
                m.test, m.metric, m.higherIsBetter ? "higher" : "lower", side(m.baseline), side(m.candidate), pct,
                interval, verdict,
            ])
        }
        let counts = ["regression", "improvement", "no_change", "erratic", "impossible"].compactMap { k -> String? in
            let n = metrics.filter { $0.verdict == k }.count
            return n == 0 ? nil : "\(n) \(k.replacingOccurrences(of: "_", with: " "))"
        }
        var out =
            markdown
            ? "## pipeperf compare: \(verdict.replacingOccurrences(of: "_", with: " "))\n\nbaseline: `\(baseline)`  \ncandidate: `\(candidate)`\n\n"
            : "pipeperf compare: \(verdict.replacingOccurrences(of: "_", with: " "))\nbaseline:  \(baseline)\ncandidate: \(candidate)\n\n"
        out += gridText(rows, markdown: markdown)
        var notes = [
            "\(counts.joined(separator: ", ")); Welch's t interval of the difference at \(formatFixed(confidence * 100, 0)) %, threshold \(formatFixed(thresholdPct, 1)) %, erratic above a coefficient of variation of \(formatFixed(erraticCV * 100, 1)) %"
        ]
        for m in metrics where m.verdict != "no_change" {
            notes.append("\(m.test) \(m.metric): \(m.verdict): \(m.reason)")
        }
        if !onlyBaseline.isEmpty { notes.append("only in the baseline: \(onlyBaseline.joined(separator: ", "))") }
        if !onlyCandidate.isEmpty { notes.append("only in the candidate: \(onlyCandidate.joined(separator: ", "))") }
        out += "\n" + notes.map { markdown ? "- \($0)" : "  \($0)" }.joined(separator: "\n") + "\n"
        return out
    }
}
