// The run's own telemetry: with --otlp-endpoint and --export-traces / --export-metrics, the suite,
// tests, steps, component phases and hooks become spans (from the event timeline), and each test's
// report figures become gauges, sent over OTLP/HTTP (binary protobuf POST to /v1/traces and
// /v1/metrics) with the project's own OTLPWire encoder and the orchestrator's HTTP/1.1 client.
// Chosen over swift-otel: no extra 7-minute dependency build, the encoder is the one the load
// generator is validated with, and the fake backend receives it as proof.

import FoundationEssentials
import PipeperfBase

import OTLPWire

public enum SelfTelemetry {
    /// Spans from the event timeline: one trace for the run.
    public static func spans(_ events: [RunEvent], suite: String) -> [Span] {
        var rng = SplitMix64(seed: SystemClock.unixNanos())
        func id(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        let trace = id(16)
        struct Open {
            var name: String; var start: UInt64; var id: [UInt8]; var parent: [UInt8]; var attributes: [KeyValue]
        }
        var open: [String: Open] = [:]
        var spans: [Span] = []
        var suiteID: [UInt8] = []
        var testIDs: [String: [UInt8]] = [:]
        var stepIDs: [String: [UInt8]] = [:]
        func parent(_ e: RunEvent) -> [UInt8] {
            if let t = e.test, let s = e.step, let id = stepIDs["\(t)|\(s)"] { return id }
            if let t = e.test, let id = testIDs[t] { return id }
            return suiteID
        }
        for e in events {
            let attrs = e.attributes.map { KeyValue($0.0, .string($0.1)) }
            let key: String, name: String, starting: Bool
            switch e.name {
            case "suite_start", "suite_end": key = "suite"; name = "suite \(suite)"; starting = e.name == "suite_start"
            case "test_start", "test_end":
                key = "test|\(e.test ?? "")"; name = "test \(e.test ?? "")"; starting = e.name == "test_start"
            case "step_start", "step_end":
                key = "step|\(e.test ?? "")|\(e.step ?? "")"; name = "step \(e.step ?? "")";
                starting = e.name == "step_start"
            case "phase_start", "phase_end":
                let phase = e.attributes.first { $0.0 == "phase" }?.1 ?? ""
                key = "phase|\(e.component ?? "")|\(phase)"; name = "\(phase) \(e.component ?? "")";
                starting = e.name == "phase_start"
            case "hook_start", "hook_end":
                let hook = e.attributes.first { $0.0 == "hook" }?.1 ?? ""
                key = "hook|\(hook)|\(e.attributes.first { $0.0 == "point" }?.1 ?? "")"; name = "hook \(hook)";
                starting = e.name == "hook_start"
            default: continue
            }
            if starting {
                let spanID = id(8)
                open[key] = Open(
                    name: name, start: e.unixNanos, id: spanID, parent: key == "suite" ? [] : parent(e),
                    attributes: attrs)
                if key == "suite" { suiteID = spanID }
                if e.name == "test_start", let t = e.test { testIDs[t] = spanID }
                if e.name == "step_start", let t = e.test, let s = e.step { stepIDs["\(t)|\(s)"] = spanID }
            } else if let o = open.removeValue(forKey: key) {
                let failed =
                    e.attributes.contains { $0.0 == "status" && $0.1 != "passed" }
                    || e.attributes.contains { $0.0 == "error" }
                spans.append(
                    Span(
                        traceID: trace, spanID: o.id, parentSpanID: o.parent, name: o.name, startTimeUnixNano: o.start,
                        endTimeUnixNano: e.unixNanos, attributes: o.attributes + attrs,
                        status: SpanStatus(code: failed ? 2 : 1)))
            }
        }
        return spans
    }

    /// Gauges of each test's report figures.
    public static func metrics(_ report: RunReport, at time: UInt64) -> [Metric] {
        var out: [Metric] = []
        func gauge(_ name: String, _ unit: String, _ points: [(Double, [KeyValue])]) {
            guard !points.isEmpty else { return }
            out.append(
                Metric(
                    name: name, unit: unit,
                    data: .gauge(
                        points.map { NumberDataPoint(timeUnixNano: time, value: .double($0.0), attributes: $0.1) })))
        }
        var received: [(Double, [KeyValue])] = [], dropped: [(Double, [KeyValue])] = [],
            p99: [(Double, [KeyValue])] = [], cpu: [(Double, [KeyValue])] = []
        for t in report.tests {
            let test = KeyValue("pipeperf.test", .string(t.name))
            if let tp = t.throughput {
                received.append(
                    (
                        tp.receivedPerSecond ?? tp.ackedPerSecond,
                        [test, KeyValue("pipeperf.signal", .string(tp.signal))]
                    ))
                if let d = tp.droppedPct { dropped.append((d, [test])) }
            }
            if let v = t.latencyMs.first(where: { $0.0 == "p99" })?.1 { p99.append((v, [test])) }
            for c in t.components {
                cpu.append((c.cpuCoresAvg, [test, KeyValue("pipeperf.component", .string(c.name))]))
            }
        }
        gauge("pipeperf.test.received_rate", "{item}/s", received)
        gauge("pipeperf.test.dropped", "%", dropped)
        gauge("pipeperf.test.latency.p99", "ms", p99)
        gauge("pipeperf.component.cpu", "{core}", cpu)
        return out
    }

    static func resource(_ suite: String) -> Resource {
        Resource(attributes: [
            KeyValue("service.name", .string("pipeperf")), KeyValue("pipeperf.suite", .string(suite)),
        ])
    }

    static let scope = InstrumentationScope(name: "pipeperf.orchestrator", version: "0.1.0")

    /// Sends what was asked; returns a problem to report, or nil.
    public static func export(endpoint: HTTPURL, traces: [Span]?, metrics: [Metric]?, suite: String) -> String? {
        var problems: [String] = []
        if let traces, !traces.isEmpty {
            let request = ExportRequest<Span>(resources: [
                ResourceItems(resource: resource(suite), scopes: [ScopeItems(scope: scope, items: traces)])
            ])
            if let p = post(request.encodedBytes(), to: endpoint, path: "/v1/traces") { problems.append(p) }
        }
        if let metrics, !metrics.isEmpty {
            let request = ExportRequest<Metric>(resources: [
                ResourceItems(resource: resource(suite), scopes: [ScopeItems(scope: scope, items: metrics)])
            ])
            if let p = post(request.encodedBytes(), to: endpoint, path: "/v1/metrics") { problems.append(p) }
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    static func post(_ body: [UInt8], to endpoint: HTTPURL, path: String) -> String? {
        let url = HTTPURL(
            host: endpoint.host, port: endpoint.port, path: (endpoint.path == "/" ? "" : endpoint.path) + path)
        do {
            let r = try HTTPClient.request(
                "POST", url, bodyBytes: body, contentType: "application/x-protobuf", timeoutNanos: 10_000_000_000)
            return (200..<300).contains(r.status)
                ? nil : "OTLP export to \(url.host):\(url.port)\(url.path) answered \(r.status)"
        } catch {
            return "OTLP export to \(url.host):\(url.port)\(url.path) failed: \(error)"
        }
    }
}
