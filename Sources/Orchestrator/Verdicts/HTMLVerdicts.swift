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

    /// One metric: the baseline's and the candidate's means as dots, their intervals as bars.
    func interval(_ m: MetricVerdict) -> String {
        let sides = [("baseline", m.baseline), ("candidate", m.candidate)]
        let lows = sides.map { $0.1.ciLow ?? $0.1.mean }, highs = sides.map { $0.1.ciHigh ?? $0.1.mean }
        let lo = Swift.min(0, lows.min() ?? 0), hi = Swift.max(highs.max() ?? 1, lo + 1e-9) * 1.05
        let plot = HTMLReport.Plot(xMin: lo, xMax: hi, yMax: 1)
        var s = "<h3>\(HTMLReport.esc(m.test)): \(HTMLReport.esc(m.metric)) — \(HTMLReport.esc(m.verdict))</h3>\n"
        s +=
            "<svg class=\"chart\" data-chart=\"compare-interval\" data-points=\"2\" role=\"img\" aria-label=\"\(HTMLReport.esc(m.metric)): baseline and candidate means with their intervals\" width=\"1100\" height=\"100\" viewBox=\"0 0 1100 100\">\n"
        for (i, (name, sm)) in sides.enumerated() {
            let y = 28.0 + Double(i) * 30
            let colour = HTMLReport.palette[i]
            s += "<text x=\"\(plot.left - 6)\" y=\"\(formatFixed(y + 4, 1))\" text-anchor=\"end\">\(name)</text>"
            s +=
                "<line x1=\"\(plot.x(sm.ciLow ?? sm.mean))\" y1=\"\(y)\" x2=\"\(plot.x(sm.ciHigh ?? sm.mean))\" y2=\"\(y)\" stroke=\"\(colour)\" stroke-width=\"4\"/>"
            s +=
                "<circle data-side=\"\(name)\" cx=\"\(plot.x(sm.mean))\" cy=\"\(y)\" r=\"6\" fill=\"\(colour)\"><title>\(name): \(HTMLReport.esc(formatMetric(sm.mean, m.metric)))</title></circle>"
            s +=
                "<text x=\"\(formatFixed(plot.xp(sm.ciHigh ?? sm.mean) + 8, 1))\" y=\"\(formatFixed(y + 4, 1))\">\(HTMLReport.esc(formatMetric(sm.mean, m.metric)))</text>\n"
        }
        for i in 0...4 {
            let v = lo + (hi - lo) * Double(i) / 4
            s +=
                "<text x=\"\(plot.x(v))\" y=\"94\" text-anchor=\"middle\">\(HTMLReport.esc(formatMetric(v, m.metric)))</text>"
        }
        return s + "\n</svg>\n"
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
