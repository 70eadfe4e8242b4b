// `pipeperf compare … --format html` and `pipeperf history … --format html`: the verdicts as pages in
// the style of report.html (HTMLReport): each compared metric's baseline and candidate means with
// their intervals drawn side by side and its verdict; each history series over the runs with its
// change points marked.

import PipeperfBase

extension Comparison {
    public var html: String {
        var s =
            "<h1>pipeperf compare <span class=\"status \(verdict == "regression" ? "failed" : "passed")\">\(HTMLReport.esc(verdict))</span></h1>\n"
        s +=
            "<p class=\"facts\">baseline \(HTMLReport.esc(baseline)) · candidate \(HTMLReport.esc(candidate)) · \(formatFixed(confidence * 100, 0)) % intervals · threshold \(formatFixed(thresholdPct, 1)) %</p>\n"
        func mean(_ m: Summary, _ metric: String) -> String {
            let half = m.ciHigh.map { " ± \(formatMetric($0 - m.mean, metric))" } ?? ""
            return "\(formatMetric(m.mean, metric))\(half) (n \(m.n))"
        }
        s += HTMLReport.table(
            ["test", "metric", "baseline", "candidate", "change", "interval of the change", "verdict", "why"],
            metrics.map { m in
                let d = m.difference
                return [
                    m.test, m.metric, mean(m.baseline, m.metric), mean(m.candidate, m.metric),
                    d?.deltaPct.map { formatFixed($0, 1) + " %" } ?? "—",
                    d.flatMap { x in
                        x.ciLowPct.flatMap { lo in x.ciHighPct.map { "\(formatFixed(lo, 1)) … \(formatFixed($0, 1)) %" }
                        }
                    }
                        ?? "—",
                    m.verdict, m.reason,
                ]
            }, id: "compare")
        for m in metrics { s += interval(m) }
        return HTMLReport.page(title: "pipeperf compare: \(verdict)", s)
    }

    /// One metric: the baseline's and the candidate's means with their intervals.
    func interval(_ m: MetricVerdict) -> String {
        HTMLReport.intervalChart(
            id: "compare-interval", title: "\(m.test): \(m.metric) — \(m.verdict)", metric: m.metric,
            [("baseline", m.baseline, []), ("candidate", m.candidate, [])])
    }
}

extension History {
    public var html: String {
        var s =
            "<h1>pipeperf history: \(HTMLReport.esc(suite))</h1>\n<p class=\"facts\">\(runs.count) runs · change points: \(HTMLReport.esc(History.method))</p>\n"
        for series in self.series {
            let points = series.values.enumerated().compactMap { i, v in v.map { (Double(i + 1), $0) } }
            let marks = series.changePoints.map { (Double($0 + 1) - 0.5, "change at run \($0 + 1)") }
            s += HTMLReport.lineChart(
                id: "history", title: "\(series.test): \(series.metric)", xLabel: "run (oldest first)",
                yLabel: series.metric, [ChartSeries(name: series.metric, points: points)], bands: [],
                format: { formatMetric($0, series.metric) }, marks: marks)
        }
        s += HTMLReport.table(
            ["run", "run id", "commit", "branch", "status"],
            runs.enumerated().map { i, r in
                [
                    String(i + 1), r.runID, String(r.codeCommit.prefix(12)) + (r.codeDirty ? " dirty" : ""),
                    r.codeBranch, r.status,
                ]
            }, id: "runs")
        return HTMLReport.page(title: "pipeperf history: \(suite)", s)
    }
}
