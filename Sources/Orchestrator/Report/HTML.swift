// report.html: the report as one self-contained page — inline SVG charts and CSS, no script, no font,
// nothing fetched — readable offline and attachable to a CI run. Per test: throughput over time
// (target, sent per load, received per backend and signal) with the warm-up, window and drain shaded,
// CPU and memory of every component over time, the headline figures, latency percentiles (corrected and
// uncorrected) and, from the fake backend's per-second histograms, p50/p99 over time, hops, and the validity verdict with its reasons; a capacity search as a knee plot
// (offered vs received per step, pass and fail marked, the capacity line) and its p99 per step; across
// tests, bars of throughput and latency. Series are read from the run folder's samples (the same
// readings the report's figures come from) and downsampled to at most 600 points each. Colours are the
// Okabe–Ito palette (distinguishable with the common colour-vision deficiencies), each series also with
// its own dash pattern; dark text on a light background; laid out for 1,200 px.

import AdminHTTP
import PipeperfBase

/// One line of a chart: its name and (x, y) points.
struct ChartSeries {
    var name: String
    var points: [(Double, Double)]
}

enum HTMLReport {
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    static let dashes = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4"]
    static let maxPoints = 600

    /// The page of `report`, with its series read from `records`.
    static func render(_ report: RunReport, _ records: RunRecords) -> String {
        var out = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <title>pipeperf: \(esc(report.suite)) — \(esc(report.status))</title>
            <style>\(css)</style></head><body>
            <h1>pipeperf: \(esc(report.suite)) <span class="status \(esc(report.status))">\(esc(report.status))</span></h1>

            """
        var facts: [String] = []
        for (what, f) in report.provenance {
            let d = Dictionary(f, uniquingKeysWith: { a, _ in a })
            if let c = d["commit"], !c.hasPrefix("unknown") {
                facts.append("\(what) \(c.prefix(12))\(d["dirty"] == "true" ? " (dirty)" : "")")
            }
        }
        if let s = report.samplerSamples { facts.append("\(s) samples") }
        if !facts.isEmpty { out += "<p class=\"facts\">\(esc(facts.joined(separator: " · ")))</p>\n" }
        out += summaryTable(report)
        if report.tests.count > 1 { out += acrossTests(report, reference: records.meta["compare_to"]?.string) }
        if !report.replicateSummaries.isEmpty { out += replicatesTable(report) }
        for t in report.tests { out += testSection(t, records) }
        if !report.scaling.isEmpty { out += scalingTable(report) }
        out += "</body></html>\n"
        return out
    }

    /// A page around `body`, with the report's style.
    static func page(title: String, _ body: String) -> String {
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>\(esc(title))</title>\n<style>\(css)</style></head><body>\n"
            + body + "</body></html>\n"
    }

    static let css = """
        body{font-family:sans-serif;color:#111;background:#fff;max-width:1180px;margin:0 auto;padding:10px}
        h1{font-size:22px}h2{font-size:18px;border-top:1px solid #999;padding-top:10px}h3{font-size:15px}
        table{border-collapse:collapse;margin:6px 0;font-size:13px}td,th{border:1px solid #bbb;padding:3px 6px;text-align:right}
        th{background:#eee}td:first-child,th:first-child{text-align:left}.facts{color:#333;font-size:13px}
        .status{font-size:14px;padding:2px 6px;border:1px solid #333}.passed{background:#d8f0d8}
        .failed,.invalid{background:#f6d5d5}.aborted{background:#eee}.reasons li{color:#8a1c00}
        svg.chart{display:block;margin:6px 0}svg text{font-size:12px;fill:#111}
        """

    static func esc(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }

    static func num(_ v: Double?, _ decimals: Int = 2) -> String { v.map { formatFixed($0, decimals) } ?? "—" }
    static func rate(_ v: Double?) -> String { v.map { formatRate($0) + "/s" } ?? "—" }

    static func table(_ head: [String], _ rows: [[String]], id: String) -> String {
        var s = "<table data-table=\"\(id)\"><tr>" + head.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n"
        for r in rows { s += "<tr>" + r.map { "<td>\(esc($0))</td>" }.joined() + "</tr>\n" }
        return s + "</table>\n"
    }

    static func summaryTable(_ report: RunReport) -> String {
        let rows = report.tests.map { t -> [String] in
            let tp = t.throughput
            let lat = Dictionary(t.latencyMs, uniquingKeysWith: { a, _ in a })
            let unc = Dictionary(t.latencyMsUncorrected, uniquingKeysWith: { a, _ in a })
            return [
                t.name, t.status, rate(tp?.targetPerSecond), rate(tp?.sentPerSecond),
                tp?.receivedNote != nil ? "not counted" : rate(tp?.receivedPerSecond), num(tp?.droppedPct, 3),
                num(lat["p50"]), num(lat["p99"]), num(unc["p99"]),
                t.search.map { "\(formatRate($0.capacityPerSecond))/s (\($0.bound.rawValue))" } ?? "—",
            ]
        }
        return "<h2>Summary</h2>\n"
            + table(
                [
                    "test", "status", "target", "sent", "received", "dropped %", "p50 ms", "p99 ms", "p99 uncorr. ms",
                    "capacity",
                ], rows, id: "summary")
    }

    // MARK: Across tests

    /// Bars per test of throughput, p99 and CPU per 100k/s, each labelled with its change against the
    /// reference test (`compare_to:`, else the first; a reference matched by its base name is its first
    /// replicate or expansion).
    static func acrossTests(_ report: RunReport, reference: String?) -> String {
        let tests = report.tests
        let ref =
            reference.flatMap { r in
                tests.first { $0.name == r } ?? tests.first { $0.base == r || $0.name.hasPrefix(r + "[") }
            }
            ?? tests[0]
        var s = "<h2>Across tests</h2>\n<p class=\"facts\">changes against \(esc(ref.name))</p>\n"
        func bars(_ value: (TestReport) -> Double?) -> [(String, Double, Double?)] {
            let base = value(ref)
            return tests.compactMap { t in
                guard let v = value(t) else { return nil }
                let delta = t.name == ref.name ? nil : base.flatMap { $0 != 0 ? (v - $0) / Swift.abs($0) * 100 : nil }
                return (t.name, v, delta)
            }
        }
        s += barChart(
            id: "across-throughput", title: "Throughput (received per second)", unit: "items/s",
            bars { $0.throughput.map { $0.receivedPerSecond ?? $0.ackedPerSecond } })
        let p99 = bars { t in t.latencyMs.first { $0.0 == "p99" }?.1 }
        if !p99.isEmpty { s += barChart(id: "across-p99", title: "End-to-end latency p99", unit: "ms", p99) }
        let cpu = bars { t in
            let v = t.components.compactMap(\.cpuPer100kPerSecond)
            return v.isEmpty ? nil : v.reduce(0, +)
        }
        if !cpu.isEmpty {
            s += barChart(id: "across-cpu", title: "CPU per 100k items/s (all components)", unit: "cores", cpu)
        }
        return s
    }

    /// Replicated tests: each headline metric's mean ± half of its interval, as a table and as one chart
    /// per metric (a row per replicated test, its replicates as ticks).
    static func replicatesTable(_ report: RunReport) -> String {
        let confidence = formatFixed((report.replicateSummaries.first?.confidence ?? 0.9) * 100, 0)
        var s =
            "<h2>Replicates</h2>\n"
            + table(
                ["test", "metric", "n", "mean ± \(confidence) % interval", "cv %"], report.replicateRows,
                id: "replicates")
        var metrics: [String] = []
        for r in report.replicateSummaries {
            let flat = Dictionary(uniqueKeysWithValues: r.metrics.map { ($0.path, $0.summary.mean) })
            for p in Headline.paths(flat) where !metrics.contains(p) { metrics.append(p) }
        }
        for metric in metrics {
            let rows = report.replicateSummaries.compactMap { r in
                r.metrics.first { $0.path == metric }.map { (r.test, $0.summary, $0.values) }
            }
            s += intervalChart(
                id: "replicates-interval", title: "\(metric): mean ± \(confidence) % interval", metric: metric, rows)
        }
        return s
    }

    // MARK: One test

    static func testSection(_ t: TestReport, _ r: RunRecords) -> String {
        var s =
            "<h2 id=\"test-\(esc(safeName(t.name)))\">\(esc(t.name)) <span class=\"status \(esc(t.status))\">\(esc(t.status))</span></h2>\n"
        var reasons = t.invalidReasons.map { "invalid: \($0)" }
        reasons += t.assertions.filter { !$0.passed }.map { "assertion \($0.message)" }
        if let e = t.error { reasons.append(e) }
        if !reasons.isEmpty {
            s += "<ul class=\"reasons\">" + reasons.map { "<li>\(esc($0))</li>" }.joined() + "</ul>\n"
        }
        if !t.notes.isEmpty { s += "<ul>" + t.notes.map { "<li>\(esc($0))</li>" }.joined() + "</ul>\n" }
        let events = r.events.filter { $0["test"]?.string == t.name }
        let start = events.first.map(ReportBuilder.eventTime) ?? 0
        let end = events.last.map(ReportBuilder.eventTime) ?? start
        let samples = r.samples.filter {
            let x = ReportBuilder.sampleTime($0)
            return $0["source"]?.string != "sampler" && x >= start - 0.001 && x <= end + 0.001
        }
        func series(_ component: String, _ source: String) -> [JSON] {
            samples.filter { $0["component"]?.string == component && $0["source"]?.string == source }
                .sorted { ReportBuilder.sampleTime($0) < ReportBuilder.sampleTime($1) }
        }
        // Throughput: sent per load, received per backend and signal, the target.
        var lines: [ChartSeries] = []
        for l in t.loads {
            lines.append(
                ChartSeries(name: "\(l.name) sent", points: rates(series(l.name, "component"), "status.sent", start)))
            if let target = l.targetPerSecond, t.loads.count == 1, t.search == nil {
                lines.append(ChartSeries(name: "target", points: [(0, target), (end - start, target)]))
            }
        }
        let loadNames = Set(t.loads.map(\.name))
        var components: [String] = []
        for x in samples {
            if let c = x["component"]?.string, !components.contains(c) { components.append(c) }
        }
        for c in components where !loadNames.contains(c) {
            let mine = series(c, "component")
            for sig in ["logs", "traces", "metrics"]
            where mine.contains(where: { ($0.at("status.\(sig).received")?.number ?? 0) > 0 }) {
                lines.append(
                    ChartSeries(name: "\(c) received \(sig)", points: rates(mine, "status.\(sig).received", start)))
            }
        }
        let bands = t.search == nil ? t.phases : []
        if lines.contains(where: { !$0.points.isEmpty }) {
            s += lineChart(
                id: "throughput", title: "Throughput", xLabel: "seconds from the test's start", yLabel: "items/s",
                lines.filter { !$0.points.isEmpty }, bands: bands, format: formatRate)
        }
        // CPU and memory per component, read as their monitor kind says.
        let readers = Registry.monitors.compactMap { k in k.resources.map { (name: k.info.name, fields: $0) } }
        var cpu: [ChartSeries] = [], memory: [ChartSeries] = []
        for c in components {
            let present = readers.filter { rd in
                samples.contains { $0["component"]?.string == c && $0["source"]?.string == rd.name }
            }
            guard let reader = present.max(by: { $0.fields.precedence < $1.fields.precedence }) else { continue }
            let ps = series(c, reader.name)
            var points: [(Double, Double)] = []
            for i in 1..<Swift.max(1, ps.count) {
                let dt = ReportBuilder.sampleTime(ps[i]) - ReportBuilder.sampleTime(ps[i - 1])
                guard dt >= 0.25, let a = reader.fields.cpuSeconds(ps[i - 1]), let b = reader.fields.cpuSeconds(ps[i]),
                    b >= a
                else { continue }
                points.append((ReportBuilder.sampleTime(ps[i]) - start, (b - a) / dt))
            }
            cpu.append(ChartSeries(name: c, points: downsample(points)))
            memory.append(
                ChartSeries(
                    name: c,
                    points: downsample(
                        ps.compactMap { x in
                            reader.fields.memoryBytes(x).map { (ReportBuilder.sampleTime(x) - start, $0 / 1_048_576) }
                        })))
        }
        if cpu.contains(where: { !$0.points.isEmpty }) {
            s += lineChart(
                id: "cpu", title: "CPU", xLabel: "seconds from the test's start", yLabel: "cores",
                cpu.filter { !$0.points.isEmpty },
                bands: bands, format: { formatFixed($0, 2) })
        }
        if memory.contains(where: { !$0.points.isEmpty }) {
            s += lineChart(
                id: "memory", title: "Memory (resident)", xLabel: "seconds from the test's start", yLabel: "MiB",
                memory.filter { !$0.points.isEmpty }, bands: bands, format: { formatFixed($0, 1) })
        }
        // Latency over time, from the backends' per-second histograms.
        var latency: [ChartSeries] = []
        for c in components where !loadNames.contains(c) {
            for (what, points) in latencySeconds(series(c, "component"), start: start, end: end) {
                latency.append(ChartSeries(name: "\(c) \(what)", points: points))
            }
        }
        if !latency.isEmpty {
            s += lineChart(
                id: "latency-over-time", title: "End-to-end latency per second",
                xLabel: "seconds from the test's start",
                yLabel: "ms", latency, bands: bands, format: { formatFixed($0, 2) })
        }
        if let search = t.search { s += knee(search) }
        s += figures(t)
        return s
    }

    /// The headline figures, latency, components and hops of a test as tables.
    static func figures(_ t: TestReport) -> String {
        var s = ""
        let rows = t.signals.map { tp in
            [
                tp.signal, rate(tp.targetPerSecond), rate(tp.sentPerSecond), rate(tp.ackedPerSecond),
                tp.receivedNote != nil ? "not counted" : rate(tp.receivedPerSecond), num(tp.droppedPct, 3),
                tp.missing.map(String.init) ?? "—", tp.duplicates.map(String.init) ?? "—", num(tp.bytesPerItem, 1),
            ]
        }
        if !rows.isEmpty {
            s += "<h3>Throughput over the window (\(formatFixed(t.windowSeconds, 1)) s)</h3>\n"
            s += table(
                ["signal", "target", "sent", "acked", "received", "dropped %", "missing", "dup", "B/item"], rows,
                id: "throughput")
        }
        if !t.latencyMs.isEmpty || !t.latencyMsUncorrected.isEmpty {
            let keys = ["p50", "p90", "p99", "p99_9", "max"]
            let c = Dictionary(t.latencyMs, uniquingKeysWith: { a, _ in a })
            let u = Dictionary(t.latencyMsUncorrected, uniquingKeysWith: { a, _ in a })
            s += "<h3>End-to-end latency, ms (\(esc(t.latencyScope ?? "")))</h3>\n"
            s += table(
                ["from"] + keys,
                [
                    ["intended send time"] + keys.map { num(c[$0], 3) },
                    ["actual send time"] + keys.map { num(u[$0], 3) },
                ],
                id: "latency")
        }
        if !t.components.isEmpty {
            s += "<h3>Components</h3>\n"
            s += table(
                ["component", "cpu avg", "cpu p95", "% of allotment", "rss max MiB", "cpu per 100k/s"],
                t.components.map {
                    [
                        $0.label, num($0.cpuCoresAvg, 3), num($0.cpuCoresP95, 3), num($0.cpuPctOfAllotment, 1),
                        num($0.rssBytesMax / 1_048_576, 1), num($0.cpuPer100kPerSecond, 3),
                    ]
                }, id: "components")
        }
        if !t.hops.isEmpty {
            func n(_ v: Double?) -> String { v.map { String(Int($0)) } ?? "—" }
            s += "<h3>Hops (where items were lost)</h3>\n"
            let withRequests = t.hops.contains { $0.role == "agent" && $0.requests != nil }
            s += table(
                ["hop", "role", "in", "out", "failed"] + (withRequests ? ["requests"] : []) + ["lost", "lost %"],
                t.hops.map {
                    [$0.component, $0.role, n($0.itemsIn), n($0.itemsOut), n($0.failed)]
                        + (withRequests ? [n($0.requests)] : []) + [n($0.lost), num($0.lostPct, 3)]
                },
                id: "hops")
        }
        return s
    }

    /// The search as a knee plot: offered (x) against received (y) per step, passed ● and failed ✕, the
    /// capacity as a vertical line; then p99 per step.
    static func knee(_ search: SearchReport) -> String {
        let steps = search.steps
        guard !steps.isEmpty else { return "" }
        let maxX = Swift.max(1, steps.map(\.targetPerSecond).max() ?? 1)
        let maxY = Swift.max(maxX, steps.compactMap { $0.receivedPerSecond ?? Optional($0.sentPerSecond) }.max() ?? 1)
        let plot = Plot(xMax: maxX * 1.05, yMax: maxY * 1.05)
        var s = "<h3>Capacity search: \(formatRate(search.capacityPerSecond))/s, bound: \(search.bound.rawValue)</h3>\n"
        s += plot.open(id: "knee", points: steps.count, label: "offered against received rate per search step")
        s += plot.axes(xLabel: "offered, items/s", yLabel: "received, items/s", format: formatRate, xFormat: formatRate)
        s +=
            "<line x1=\"\(plot.x(0))\" y1=\"\(plot.y(0))\" x2=\"\(plot.x(maxX))\" y2=\"\(plot.y(maxX))\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n"
        let cx = plot.x(search.capacityPerSecond)
        s +=
            "<line data-series=\"capacity\" x1=\"\(cx)\" y1=\"\(plot.y(0))\" x2=\"\(cx)\" y2=\"\(plot.y(plot.yMax))\" stroke=\"\(palette[2])\" stroke-width=\"2\"/>\n"
        let nearRight = plot.xp(search.capacityPerSecond) > plot.width - 200
        s +=
            "<text x=\"\(formatFixed(plot.xp(search.capacityPerSecond) + (nearRight ? -4 : 4), 1))\" y=\"\(plot.top + 14)\"\(nearRight ? " text-anchor=\"end\"" : "")>capacity \(esc(formatRate(search.capacityPerSecond)))/s</text>\n"
        for st in steps {
            let x = plot.xp(st.targetPerSecond), y = plot.yp(st.receivedPerSecond ?? st.sentPerSecond)
            if st.passed {
                s +=
                    "<circle data-step=\"\(st.step)\" cx=\"\(formatFixed(x, 1))\" cy=\"\(formatFixed(y, 1))\" r=\"5\" fill=\"\(palette[0])\"><title>step \(st.step): passed</title></circle>\n"
            } else {
                s +=
                    "<path data-step=\"\(st.step)\" d=\"\(cross(x, y))\" stroke=\"\(palette[1])\" stroke-width=\"2.5\"><title>step \(st.step): \(esc(st.reason))</title></path>\n"
            }
        }
        s +=
            "<text x=\"\(plot.left)\" y=\"16\">● passed   ✕ failed   │ capacity   ┄ received = offered</text>\n</svg>\n"
        let p99 = steps.compactMap { st in st.latencyMs.first { $0.0 == "p99" }.map { (Double(st.step), $0.1) } }
        if !p99.isEmpty {
            s += lineChart(
                id: "search-p99", title: "p99 per step", xLabel: "step", yLabel: "ms",
                [ChartSeries(name: "p99", points: p99)],
                bands: [], format: { formatFixed($0, 1) })
        }
        s += table(
            ["step", "purpose", "offered", "sent", "received", "dropped %", "result"],
            steps.map {
                [
                    String($0.step), $0.purpose, rate($0.targetPerSecond), rate($0.sentPerSecond),
                    rate($0.receivedPerSecond),
                    num($0.droppedPct, 3), $0.passed ? "passed" : "failed (\($0.outcome.rawValue)): \($0.reason)",
                ]
            }, id: "search")
        return s
    }

    /// An ✕ of 10 px around (x, y), as a path.
    static func cross(_ x: Double, _ y: Double) -> String {
        func f(_ v: Double) -> String { formatFixed(v, 1) }
        return "M\(f(x - 5)) \(f(y - 5))L\(f(x + 5)) \(f(y + 5))M\(f(x - 5)) \(f(y + 5))L\(f(x + 5)) \(f(y - 5))"
    }

    static func scalingTable(_ report: RunReport) -> String {
        var rows: [[String]] = []
        for g in report.scaling {
            for p in g.points {
                rows.append([
                    g.test, formatFixed(p.cores, 0), rate(p.capacityPerSecond), p.bound.rawValue,
                    p.efficiency.map { formatFixed($0 * 100, 1) + " %" } ?? "—",
                ])
            }
        }
        return "<h2>Scaling</h2>\n" + table(["test", "cores", "capacity", "bound", "efficiency"], rows, id: "scaling")
    }

    // MARK: Series

    /// The per-second increase of the counter at `path` between consecutive readings at least 0.25 s
    /// apart (x: seconds from `start`); a counter that goes down restarts.
    static func rates(_ readings: [JSON], _ path: String, _ start: Double) -> [(Double, Double)] {
        var out: [(Double, Double)] = []
        var last: (Double, Double)? = nil
        for r in readings {
            guard let v = r.at(path)?.number else { continue }
            let t = ReportBuilder.sampleTime(r)
            if let (lt, lv) = last {
                if t - lt < 0.25 { continue }
                out.append((t - start, v >= lv ? (v - lv) / (t - lt) : v / (t - lt)))
            }
            last = (t, v)
        }
        return downsample(out)
    }

    /// At most `maxPoints` points: buckets of consecutive points averaged (or, with `peaks`, each
    /// bucket's highest value, so a latency spike is not averaged away).
    static func downsample(_ p: [(Double, Double)], peaks: Bool = false) -> [(Double, Double)] {
        guard p.count > maxPoints else { return p }
        let per = (p.count + maxPoints - 1) / maxPoints
        return stride(from: 0, to: p.count, by: per).map { i in
            let b = p[i..<Swift.min(p.count, i + per)]
            let y = peaks ? b.map(\.1).max() ?? 0 : b.map(\.1).reduce(0, +) / Double(b.count)
            return (b.map(\.0).reduce(0, +) / Double(b.count), y)
        }
    }

    /// A backend's per-second latency (`latency_seconds` in its status readings) between `start` and
    /// `end`: p50 and p99 from the intended send time and p99 from the actual one, at each second's middle.
    static func latencySeconds(_ readings: [JSON], start: Double, end: Double) -> [(String, [(Double, Double)])] {
        var byT: [Int: JSON] = [:]
        for r in readings {
            for x in r.at("status.latency_seconds")?.array ?? [] {
                if let t = x["t"]?.number, Double(t) + 1 > start, Double(t) <= end { byT[Int(t)] = x }
            }
        }
        let seconds = byT.sorted { $0.key < $1.key }
        func line(_ histogram: String, _ percentile: String) -> [(Double, Double)] {
            downsample(
                seconds.compactMap { t, x in
                    guard (x.at(histogram + ".count")?.number ?? 0) > 0,
                        let v = x.at(histogram + "." + percentile)?.number
                    else { return nil }
                    return (Double(t) + 0.5 - start, v)
                }, peaks: true)
        }
        return [
            ("p50", line("latency_ms", "p50")), ("p99", line("latency_ms", "p99")),
            ("p99 uncorrected", line("latency_ms_uncorrected", "p99")),
        ].filter { !$0.1.isEmpty }
    }

    // MARK: Drawing

    /// The plotting area and its scales.
    struct Plot {
        var width = 1100.0, height = 280.0
        var left = 80.0, right = 20.0, top = 40.0, bottom = 46.0
        var xMin = 0.0, xMax: Double, yMax: Double

        init(xMin: Double = 0, xMax: Double, yMax: Double) {
            self.xMin = xMin
            self.xMax = Swift.max(xMax, xMin + 1e-9)
            self.yMax = yMax > 0 ? yMax : 1
        }

        func xp(_ v: Double) -> Double { left + (v - xMin) / (xMax - xMin) * (width - left - right) }
        func yp(_ v: Double) -> Double { height - bottom - v / yMax * (height - top - bottom) }
        func x(_ v: Double) -> String { formatFixed(xp(v), 1) }
        func y(_ v: Double) -> String { formatFixed(yp(v), 1) }

        func open(id: String, points: Int, label: String) -> String {
            "<svg class=\"chart\" data-chart=\"\(id)\" data-points=\"\(points)\" role=\"img\" aria-label=\"\(esc(label))\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        }

        /// Axes with five ticks each, their labels and units.
        func axes(
            xLabel: String, yLabel: String, format: (Double) -> String, xFormat: ((Double) -> String)? = nil
        ) -> String {
            var s =
                "<g stroke=\"#444\"><line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\"/><line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\"/></g>\n"
            for i in 0...4 {
                let yv = yMax * Double(i) / 4, xv = xMin + (xMax - xMin) * Double(i) / 4
                s += "<line x1=\"\(left)\" y1=\"\(y(yv))\" x2=\"\(width - right)\" y2=\"\(y(yv))\" stroke=\"#ddd\"/>"
                s +=
                    "<text x=\"\(left - 6)\" y=\"\(y(yv))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(esc(format(yv)))</text>"
                s +=
                    "<text x=\"\(x(xv))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(esc(xFormat?(xv) ?? formatFixed(xv, xMax - xMin < 10 ? 1 : 0)))</text>\n"
            }
            s +=
                "<text x=\"\((left + width - right) / 2)\" y=\"\(height - 6)\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
            s +=
                "<text x=\"14\" y=\"\((top + height - bottom) / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \((top + height - bottom) / 2))\">\(esc(yLabel))</text>\n"
            return s
        }
    }

    /// A line chart: one polyline per series (colour and dash), the phases shaded, a legend on top.
    static func lineChart(
        id: String, title: String, xLabel: String, yLabel: String, _ series: [ChartSeries],
        bands: [(String, Double, Double)], format: (Double) -> String, marks: [(Double, String)] = []
    ) -> String {
        let all = series.flatMap(\.points)
        let xMax = Swift.max(all.map(\.0).max() ?? 1, bands.map(\.2).max() ?? 0)
        let xMin = Swift.min(0, all.map(\.0).min() ?? 0)
        let plot = Plot(xMin: xMin, xMax: xMax, yMax: (all.map(\.1).max() ?? 1) * 1.1)
        var s = "<h3>\(esc(title))</h3>\n"
        s += plot.open(id: id, points: all.count, label: "\(title): \(yLabel) against \(xLabel)")
        let shades = ["warmup": "#f3e9d2", "measure": "#dbe9f6", "drain": "#ececec"]
        for (name, a, b) in bands where b > a {
            s +=
                "<rect data-phase=\"\(esc(name))\" x=\"\(plot.x(a))\" y=\"\(plot.top)\" width=\"\(formatFixed((b - a) / (plot.xMax - plot.xMin) * (plot.width - plot.left - plot.right), 1))\" height=\"\(formatFixed(plot.height - plot.top - plot.bottom, 1))\" fill=\"\(shades[name] ?? "#eee")\"/>"
            s += "<text x=\"\(plot.x(a))\" y=\"\(plot.top - 4)\">\(esc(name == "measure" ? "window" : name))</text>\n"
        }
        s += plot.axes(xLabel: xLabel, yLabel: yLabel, format: format)
        for (x, label) in marks {
            s +=
                "<line data-mark=\"\(esc(label))\" x1=\"\(plot.x(x))\" y1=\"\(plot.top)\" x2=\"\(plot.x(x))\" y2=\"\(plot.y(0))\" stroke=\"\(palette[1])\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/>"
            s += "<text x=\"\(formatFixed(plot.xp(x) + 4, 1))\" y=\"\(plot.top + 12)\">\(esc(label))</text>\n"
        }
        var legendX = plot.left
        for (i, line) in series.enumerated() {
            let colour = palette[i % palette.count], dash = dashes[i % dashes.count]
            let pts = line.points.map { "\(plot.x($0.0)),\(plot.y($0.1))" }.joined(separator: " ")
            s +=
                "<polyline data-series=\"\(esc(line.name))\" data-points=\"\(line.points.count)\" points=\"\(pts)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/>\n"
            s +=
                "<line x1=\"\(legendX)\" y1=\"12\" x2=\"\(legendX + 24)\" y2=\"12\" stroke=\"\(colour)\" stroke-width=\"3\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/><text x=\"\(legendX + 28)\" y=\"16\">\(esc(line.name))</text>\n"
            legendX += 40 + Double(line.name.count) * 7
        }
        return s + "</svg>\n"
    }

    /// Means as dots with their intervals as bars, one row each, and each row's values as small ticks
    /// (a replicated test's replicates); the axis starts at zero unless a value is below it.
    static func intervalChart(
        id: String, title: String, metric: String, _ rows: [(String, Summary, [Double])]
    ) -> String {
        let lows = rows.map { r in ([r.1.ciLow ?? r.1.mean] + r.2).min() ?? r.1.mean }
        let highs = rows.map { r in ([r.1.ciHigh ?? r.1.mean] + r.2).max() ?? r.1.mean }
        let lo = Swift.min(0, lows.min() ?? 0), hi = Swift.max(highs.max() ?? 1, lo + 1e-9) * 1.05
        var plot = Plot(xMin: lo, xMax: hi, yMax: 1)
        plot.left = Swift.min(400, Swift.max(80, 20 + 7 * Double(rows.map(\.0.count).max() ?? 0)))
        plot.right = 160
        let height = 40 + 30 * rows.count
        var s = "<h3>\(esc(title))</h3>\n"
        s +=
            "<svg class=\"chart\" data-chart=\"\(id)\" data-points=\"\(rows.count)\" role=\"img\" aria-label=\"\(esc(metric)): means with their intervals\" width=\"1100\" height=\"\(height)\" viewBox=\"0 0 1100 \(height)\">\n"
        for (i, (name, sm, values)) in rows.enumerated() {
            let y = 18.0 + Double(i) * 30
            let colour = palette[i % palette.count]
            s += "<text x=\"\(plot.left - 6)\" y=\"\(formatFixed(y + 4, 1))\" text-anchor=\"end\">\(esc(name))</text>"
            s +=
                "<line x1=\"\(plot.x(sm.ciLow ?? sm.mean))\" y1=\"\(y)\" x2=\"\(plot.x(sm.ciHigh ?? sm.mean))\" y2=\"\(y)\" stroke=\"\(colour)\" stroke-width=\"4\"/>"
            for v in values {
                s +=
                    "<line data-value=\"\(esc(name))\" x1=\"\(plot.x(v))\" y1=\"\(y - 9)\" x2=\"\(plot.x(v))\" y2=\"\(y + 9)\" stroke=\"#111\" stroke-width=\"1\"/>"
            }
            let label =
                formatMetric(sm.mean, metric) + (sm.ciHigh.map { " ± " + formatMetric($0 - sm.mean, metric) } ?? "")
            s +=
                "<circle data-side=\"\(esc(name))\" cx=\"\(plot.x(sm.mean))\" cy=\"\(y)\" r=\"6\" fill=\"\(colour)\"><title>\(esc(name)): \(esc(label))</title></circle>"
            s +=
                "<text x=\"\(formatFixed(plot.xp(highs[i]) + 8, 1))\" y=\"\(formatFixed(y + 4, 1))\">\(esc(label + " (n \(sm.n))"))</text>\n"
        }
        for i in 0...4 {
            let v = lo + (hi - lo) * Double(i) / 4
            s +=
                "<text x=\"\(plot.x(v))\" y=\"\(height - 6)\" text-anchor=\"middle\">\(esc(formatMetric(v, metric)))</text>"
        }
        return s + "\n</svg>\n"
    }

    /// Horizontal bars, one per test, labelled with their values and their change against the reference.
    static func barChart(id: String, title: String, unit: String, _ bars: [(String, Double, Double?)]) -> String {
        let height = 30.0 + Double(bars.count) * 26
        let maxV = Swift.max(bars.map(\.1).max() ?? 1, 1e-9)
        var s =
            "<h3>\(esc(title))</h3>\n<svg class=\"chart\" data-chart=\"\(id)\" data-points=\"\(bars.count)\" role=\"img\" aria-label=\"\(esc(title)) per test, \(esc(unit))\" width=\"1100\" height=\"\(Int(height))\" viewBox=\"0 0 1100 \(Int(height))\">\n"
        for (i, (name, v, delta)) in bars.enumerated() {
            let y = 10.0 + Double(i) * 26
            let w = v / maxV * 600
            let value =
                unit == "ms"
                ? formatFixed(v, 2) + " ms" : unit == "cores" ? formatFixed(v, 3) + " cores" : formatRate(v) + "/s"
            let change = delta.map { " (\($0 >= 0 ? "+" : "")\(formatFixed($0, 1)) %)" } ?? ""
            s += "<text x=\"290\" y=\"\(formatFixed(y + 14, 1))\" text-anchor=\"end\">\(esc(name))</text>"
            s +=
                "<rect data-bar=\"\(esc(name))\" x=\"300\" y=\"\(formatFixed(y, 1))\" width=\"\(formatFixed(w, 1))\" height=\"18\" fill=\"\(palette[0])\"/>"
            s +=
                "<text x=\"\(formatFixed(306 + w, 1))\" y=\"\(formatFixed(y + 14, 1))\">\(esc(value + change))</text>\n"
        }
        return s + "</svg>\n"
    }
}
