// The report's outputs: report.json (versioned schema, docs/reports.md), a console table, Markdown for a
// pull request or CI job summary, and github-action-benchmark JSON.

import PipeperfBase
import AdminHTTP
import FoundationEssentials

public enum ReportFormat: String, CaseIterable, Sendable {
    case console, json, markdown
    /// github-action-benchmark applies one direction per file: higher-is-better and lower-is-better.
    case gabBigger = "gab-bigger"
    case gabSmaller = "gab-smaller"
}

extension RunReport {
    public func render(_ format: ReportFormat) -> String {
        switch format {
        case .json: return json
        case .console: return table(markdown: false)
        case .markdown: return table(markdown: true)
        case .gabBigger: return gab(biggerIsBetter: true)
        case .gabSmaller: return gab(biggerIsBetter: false)
        }
    }

    public var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.field("schema_version", RunReport.schemaVersion)
        w.field("suite", suite)
        w.field("status", status)
        w.beginObject("environment")
        for (k, v) in environment { w.field(k, v) }
        w.endObject()
        w.beginObject("provenance")
        for (what, facts) in provenance {
            w.beginObject(what)
            for (k, v) in facts {
                if k == "dirty" { w.field(k, v == "true") } else { w.field(k, v) }
            }
            w.endObject()
        }
        w.endObject()
        w.beginArray("tests")
        for t in tests {
            w.beginObject()
            w.field("name", t.name)
            w.field("base", t.base)
            w.field("replicate", t.replicate)
            w.field("replicates", t.replicates)
            w.field("status", t.status)
            if let e = t.error { w.field("error", e) } else { w.fieldNull("error") }
            w.field("window_s", t.windowSeconds, decimals: 3)
            w.field("window_complete", t.windowComplete)
            w.beginObject("throughput")
            for tp in t.signals {
                w.beginObject(tp.signal)
                writeThroughput(&w, tp)
                w.endObject()
            }
            w.endObject()
            w.beginArray("loads")
            for l in t.loads {
                w.beginObject()
                w.field("name", l.name)
                w.field("source", l.source)
                w.field("signal", l.signal)
                if let v = l.targetPerSecond {
                    w.field("target_per_s", v, decimals: 1)
                } else {
                    w.fieldNull("target_per_s")
                }
                w.field("sent_per_s", l.sentPerSecond, decimals: 1)
                w.field("acked_per_s", l.ackedPerSecond, decimals: 1)
                w.field("rates_from", l.rateSource)
                w.field("sent", l.sent)
                w.field("acked", l.acked)
                w.field("failed", l.failed)
                w.field("achieved_rate", l.achievedRate, decimals: 1)
                w.field("late_batches", l.lateBatches)
                if let v = l.planned { w.field("planned", v) } else { w.fieldNull("planned") }
                if let v = l.unsent { w.field("unsent", v) } else { w.fieldNull("unsent") }
                w.endObject()
            }
            w.endArray()
            w.beginObject("phases")
            for (p, a, b) in t.phases {
                w.beginObject(p)
                w.field("start_s", a, decimals: 3)
                w.field("end_s", b, decimals: 3)
                w.field("samples", t.samplesPerPhase.first { $0.0 == p }?.1 ?? 0)
                w.endObject()
            }
            w.endObject()
            w.beginObject("latency_ms")
            for (k, v) in t.latencyMs { w.field(k, v, decimals: 3) }
            w.endObject()
            w.beginObject("latency_ms_uncorrected")
            for (k, v) in t.latencyMsUncorrected { w.field(k, v, decimals: 3) }
            w.endObject()
            if let s = t.latencyScope { w.field("latency_scope", s) } else { w.fieldNull("latency_scope") }
            w.beginArray("hops")
            for h in t.hops {
                w.beginObject()
                w.field("component", h.component)
                w.field("role", h.role)
                func opt(_ k: String, _ v: Double?) {
                    if let v { w.field(k, v, decimals: 0) } else { w.fieldNull(k) }
                }
                opt("in", h.itemsIn)
                opt("out", h.itemsOut)
                opt("refused", h.refused)
                opt("failed", h.failed)
                opt("requests", h.requests)
                if h.replicas > 0 { w.field("replicas", h.replicas) }
                opt("lost", h.lost)
                if let v = h.lostPct { w.field("lost_pct", v, decimals: 4) } else { w.fieldNull("lost_pct") }
                w.field("from", h.from)
                w.endObject()
            }
            w.endArray()
            w.beginObject("components")
            var names = t.components.map(\.name)
            for c in t.metrics.map(\.component) where !names.contains(c) { names.append(c) }
            for name in names {
                w.beginObject(name)
                if let c = t.components.first(where: { $0.name == name }) {
                    if c.replicas > 0 { w.field("replicas", c.replicas) }
                    w.field("cpu_cores_avg", c.cpuCoresAvg, decimals: 3)
                    w.field("cpu_cores_p95", c.cpuCoresP95, decimals: 3)
                    w.field("cpu_cores_max", c.cpuCoresMax, decimals: 3)
                    w.field("rss_bytes_avg", Int(c.rssBytesAvg))
                    w.field("rss_bytes_max", Int(c.rssBytesMax))
                    if let v = c.cpuPer100kPerSecond {
                        w.field("cpu_cores_per_100k_per_s", v, decimals: 3)
                    } else {
                        w.fieldNull("cpu_cores_per_100k_per_s")
                    }
                    if let v = c.allotmentCores { w.field("allotment_cores", v, decimals: 3) }
                    if let v = c.cpuPctOfAllotment { w.field("cpu_pct_of_allotment", v, decimals: 1) }
                    if let v = c.egressBytesPerItem { w.field("egress_bytes_per_item", v, decimals: 1) }
                    w.field("source", c.source)
                    if let v = c.netRxBytesPerSecond { w.field("net_rx_bytes_per_s", v, decimals: 0) }
                    if let v = c.netTxBytesPerSecond { w.field("net_tx_bytes_per_s", v, decimals: 0) }
                    if let v = c.throttledSeconds { w.field("cpu_throttled_s", v, decimals: 3) }
                    w.field("samples", c.samples)
                }
                let metrics = t.metrics.filter { $0.component == name }
                if !metrics.isEmpty {
                    w.beginObject("metrics")
                    for (_, metric, f) in metrics {
                        w.beginObject(metric)
                        w.field("type", f.type)
                        if let v = f.delta { w.field("delta", v, decimals: 6) }
                        if let v = f.ratePerSecond { w.field("rate_per_s", v, decimals: 6) }
                        if let v = f.last { w.field("last", v, decimals: 6) }
                        if let v = f.avg { w.field("avg", v, decimals: 6) }
                        if let v = f.max { w.field("max", v, decimals: 6) }
                        w.endObject()
                    }
                    w.endObject()
                }
                w.endObject()
            }
            w.endObject()
            w.field("invalid_reasons", t.invalidReasons)
            w.field("notes", t.notes)
            w.beginArray("assertions")
            for a in t.assertions {
                w.beginObject()
                w.field("expression", a.expression)
                w.field("passed", a.passed)
                if let v = a.value { w.field("value", v, decimals: 6) } else { w.fieldNull("value") }
                w.field("message", a.message)
                w.endObject()
            }
            w.endArray()
            if let s = t.search { writeSearch(&w, s) }
            w.endObject()
        }
        w.endArray()
        if !scaling.isEmpty {
            w.beginArray("scaling")
            for g in scaling {
                w.beginObject()
                w.field("test", g.test)
                w.beginArray("points")
                for p in g.points {
                    w.beginObject()
                    w.field("cores", p.cores, decimals: 3)
                    w.field("test", p.test)
                    w.field("capacity_per_s", p.capacityPerSecond, decimals: 0)
                    w.field("bound", p.bound.rawValue)
                    if let e = p.efficiency { w.field("efficiency", e, decimals: 4) } else { w.fieldNull("efficiency") }
                    w.endObject()
                }
                w.endArray()
                w.endObject()
            }
            w.endArray()
        }
        w.beginArray("replicates")
        for r in replicateSummaries {
            w.beginObject()
            w.field("test", r.test)
            w.field("n", r.replicates.count)
            w.field("replicates", r.replicates)
            w.beginArray("excluded")
            for (name, why) in r.excluded {
                w.beginObject()
                w.field("test", name)
                w.field("reason", why)
                w.endObject()
            }
            w.endArray()
            w.field("confidence", r.confidence, decimals: 2)
            w.beginObject("metrics")
            for (path, sm, values) in r.metrics {
                w.beginObject(path)
                w.field("mean", sm.mean, decimals: 6)
                w.field("stddev", sm.stddev, decimals: 6)
                if sm.cv.isFinite { w.field("cv", sm.cv, decimals: 6) } else { w.fieldNull("cv") }
                if let v = sm.ciLow { w.field("ci_low", v, decimals: 6) } else { w.fieldNull("ci_low") }
                if let v = sm.ciHigh { w.field("ci_high", v, decimals: 6) } else { w.fieldNull("ci_high") }
                w.beginArray("values")
                for v in values { w.value(v, decimals: 6) }
                w.endArray()
                w.endObject()
            }
            w.endObject()
            w.endObject()
        }
        w.endArray()
        w.beginObject("sampler")
        if let c = samplerCPUSeconds { w.field("cpu_s", c, decimals: 6) } else { w.fieldNull("cpu_s") }
        if let n = samplerSamples { w.field("samples", n) } else { w.fieldNull("samples") }
        w.endObject()
        w.endObject()
        return w.text + "\n"
    }

    func writeSearch(_ w: inout JSONWriter, _ s: SearchReport) {
        w.beginObject("search")
        w.field("capacity_per_s", s.capacityPerSecond, decimals: 0)
        w.field("bound", s.bound.rawValue)
        w.field("precision", s.precision, decimals: 6)
        w.field("low_per_s", s.lowPerSecond, decimals: 0)
        if let h = s.highPerSecond { w.field("high_per_s", h, decimals: 0) } else { w.fieldNull("high_per_s") }
        w.field("converged", s.converged)
        w.field("reason", s.reason)
        w.beginArray("steps")
        for st in s.steps {
            w.beginObject()
            w.field("step", st.step)
            w.field("purpose", st.purpose)
            w.field("target_per_s", st.targetPerSecond, decimals: 0)
            w.field("sent_per_s", st.sentPerSecond, decimals: 1)
            if let v = st.receivedPerSecond {
                w.field("received_per_s", v, decimals: 1)
            } else {
                w.fieldNull("received_per_s")
            }
            if let v = st.droppedPct { w.field("dropped_pct", v, decimals: 4) } else { w.fieldNull("dropped_pct") }
            w.beginObject("latency_ms")
            for (k, v) in st.latencyMs { w.field(k, v, decimals: 3) }
            w.endObject()
            w.beginObject("cpu")
            for (c, v) in st.cpu { w.field(c, v, decimals: 3) }
            w.endObject()
            w.field("passed", st.passed)
            w.field("outcome", st.outcome.rawValue)
            w.field("reason", st.reason)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    func writeThroughput(_ w: inout JSONWriter, _ tp: ThroughputReport) {
        if let v = tp.targetPerSecond { w.field("target_per_s", v, decimals: 1) } else { w.fieldNull("target_per_s") }
        w.field("sent_per_s", tp.sentPerSecond, decimals: 1)
        w.field("acked_per_s", tp.ackedPerSecond, decimals: 1)
        if let v = tp.receivedPerSecond {
            w.field("received_per_s", v, decimals: 1)
        } else {
            w.fieldNull("received_per_s")
        }
        w.field("sent", tp.sent)
        w.field("acked", tp.acked)
        w.field("failed", tp.failed)
        if let v = tp.received { w.field("received", v) } else { w.fieldNull("received") }
        if let n = tp.receivedNote { w.field("received_note", n) }
        if let v = tp.receivedRequests { w.field("received_requests", v) }
        if let v = tp.droppedPct { w.field("dropped_pct", v, decimals: 4) } else { w.fieldNull("dropped_pct") }
        if let v = tp.missing { w.field("missing", v) } else { w.fieldNull("missing") }
        if let v = tp.duplicates { w.field("duplicates", v) } else { w.fieldNull("duplicates") }
        if let v = tp.bytesPerItem { w.field("bytes_per_item", v, decimals: 1) } else { w.fieldNull("bytes_per_item") }
        if let v = tp.uncompressedBytesPerItem { w.field("uncompressed_bytes_per_item", v, decimals: 1) }
        w.field("late_batches", tp.lateBatches)
        w.field("in_flight", tp.inFlight)
        w.field("loads", tp.loads)
    }

    func rate(_ v: Double?) -> String { v.map(formatRate) ?? "—" }

    func table(markdown: Bool) -> String {
        var rows: [[String]] = [
            [
                "test", "signal", "status", "window s", "target/s", "sent/s", "received/s", "dropped %", "missing",
                "dup", "p50 ms", "p99 ms", "p99 uncorr. ms", "B/item",
            ]
        ]
        for t in tests {
            let lat = Dictionary(t.latencyMs, uniquingKeysWith: { a, _ in a })
            let unc = Dictionary(t.latencyMsUncorrected, uniquingKeysWith: { a, _ in a })
            let list: [ThroughputReport?] = t.signals.isEmpty ? [nil] : t.signals
            for (i, tp) in list.enumerated() {
                let first = i == 0
                rows.append([
                    first ? t.name : "", tp?.signal ?? "—", first ? t.status : "",
                    first ? formatFixed(t.windowSeconds, 1) : "", rate(tp?.targetPerSecond), rate(tp?.sentPerSecond),
                    tp?.receivedNote != nil ? "not counted" : rate(tp?.receivedPerSecond),
                    tp?.droppedPct.map { formatFixed($0, 3) } ?? "—", tp?.missing.map(String.init) ?? "—",
                    tp?.duplicates.map(String.init) ?? "—",
                    first ? lat["p50"].map { formatFixed($0, 2) } ?? "—" : "",
                    first ? lat["p99"].map { formatFixed($0, 2) } ?? "—" : "",
                    first ? unc["p99"].map { formatFixed($0, 2) } ?? "—" : "",
                    tp?.bytesPerItem.map { formatFixed($0, 1) } ?? "—",
                ])
            }
        }
        var comp: [[String]] = [
            [
                "test", "component", "cpu avg", "cpu p95", "cpu max", "% of allotment", "rss avg MiB", "rss max MiB",
                "cpu per 100k/s", "egress B/item",
            ]
        ]
        for t in tests {
            for c in t.components {
                comp.append([
                    t.name, c.label, formatFixed(c.cpuCoresAvg, 3), formatFixed(c.cpuCoresP95, 3),
                    formatFixed(c.cpuCoresMax, 3), c.cpuPctOfAllotment.map { formatFixed($0, 1) } ?? "—",
                    formatFixed(c.rssBytesAvg / 1_048_576, 1), formatFixed(c.rssBytesMax / 1_048_576, 1),
                    c.cpuPer100kPerSecond.map { formatFixed($0, 3) } ?? "—",
                    c.egressBytesPerItem.map { formatFixed($0, 1) } ?? "—",
                ])
            }
        }
        // A requests column when a stage counts requests only (a gateway).
        let withRequests = tests.contains { $0.hops.contains { $0.role == "agent" && $0.requests != nil } }
        var hops: [[String]] = [
            ["test", "hop", "role", "in", "out", "refused", "failed"] + (withRequests ? ["requests"] : [])
                + ["lost", "lost %", "from"]
        ]
        for t in tests {
            for h in t.hops {
                func n(_ v: Double?) -> String { v.map { String(Int($0)) } ?? "—" }
                hops.append(
                    [t.name, h.component, h.role, n(h.itemsIn), n(h.itemsOut), n(h.refused), n(h.failed)]
                        + (withRequests ? [n(h.requests)] : []) + [
                            n(h.lost), h.lostPct.map { formatFixed($0, 3) } ?? "—", h.from,
                        ])
            }
        }
        var out = markdown ? "## pipeperf: \(suite) — \(status)\n\n" : "pipeperf report: \(suite) — \(status)\n\n"
        out += gridText(rows, markdown: markdown)
        if comp.count > 1 { out += "\n" + gridText(comp, markdown: markdown) }
        if hops.count > 1 { out += "\n" + gridText(hops, markdown: markdown) }
        for t in tests {
            guard let s = t.search else { continue }
            let names = s.steps.flatMap { $0.cpu.map(\.0) }.reduce(into: [String]()) {
                if !$0.contains($1) { $0.append($1) }
            }
            var steps: [[String]] = [
                ["step", "purpose", "target/s", "sent/s", "received/s", "dropped %", "p99 ms"]
                    + names.map { "\($0) cpu" }
                    + ["result"]
            ]
            for st in s.steps {
                let cpu = Dictionary(st.cpu, uniquingKeysWith: { a, _ in a })
                let p99 = st.latencyMs.first { $0.0 == "p99" }.map { formatFixed($0.1, 2) } ?? "—"
                let dropped = st.droppedPct.map { formatFixed($0, 3) } ?? "—"
                let result = st.passed ? "passed" : "failed (\(st.outcome.rawValue)): \(st.reason)"
                var row: [String] = [String(st.step), st.purpose, formatRate(st.targetPerSecond)]
                row += [formatRate(st.sentPerSecond), rate(st.receivedPerSecond), dropped, p99]
                for n in names { row.append(cpu[n].map { formatFixed($0, 2) } ?? "—") }
                row.append(result)
                steps.append(row)
            }
            let bracket = s.highPerSecond.map { " (bracket \(formatRate(s.lowPerSecond))–\(formatRate($0))/s)" } ?? ""
            out +=
                "\n\(markdown ? "**" : "")\(t.name): capacity \(formatRate(s.capacityPerSecond))/s\(bracket), bound: \(s.bound.rawValue)\(markdown ? "**" : "") — \(s.reason)\n\n"
            out += gridText(steps, markdown: markdown)
        }
        if !scaling.isEmpty {
            var rows: [[String]] = [["test", "cores", "capacity/s", "bound", "efficiency"]]
            for g in scaling {
                for p in g.points {
                    rows.append([
                        g.test, formatFixed(p.cores, p.cores == p.cores.rounded() ? 0 : 2),
                        formatRate(p.capacityPerSecond),
                        p.bound.rawValue, p.efficiency.map { formatFixed($0 * 100, 1) + " %" } ?? "—",
                    ])
                }
            }
            out += "\n" + gridText(rows, markdown: markdown)
        }
        if !replicateSummaries.isEmpty {
            let reps = [["test", "metric", "n", "mean ± 90 % interval", "cv %"]] + replicateRows
            out += "\n" + gridText(reps, markdown: markdown)
        }
        var notes: [String] = []
        for r in replicateSummaries {
            for (name, why) in r.excluded {
                notes.append("\(r.test): replicate \(name) left out of the summary: \(why)")
            }
        }
        for t in tests {
            for r in t.invalidReasons { notes.append("\(t.name): invalid: \(r)") }
            for a in t.assertions where !a.passed { notes.append("\(t.name): assertion \(a.message)") }
            if let e = t.error { notes.append("\(t.name): \(e)") }
            if !t.windowComplete {
                notes.append("\(t.name): the observation window is incomplete (the test stopped inside it)")
            }
            for tp in t.signals {
                if let n = tp.receivedNote { notes.append("\(t.name): \(tp.signal) received: \(n)") }
            }
            for n in t.notes { notes.append("\(t.name): \(n)") }
        }
        if !notes.isEmpty {
            out += "\n" + notes.map { markdown ? "- \($0)" : "  \($0)" }.joined(separator: "\n") + "\n"
        }
        var provenanceLines: [String] = []
        for (what, facts) in provenance {
            let d = Dictionary(facts, uniquingKeysWith: { a, _ in a })
            guard let commit = d["commit"], !commit.hasPrefix("unknown") else { continue }
            provenanceLines.append(
                "\(what): \(commit.prefix(12))\(d["branch"].map { " (\($0))" } ?? "")\(d["dirty"] == "true" ? " dirty" : "")"
            )
        }
        if !provenanceLines.isEmpty { out += "\n" + provenanceLines.joined(separator: markdown ? "  \n" : "\n") + "\n" }
        if let c = samplerCPUSeconds, let n = samplerSamples {
            out += "\n\(markdown ? "_" : "")sampler: \(n) samples, \(formatFixed(c, 3)) s CPU\(markdown ? "_" : "")\n"
        }
        return out
    }

}

extension RunReport {
    /// Each replicated test's headline metrics: test, metric, n, mean ± half of its interval, cv %.
    var replicateRows: [[String]] {
        var rows: [[String]] = []
        for r in replicateSummaries {
            let flat = Dictionary(uniqueKeysWithValues: r.metrics.map { ($0.path, $0.summary.mean) })
            for path in Headline.paths(flat) {
                guard let m = r.metrics.first(where: { $0.path == path }) else { continue }
                let sm = m.summary
                let half = sm.ciHigh.map { " ± " + formatMetric($0 - sm.mean, path) } ?? ""
                rows.append([
                    r.test, path, String(sm.n), formatMetric(sm.mean, path) + half,
                    sm.cv.isFinite ? formatFixed(sm.cv * 100, 1) : "—",
                ])
            }
        }
        return rows
    }
}

/// A metric's value for people: rates as rates, bytes in MiB, the rest with 3 decimals.
func formatMetric(_ v: Double, _ path: String) -> String {
    if path.hasSuffix("_per_s") { return formatRate(v) }
    if path.hasSuffix("rss_bytes_avg") || path.hasSuffix("rss_bytes_max") {
        return "\(formatFixed(v / 1_048_576, 2)) MiB"
    }
    if v == v.rounded() && Swift.abs(v) < 1e15 { return String(Int(v)) }
    return formatFixed(v, 3)
}

/// Rows as a Markdown table, or as aligned columns for the console.
func gridText(_ rows: [[String]], markdown: Bool) -> String {
    if markdown {
        var s = "| " + rows[0].joined(separator: " | ") + " |\n|" + rows[0].map { _ in " --- |" }.joined() + "\n"
        for r in rows.dropFirst() { s += "| " + r.joined(separator: " | ") + " |\n" }
        return s
    }
    var widths = [Int](repeating: 0, count: rows[0].count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = Swift.max(widths[i], c.count) } }
    return rows.map { r in
        r.enumerated().map {
            $0.element + String(repeating: " ", count: Swift.max(0, widths[$0.offset] - $0.element.count))
        }.joined(separator: "  ")
    }
    .joined(separator: "\n") + "\n"
}

extension RunReport {
    /// github-action-benchmark entries of one direction (`customBiggerIsBetter` or
    /// `customSmallerIsBetter`: the tool applies one per file), each with `extra` naming the test, its
    /// window and target.
    public func gab(biggerIsBetter: Bool) -> String {
        var entries: [String] = []
        func add(_ t: TestReport, _ name: String, _ unit: String, _ value: Double, bigger: Bool) {
            guard bigger == biggerIsBetter, value.isFinite else { return }
            let target = t.throughput?.targetPerSecond.map { "target \(formatRate($0))/s" } ?? "no target"
            let extra = "test \(t.name), window \(formatFixed(t.windowSeconds, 1)) s, \(target)"
            entries.append(
                "{\"name\":\(JSONWriter.quote(name)),\"unit\":\(JSONWriter.quote(unit)),\"value\":\(formatFixed(value, 3)),\"extra\":\(JSONWriter.quote(extra))}"
            )
        }
        for t in tests {
            if let s = t.search {
                add(t, "\(suite)/\(t.name) capacity", "items/s", s.capacityPerSecond, bigger: true)
            }
            for tp in t.signals {
                add(
                    t, "\(suite)/\(t.name) \(tp.signal) received per second", "\(tp.signal)/s",
                    tp.receivedPerSecond ?? tp.ackedPerSecond, bigger: true)
                if let d = tp.droppedPct { add(t, "\(suite)/\(t.name) \(tp.signal) dropped", "%", d, bigger: false) }
            }
            for (k, v) in t.latencyMs where k == "p50" || k == "p99" {
                add(t, "\(suite)/\(t.name) latency \(k)", "ms", v, bigger: false)
            }
            for c in t.components {
                add(t, "\(suite)/\(t.name) \(c.name) cpu", "cores", c.cpuCoresAvg, bigger: false)
                add(t, "\(suite)/\(t.name) \(c.name) memory", "MiB", c.rssBytesMax / 1_048_576, bigger: false)
                if let v = c.cpuPer100kPerSecond {
                    add(t, "\(suite)/\(t.name) \(c.name) cpu per 100k/s", "cores", v, bigger: false)
                }
            }
        }
        return "[" + entries.joined(separator: ",\n") + "]\n"
    }
}
