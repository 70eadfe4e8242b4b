// The report's outputs: report.json (versioned schema, docs/reports.md), a console table, Markdown for a
// pull request or CI job summary, and github-action-benchmark JSON.

import PipeperfBase
import AdminHTTP
import FoundationEssentials

public enum ReportFormat: String, CaseIterable, Sendable {
    case console, json, markdown, gab
}

extension RunReport {
    public func render(_ format: ReportFormat) -> String {
        switch format {
        case .json: return json
        case .console: return table(markdown: false)
        case .markdown: return table(markdown: true)
        case .gab: return gab
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
        w.beginArray("tests")
        for t in tests {
            w.beginObject()
            w.field("name", t.name)
            w.field("status", t.status)
            if let e = t.error { w.field("error", e) } else { w.fieldNull("error") }
            w.field("window_s", t.windowSeconds, decimals: 3)
            w.field("window_complete", t.windowComplete)
            w.beginObject("throughput")
            if let tp = t.throughput {
                w.beginObject(tp.signal)
                if let v = tp.targetPerSecond {
                    w.field("target_per_s", v, decimals: 1)
                } else {
                    w.fieldNull("target_per_s")
                }
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
                if let v = tp.droppedPct { w.field("dropped_pct", v, decimals: 4) } else { w.fieldNull("dropped_pct") }
                if let v = tp.missing { w.field("missing", v) } else { w.fieldNull("missing") }
                if let v = tp.duplicates { w.field("duplicates", v) } else { w.fieldNull("duplicates") }
                if let v = tp.bytesPerItem {
                    w.field("bytes_per_item", v, decimals: 1)
                } else {
                    w.fieldNull("bytes_per_item")
                }
                w.field("late_batches", tp.lateBatches)
                w.field("in_flight", tp.inFlight)
                w.endObject()
            }
            w.endObject()
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
            w.beginObject("components")
            for c in t.components {
                w.beginObject(c.name)
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
                if c.source != "process" {
                    w.field("source", c.source)
                    if let v = c.netRxBytesPerSecond { w.field("net_rx_bytes_per_s", v, decimals: 0) }
                    if let v = c.netTxBytesPerSecond { w.field("net_tx_bytes_per_s", v, decimals: 0) }
                    if let v = c.throttledSeconds { w.field("cpu_throttled_s", v, decimals: 3) }
                }
                w.field("samples", c.samples)
                w.endObject()
            }
            w.endObject()
            w.field("invalid_reasons", t.invalidReasons)
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

    func rate(_ v: Double?) -> String { v.map(formatRate) ?? "—" }

    func table(markdown: Bool) -> String {
        var rows: [[String]] = [
            [
                "test", "status", "window s", "target/s", "sent/s", "received/s", "dropped %", "missing", "dup",
                "p50 ms", "p99 ms", "B/item",
            ]
        ]
        for t in tests {
            let tp = t.throughput
            let lat = Dictionary(t.latencyMs, uniquingKeysWith: { a, _ in a })
            rows.append([
                t.name, t.status, formatFixed(t.windowSeconds, 1), rate(tp?.targetPerSecond), rate(tp?.sentPerSecond),
                rate(tp?.receivedPerSecond),
                tp?.droppedPct.map { formatFixed($0, 3) } ?? "—", tp?.missing.map(String.init) ?? "—",
                tp?.duplicates.map(String.init) ?? "—",
                lat["p50"].map { formatFixed($0, 2) } ?? "—", lat["p99"].map { formatFixed($0, 2) } ?? "—",
                tp?.bytesPerItem.map { formatFixed($0, 1) } ?? "—",
            ])
        }
        var comp: [[String]] = [
            ["test", "component", "cpu avg", "cpu p95", "cpu max", "rss avg MiB", "rss max MiB", "cpu per 100k/s"]
        ]
        for t in tests {
            for c in t.components {
                comp.append([
                    t.name, c.name, formatFixed(c.cpuCoresAvg, 3), formatFixed(c.cpuCoresP95, 3),
                    formatFixed(c.cpuCoresMax, 3),
                    formatFixed(c.rssBytesAvg / 1_048_576, 1), formatFixed(c.rssBytesMax / 1_048_576, 1),
                    c.cpuPer100kPerSecond.map { formatFixed($0, 3) } ?? "—",
                ])
            }
        }
        var out = markdown ? "## pipeperf: \(suite) — \(status)\n\n" : "pipeperf report: \(suite) — \(status)\n\n"
        out += grid(rows, markdown: markdown)
        if comp.count > 1 { out += "\n" + grid(comp, markdown: markdown) }
        var notes: [String] = []
        for t in tests {
            for r in t.invalidReasons { notes.append("\(t.name): invalid: \(r)") }
            for a in t.assertions where !a.passed { notes.append("\(t.name): assertion \(a.message)") }
            if let e = t.error { notes.append("\(t.name): \(e)") }
            if !t.windowComplete {
                notes.append("\(t.name): the observation window is incomplete (the test stopped inside it)")
            }
        }
        if !notes.isEmpty {
            out += "\n" + notes.map { markdown ? "- \($0)" : "  \($0)" }.joined(separator: "\n") + "\n"
        }
        if let c = samplerCPUSeconds, let n = samplerSamples {
            out += "\n\(markdown ? "_" : "")sampler: \(n) samples, \(formatFixed(c, 3)) s CPU\(markdown ? "_" : "")\n"
        }
        return out
    }

    func grid(_ rows: [[String]], markdown: Bool) -> String {
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

    /// github-action-benchmark's "customBiggerIsBetter"/"customSmallerIsBetter" entries.
    public var gab: String {
        var entries: [String] = []
        func add(_ name: String, _ unit: String, _ value: Double) {
            entries.append(
                "{\"name\":\(JSONWriter.quote(name)),\"unit\":\(JSONWriter.quote(unit)),\"value\":\(formatFixed(value, 3))}"
            )
        }
        for t in tests {
            if let tp = t.throughput {
                add(
                    "\(suite)/\(t.name) \(tp.signal) received per second", "\(tp.signal)/s",
                    tp.receivedPerSecond ?? tp.ackedPerSecond)
                if let d = tp.droppedPct { add("\(suite)/\(t.name) dropped", "%", d) }
            }
            for (k, v) in t.latencyMs where k == "p99" { add("\(suite)/\(t.name) latency \(k)", "ms", v) }
            for c in t.components { add("\(suite)/\(t.name) \(c.name) cpu", "cores", c.cpuCoresAvg) }
        }
        return "[" + entries.joined(separator: ",") + "]\n"
    }
}
