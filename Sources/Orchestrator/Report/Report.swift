// The report of a run: a pure function of the run folder's records. Per test: the measurement window
// (between the test's observation_start and observation_stop events); every rate over it is computed
// from the counting components' own readings at the window's edges (samples marked `edge`, each
// stamped with the time the component read its counters); per load generator and per signal sent /
// acked / received, dropped %, the fake backend's missing and duplicates (a sink that does not count
// items says so), end-to-end latency from the intended and from the actual send time over the window,
// the hops from the load to the backend with the loss at each, every scraped metric, and per component
// CPU, memory and cost per item. Documented in docs/reports.md.

import PipeperfBase
import AdminHTTP

/// One load generator's figures in a test.
public struct LoadReport: Sendable {
    public var name: String
    public var signal = "logs"
    public var targetPerSecond: Double? = nil
    public var sentPerSecond = 0.0
    public var ackedPerSecond = 0.0
    public var sent = 0
    public var acked = 0
    public var failed = 0
    public var rejected = 0
    public var inFlight = 0
    public var lateBatches = 0
    /// Export requests (batches) it sent.
    public var batches: Int? = nil
    /// `loadgen`, or `sdk` (the OpenTelemetry SDK emitters of an sdk execution).
    public var source = "loadgen"
    public var achievedRate = 0.0
    public var planned: Int? = nil
    public var unsent: Int? = nil
    public var bytesWire: Double? = nil
    public var bytesUncompressed: Double? = nil
    public var durationSeconds = 0.0
    /// `edges` (readings at both window edges), `samples` (readings inside the window), `totals` (its
    /// whole run: no readings).
    public var rateSource = "totals"
    /// Its CPU time per second of its run and thread (1 = every thread busy all the time).
    public var cpuPerThread: Double? = nil
    /// The most requests it had in flight in any reading of the window (edges included), and the most
    /// it may have in flight (threads × connections × max in flight).
    public var inFlightMax: Double? = nil
    public var inFlightLimit: Double? = nil
}

public struct ThroughputReport: Sendable {
    /// The signal, or `total` for the sum over signals.
    public var signal = "logs"
    public var targetPerSecond: Double? = nil
    public var sentPerSecond = 0.0
    public var ackedPerSecond = 0.0
    public var receivedPerSecond: Double? = nil
    public var sent = 0
    public var acked = 0
    public var failed = 0
    public var received: Int? = nil
    /// Why `received` is absent although a backend was read ("not counted by this sink").
    public var receivedNote: String? = nil
    /// Requests the backend received (a sink that counts requests only).
    public var receivedRequests: Int? = nil
    public var droppedPct: Double? = nil
    public var missing: Int? = nil
    public var duplicates: Int? = nil
    public var bytesPerItem: Double? = nil
    public var uncompressedBytesPerItem: Double? = nil
    public var lateBatches = 0
    public var achievedRate = 0.0
    /// Sent but neither acked, failed nor rejected when the load stopped (still in flight; not loss).
    public var inFlight = 0
    public var loads = 0
}

/// A scraped metric over the window: counters give `delta` and `rate_per_s`, gauges `last`, `avg`, `max`.
public struct MetricFigures: Sendable {
    public var type: String
    public var delta: Double? = nil
    public var ratePerSecond: Double? = nil
    public var last: Double? = nil
    public var avg: Double? = nil
    public var max: Double? = nil
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
    /// The cores the component may use (its `cpus` limit or CPU list), and its CPU as % of them.
    public var allotmentCores: Double? = nil
    public var cpuPctOfAllotment: Double? = nil
    /// Network bytes sent per item it passed on (network counters and item counts in the window).
    public var egressBytesPerItem: Double? = nil
    /// For a replicated component's sum (`replicas: N`): how many copies it sums (0: one component).
    public var replicas = 0

    /// Its name in tables: a sum of copies says so.
    public var label: String { replicas > 0 ? "\(name) (sum of \(replicas))" : name }
}

/// One stage from the load to the backend: what it received and passed on over the test, and what was
/// lost between the previous stage and this one.
public struct HopReport: Sendable {
    public var component: String
    /// `load`, `agent` or `backend`.
    public var role: String
    public var itemsIn: Double? = nil
    public var itemsOut: Double? = nil
    public var refused: Double? = nil
    public var failed: Double? = nil
    /// Requests it served, for a stage that does not know items (a gateway's request counter).
    public var requests: Double? = nil
    /// A replicated component's copies summed into this stage (0: one component).
    public var replicas = 0
    /// Items the previous stage passed on that this one did not receive (nil for the first).
    public var lost: Double? = nil
    public var lostPct: Double? = nil
    /// Where the counts come from: `loadgen`, `snapshot`, `otelcol` metric names, or the suite's `hops`.
    public var from: String
}

public struct AssertionResult: Sendable {
    public var expression: String
    public var passed: Bool
    public var value: Double?
    public var message: String
}

public struct TestReport: Sendable {
    public var name: String
    /// The test this one repeats (its own name without `#<k>`; the name itself when not replicated),
    /// which repetition, and of how many.
    public var base: String {
        get { baseName ?? name }
        set { baseName = newValue }
    }
    var baseName: String? = nil
    public var replicate = 1
    public var replicates = 1
    public var status: String
    public var error: String?
    public var windowSeconds: Double
    public var windowComplete: Bool
    /// Per signal, then `total` when the test has several signals.
    public var signals: [ThroughputReport] = []
    public var loads: [LoadReport] = []
    /// End-to-end latency from the intended send time (corrected for coordinated omission) and from
    /// the actual send time, over the window (or the backend's life when it has no window: `latencyScope`).
    public var latencyMs: [(String, Double)] = []
    public var latencyMsUncorrected: [(String, Double)] = []
    public var latencyScope: String? = nil
    public var components: [ComponentReport] = []
    /// Scraped metrics per component (`components.<c>.metrics.<name>`).
    public var metrics: [(component: String, name: String, figures: MetricFigures)] = []
    public var hops: [HopReport] = []
    public var invalidReasons: [String] = []
    public var notes: [String] = []
    public var assertions: [AssertionResult] = []
    /// The test's phases from the timeline (seconds from the test's start): warm-up (load started →
    /// observation_start), measure (the window), drain (observation_stop → the load's stop and the end).
    public var phases: [(String, Double, Double)] = []
    /// Samples taken in each phase.
    public var samplesPerPhase: [(String, Int)] = []
    /// A capacity search's steps and result (its headline figures are those of the step at the capacity).
    public var search: SearchReport? = nil

    /// The headline: the total over signals when there are several, else the one signal.
    public var throughput: ThroughputReport? { signals.last }
}

public struct RunReport: Sendable {
    public static let schemaVersion = 2
    public var suite: String
    public var status: String
    public var folder: String
    public var environment: [(String, String)]
    /// Where the numbers came from: `code` (the suite's `code: path`) and `pipeperf`, each with commit,
    /// branch and dirty.
    public var provenance: [(String, [(String, String)])] = []
    public var tests: [TestReport]
    /// The sampler's own CPU time and sample count (its cost).
    public var samplerCPUSeconds: Double?
    public var samplerSamples: Int?
    /// Per replicated test: every metric's mean, spread and interval over its replicates.
    public var replicateSummaries: [ReplicateSummary] = []
    /// When the run started (unix seconds, from its first event).
    public var startedUnix: Double? = nil
    /// Capacity per core count across a matrix over `cores` of search tests.
    public var scaling: [ScalingReport] = []
}

public enum ReportBuilder {
    /// Computes the report of the run folder's records.
    public static func build(_ r: RunRecords) -> RunReport {
        var env: [(String, String)] = []
        if case .object(let o)? = r.meta["environment"] {
            for k in o.keys.sorted() { env.append((k, o[k]?.string ?? o[k]?.number.map { String($0) } ?? "")) }
        }
        var provenance: [(String, [(String, String)])] = []
        for what in ["code", "pipeperf"] {
            guard case .object(let o)? = r.meta["provenance"]?[what] else { continue }
            provenance.append(
                (what, o.keys.sorted().map { ($0, o[$0]?.string ?? o[$0]?.bool.map { String($0) } ?? "") }))
        }
        var tests: [TestReport] = []
        let assertionsByTest = r.meta["assertions"]
        for t in r.status["tests"]?.array ?? [] {
            guard let name = t["name"]?.string else { continue }
            let facts = r.meta["tests"]?[name]
            let status = t["status"]?.string ?? "unknown", error = t["error"]?.string
            var report: TestReport
            if let spec = facts?["search"] {
                // A search: the headline is the step at the capacity, under the test's name and status.
                let (search, at) = SearchReport.build(name, spec: spec, r)
                report = at ?? test(name, status: status, error: error, r)
                report.name = name
                report.status = at?.status == "invalid" && status == "passed" ? "invalid" : status
                report.error = error
                report.search = search
                report.notes += search.notes
            } else {
                report = test(name, status: status, error: error, r)
            }
            report.base = facts?["base"]?.string ?? name
            report.replicate = facts?["replicate"]?.number.map { Int($0) } ?? 1
            report.replicates = facts?["replicates"]?.number.map { Int($0) } ?? 1
            let exprs = (assertionsByTest?[name]?.array ?? []).compactMap(\.string)
            if !exprs.isEmpty {
                let values = flatten(report)
                report.assertions = exprs.map { e in
                    var a = evaluate(e, in: values)
                    // A figure the backend cannot give says why, rather than "not in the report".
                    if a.value == nil, let note = report.throughput?.receivedNote,
                        ["dropped_pct", "missing", "received", "duplicates"].contains(where: { e.contains($0) })
                    {
                        a.message = "\(e): \(note)"
                    }
                    return a
                }
                if report.status == "passed" && report.assertions.contains(where: { !$0.passed }) {
                    report.status = "failed"
                }
            }
            tests.append(report)
        }
        let sampler = r.samples.last { $0["source"]?.string == "sampler" }
        var status = r.status["status"]?.string ?? "unknown"
        if status == "passed" && tests.contains(where: { $0.status == "failed" }) { status = "failed" }
        var report = RunReport(
            suite: r.status["suite"]?.string ?? "", status: status, folder: r.folder, environment: env,
            provenance: provenance, tests: tests, samplerCPUSeconds: sampler?["cpu_s"]?.number,
            samplerSamples: sampler?["samples"]?.number.map { Int($0) })
        report.replicateSummaries = ReplicateSummary.build(tests)
        report.scaling = ScalingReport.build(tests, meta: r.meta)
        report.startedUnix = r.events.first.map(eventTime)
        return report
    }

    static func eventTime(_ e: JSON) -> Double { (e["time_unix_nano"]?.number ?? 0) / 1e9 }
    static func sampleTime(_ s: JSON) -> Double { (s["t"]?.number ?? 0) / 1e9 }

    /// The samples of one test, its window and its readings.
    struct Window {
        var name: String
        var start: Double
        var end: Double
        var testStart: Double
        var testEnd: Double
        var samples: [JSON]
        /// Components this test deployed (an external endpoint excepted): their counters began at zero
        /// in the test, so a counter's first reading is part of its increase, not a baseline.
        var deployedHere: Set<String> = []

        /// A counter's increase over the test's readings: from zero for a component this test deployed.
        func increase(_ component: String, _ values: [Double]) -> Double {
            ReportBuilder.rises(values, fromZero: values.count == 1 || deployedHere.contains(component))
        }

        /// A component's readings of one source that bound and fill the window: its edge readings of this
        /// test and the regular readings between the edges (or inside the window without edges), by time.
        func series(_ component: String, _ source: String) -> [JSON] {
            let mine = samples.filter { $0["component"]?.string == component && $0["source"]?.string == source }
            let edges = mine.filter { $0["edge"] != nil && $0["test"]?.string == name }
            let first = edges.first { $0["edge"]?.string == "start" }.map(sampleTime)
            let last = edges.last { $0["edge"]?.string == "stop" }.map(sampleTime)
            return mine.filter { s in
                let t = sampleTime(s)
                if s["edge"] != nil { return s["test"]?.string == name }
                // Between this test's edge readings; without them (an older run), inside the window.
                if let first, let last { return t > first && t < last }
                return t >= (first ?? start) && t <= (last ?? end)
            }.sorted { sampleTime($0) < sampleTime($1) }
        }

        /// Whether both edge readings of `component`'s `source` exist.
        func hasEdges(_ component: String, _ source: String) -> Bool {
            let e = samples.filter {
                $0["component"]?.string == component && $0["source"]?.string == source && $0["test"]?.string == name
            }
            return e.contains { $0["edge"]?.string == "start" } && e.contains { $0["edge"]?.string == "stop" }
        }

        /// The readings of the whole test (first to last), for totals over the test.
        func testSeries(_ component: String, _ source: String) -> [JSON] {
            samples.filter {
                $0["component"]?.string == component && $0["source"]?.string == source
                    && sampleTime($0) >= testStart - 0.001 && sampleTime($0) <= testEnd + 0.001
            }.sorted { sampleTime($0) < sampleTime($1) }
        }
    }

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
        var w = Window(
            name: name, start: windowStart, end: windowEnd, testStart: testStart, testEnd: testEnd,
            samples: r.samples.filter { $0["source"]?.string != "sampler" })
        for e in events where e["name"]?.string == "phase_start" && e["attributes"]?["phase"]?.string == "deploy" {
            if let c = e["component"]?.string, r.meta["components"]?[c]?["deployment"]?.string != "external" {
                w.deployedHere.insert(c)
            }
        }
        for e in events where e["name"]?.string == "monitor_silent" {
            report.notes.append(
                "\(e["component"]?.string ?? "")'s \(e["attributes"]?["source"]?.string ?? "") monitor read nothing: \(e["attributes"]?["reason"]?.string ?? "")"
            )
        }
        if start != nil {
            report.phases = [
                ("warmup", loadStart - testStart, windowStart - testStart),
                ("measure", windowStart - testStart, windowEnd - testStart),
                ("drain", windowEnd - testStart, testEnd - testStart),
            ]
            let tagged = w.samples.compactMap { s -> String? in
                let t = sampleTime(s)
                if s["edge"] != nil { return s["test"]?.string == name ? "measure" : nil }
                if t >= loadStart && t < windowStart { return "warmup" }
                if t >= windowStart && t <= windowEnd { return "measure" }
                if t > windowEnd && t <= testEnd { return "drain" }
                return nil
            }
            report.samplesPerPhase = ["warmup", "measure", "drain"].map { p in (p, tagged.filter { $0 == p }.count) }
            // Stopping the load inside the window would dilute every rate.
            for e in events where e["name"]?.string == "load_stop_requested" {
                let t = eventTime(e)
                if t > windowStart && t < windowEnd {
                    report.invalidReasons.append(
                        "the load '\(e["component"]?.string ?? "")' was stopped inside the observation window (stop it after observation_stop)"
                    )
                }
            }
        }
        let files = r.testFiles[safeName(name)] ?? [:]
        var components = r.meta["components"]
        // A matrix expansion's components carry their own allotments (a matrix over `cores`).
        if case .object(var all)? = components, case .object(let own)? = r.meta["tests"]?[name]?["allotments"] {
            for (c, v) in own {
                if case .object(var o)? = all[c] {
                    o["allotment_cores"] = v
                    all[c] = .object(o)
                }
            }
            components = .object(all)
        }
        loadsAndSignals(&report, files: files, window: w)
        latency(&report, files: files, window: w)
        let backends = files.keys.filter { $0.hasSuffix(".snapshot") }.map { String($0.dropLast(".snapshot".count)) }
        resources(&report, window: w, components: components, backends: backends)
        scraped(&report, window: w)
        hops(&report, files: files, window: w, components: components, order: r.meta["component_order"])
        if !report.invalidReasons.isEmpty && report.status == "passed" { report.status = "invalid" }
        return report
    }

    // MARK: Loads and signals

    static func loadsAndSignals(_ report: inout TestReport, files: [String: JSON], window w: Window) {
        // loadgen's summary, or the sdk execution's in the same shape.
        for lf in files.keys.sorted() where lf.hasSuffix(".loadgen.json") || lf.hasSuffix(".sdk.json") {
            guard let load = files[lf] else { continue }
            let suffix = lf.hasSuffix(".sdk.json") ? ".sdk.json" : ".loadgen.json"
            var l = LoadReport(name: String(lf.dropLast(suffix.count)))
            l.source = suffix == ".sdk.json" ? "sdk" : "loadgen"
            l.signal = load["signal"]?.string ?? "logs"
            l.targetPerSecond = load["target_rate"]?.number
            l.sent = Int(load["sent"]?.number ?? 0)
            l.acked = Int(load["acked"]?.number ?? 0)
            l.failed = Int(load["failed"]?.number ?? 0)
            l.rejected = Int(load["rejected"]?.number ?? 0)
            l.lateBatches = Int(load["late_batches"]?.number ?? 0)
            l.batches = load["batches"]?.number.map { Int($0) }
            l.achievedRate = load["achieved_rate"]?.number ?? 0
            l.planned = load["planned"]?.number.map { Int($0) }
            l.unsent = load["unsent"]?.number.map { Int($0) }
            l.inFlight = Swift.max(0, l.sent - l.acked - l.failed - l.rejected)
            l.bytesWire = load["bytes_wire"]?.number
            l.bytesUncompressed = load["bytes_uncompressed"]?.number
            let duration = load["duration_s"]?.number ?? 0
            l.durationSeconds = duration
            let series = w.series(l.name, "component")
            if let rate = windowRate(series, "status.sent") {
                l.sentPerSecond = rate
                l.ackedPerSecond = windowRate(series, "status.acked") ?? 0
                l.rateSource = w.hasEdges(l.name, "component") ? "edges" : "samples"
            } else if duration > 0 {
                l.sentPerSecond = Double(l.sent) / duration
                l.ackedPerSecond = Double(l.acked) / duration
            }
            // Validity: the load generator must have kept up and had CPU to spare.
            if let target = l.targetPerSecond, target > 0, l.achievedRate < target * 0.97 {
                report.invalidReasons.append(
                    "the load generator '\(l.name)' reached \(formatFixed(l.achievedRate * 100 / target, 1)) % of its target rate (under 97 %): the numbers describe the generator, not the pipeline"
                )
            }
            let threads = load["threads"]?.number ?? 1
            if let cpu = load["cpu_seconds"]?.number, duration > 0 { l.cpuPerThread = cpu / duration / threads }
            if let c = load["connections"]?.number, let m = load["max_in_flight"]?.number {
                l.inFlightLimit = threads * c * m
            }
            l.inFlightMax = series.compactMap { $0.at("status.in_flight")?.number }.max()
            if let busy = l.cpuPerThread, busy > 0.8 {
                report.invalidReasons.append(
                    "the load generator '\(l.name)' used \(formatFixed(busy * 100, 0)) % of its \(Int(threads)) thread(s)' CPU (over 80 %)"
                )
            }
            report.loads.append(l)
        }
        // The backends: every snapshot that holds per-signal counts.
        let backends = files.keys.sorted().compactMap { k -> (String, JSON)? in
            guard k.hasSuffix(".snapshot"), let j = files[k], j["logs"] != nil || j["traces"] != nil else { return nil }
            return (String(k.dropLast(".snapshot".count)), j)
        }
        var signals: [String] = []
        for l in report.loads where !signals.contains(l.signal) { signals.append(l.signal) }
        for sig in signals {
            let loads = report.loads.filter { $0.signal == sig }
            var tp = ThroughputReport()
            tp.signal = sig
            tp.loads = loads.count
            let targets = loads.compactMap(\.targetPerSecond)
            tp.targetPerSecond = targets.count == loads.count ? targets.reduce(0, +) : nil
            tp.sent = loads.map(\.sent).reduce(0, +)
            tp.acked = loads.map(\.acked).reduce(0, +)
            tp.failed = loads.map(\.failed).reduce(0, +)
            tp.inFlight = loads.map(\.inFlight).reduce(0, +)
            tp.lateBatches = loads.map(\.lateBatches).reduce(0, +)
            tp.achievedRate = loads.map(\.achievedRate).reduce(0, +)
            tp.sentPerSecond = loads.map(\.sentPerSecond).reduce(0, +)
            tp.ackedPerSecond = loads.map(\.ackedPerSecond).reduce(0, +)
            let wire = loads.compactMap(\.bytesWire)
            if tp.sent > 0, wire.count == loads.count { tp.bytesPerItem = wire.reduce(0, +) / Double(tp.sent) }
            let raw = loads.compactMap(\.bytesUncompressed)
            if tp.sent > 0, raw.count == loads.count {
                tp.uncompressedBytesPerItem = raw.reduce(0, +) / Double(tp.sent)
            }
            var received = 0, counted = false, requests = 0
            var missing: Int? = nil, duplicates: Int? = nil
            var rate: Double? = nil
            for (backend, snap) in backends {
                guard let s = snap[sig] else { continue }
                if snap["counts_items"]?.bool == false || (s["received"] == nil && s["requests"] != nil) {
                    // A sink that counts requests only (the null sink): not a count of zero items.
                    requests += Int(s["requests"]?.number ?? 0)
                    tp.receivedNote = "not counted by this sink (\(backend) counts requests, not items)"
                    continue
                }
                counted = true
                received += Int(s["received"]?.number ?? 0)
                if let m = s["missing"]?.number { missing = (missing ?? 0) + Int(m) }
                if let d = s["duplicates"]?.number { duplicates = (duplicates ?? 0) + Int(d) }
                let path = "status.\(sig).received"
                let series = w.series(backend, "component")
                if let r = windowRate(series, path) { rate = (rate ?? 0) + r }
            }
            if counted {
                tp.receivedNote = nil
                tp.received = received
                tp.missing = missing
                tp.duplicates = duplicates
                // Dropped: sent but never received (as integers: never negative, never wrapping); what was
                // still in flight when the load stopped is reported as such, not as loss.
                let settled = tp.sent - tp.inFlight
                tp.droppedPct = settled > 0 ? Double(Swift.max(0, settled - received)) * 100 / Double(settled) : 0
                // Without the backend's readings: its count over the load's run (a total, not the window).
                let duration = loads.map(\.durationSeconds).max() ?? 0
                tp.receivedPerSecond = rate ?? (duration > 0 ? Double(received) / duration : nil)
            } else if tp.receivedNote != nil {
                tp.receivedRequests = requests
            }
            report.signals.append(tp)
        }
        if report.signals.count > 1 {
            var t = ThroughputReport()
            t.signal = "total"
            let all = report.signals
            t.loads = report.loads.count
            t.targetPerSecond =
                all.allSatisfy { $0.targetPerSecond != nil } ? all.compactMap(\.targetPerSecond).reduce(0, +) : nil
            t.sent = all.map(\.sent).reduce(0, +)
            t.acked = all.map(\.acked).reduce(0, +)
            t.failed = all.map(\.failed).reduce(0, +)
            t.inFlight = all.map(\.inFlight).reduce(0, +)
            t.lateBatches = all.map(\.lateBatches).reduce(0, +)
            t.achievedRate = all.map(\.achievedRate).reduce(0, +)
            t.sentPerSecond = all.map(\.sentPerSecond).reduce(0, +)
            t.ackedPerSecond = all.map(\.ackedPerSecond).reduce(0, +)
            if all.allSatisfy({ $0.received != nil }) {
                t.received = all.compactMap(\.received).reduce(0, +)
                let settled = t.sent - t.inFlight
                t.droppedPct = settled > 0 ? Double(Swift.max(0, settled - t.received!)) * 100 / Double(settled) : 0
                if all.allSatisfy({ $0.missing != nil }) { t.missing = all.compactMap(\.missing).reduce(0, +) }
                if all.allSatisfy({ $0.duplicates != nil }) { t.duplicates = all.compactMap(\.duplicates).reduce(0, +) }
                if all.allSatisfy({ $0.receivedPerSecond != nil }) {
                    t.receivedPerSecond = all.compactMap(\.receivedPerSecond).reduce(0, +)
                }
            } else {
                t.receivedNote = all.compactMap(\.receivedNote).first
            }
            report.signals.append(t)
        }
    }

    // MARK: Latency

    static func latency(_ report: inout TestReport, files: [String: JSON], window w: Window) {
        func percentiles(_ j: JSON?) -> [(String, Double)] {
            guard case .object(let lat)? = j, (lat["count"]?.number ?? 1) > 0 else { return [] }
            return ["p50", "p90", "p99", "p99_9", "max"].compactMap { k in lat[k]?.number.map { (k, $0) } }
        }
        for k in files.keys.sorted() where k.hasSuffix(".snapshot") {
            guard let snap = files[k], snap["latency_ms"] != nil else { continue }
            let backend = String(k.dropLast(".snapshot".count))
            // The backend's window histograms, read with its stop-edge reading.
            let stopEdge = w.samples.last {
                $0["component"]?.string == backend && $0["source"]?.string == "component"
                    && $0["edge"]?.string == "stop"
                    && $0["test"]?.string == w.name
            }
            if let win = stopEdge?.at("status.window") {
                report.latencyMs = percentiles(win["latency_ms"])
                report.latencyMsUncorrected = percentiles(win["latency_ms_uncorrected"])
                report.latencyScope = "window"
            } else {
                // A backend without a window: its whole life, warm-up and drain included.
                report.latencyMs = snap["latency_ms_uncorrected"] == nil ? [] : percentiles(snap["latency_ms"])
                report.latencyMsUncorrected = percentiles(snap["latency_ms_uncorrected"] ?? snap["latency_ms"])
                report.latencyScope = "backend lifetime"
                report.notes.append(
                    "latency is over \(backend)'s whole life (warm-up and drain included): it has no measurement window (monitor it with `component:` to get one)"
                )
            }
            if report.latencyMs.isEmpty && !report.latencyMsUncorrected.isEmpty {
                report.notes.append(
                    "latency_ms (from the intended send time) is absent: the items carry no pipeperf.intended_ns; latency_ms_uncorrected hides the time a late generator made them wait"
                )
            }
            return
        }
    }

    // MARK: CPU, memory, cost per item

    static func resources(_ report: inout TestReport, window w: Window, components: JSON?, backends: [String]) {
        // CPU and memory per component from its samples in the window, read as the monitor kind that wrote
        // them says (its `ResourceFields`); of several kinds, the one of highest precedence (the engine's
        // container stats over procfs).
        let readers = Registry.monitors.compactMap { k in k.resources.map { (name: k.info.name, fields: $0) } }
        var names: [String] = []
        for s in w.samples where readers.contains(where: { $0.name == s["source"]?.string }) {
            if let c = s["component"]?.string, !names.contains(c) { names.append(c) }
        }
        for c in names {
            let present = readers.filter { !w.series(c, $0.name).isEmpty }
            guard let reader = present.max(by: { $0.fields.precedence < $1.fields.precedence }) else { continue }
            let source = reader.name
            let ps = w.series(c, source)
            guard ps.count >= 2 else { continue }
            var rates: [Double] = []
            var used = 0.0
            let cpu = { (s: JSON) in reader.fields.cpuSeconds(s) ?? 0 }
            for i in 1..<ps.count {
                let dt = sampleTime(ps[i]) - sampleTime(ps[i - 1])
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
            let total = sampleTime(ps.last!) - sampleTime(ps.first!)
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
            if let cores = components?[c]?["allotment_cores"]?.number, cores > 0 {
                cr.allotmentCores = cores
                cr.cpuPctOfAllotment = avg * 100 / cores
            }
            // Egress per item: bytes it sent per item it passed on (a load generator: per item sent).
            // An agent passes on what the backend receives; a backend passes nothing on.
            if let tx = cr.netTxBytesPerSecond, !backends.contains(c) {
                let out =
                    report.loads.first { $0.name == c }?.sentPerSecond
                    ?? report.throughput?.receivedPerSecond ?? report.throughput?.ackedPerSecond
                if let out, out > 0 { cr.egressBytesPerItem = tx / out }
            }
            report.components.append(cr)
        }
        // A replicated component: each copy as measured, then their sum under its own name.
        var sums: [ComponentReport] = []
        for cr in report.components {
            guard let base = components?[cr.name]?["replica_of"]?.string else { continue }
            if let i = sums.firstIndex(where: { $0.name == base }) {
                sums[i].cpuCoresAvg += cr.cpuCoresAvg
                sums[i].cpuCoresP95 += cr.cpuCoresP95
                sums[i].cpuCoresMax += cr.cpuCoresMax
                sums[i].rssBytesAvg += cr.rssBytesAvg
                sums[i].rssBytesMax += cr.rssBytesMax
                sums[i].cpuPer100kPerSecond = sums[i].cpuPer100kPerSecond.flatMap { a in
                    cr.cpuPer100kPerSecond.map { a + $0 }
                }
                sums[i].samples = Swift.min(sums[i].samples, cr.samples)
                sums[i].replicas += 1
            } else {
                var s = ComponentReport(
                    name: base, cpuCoresAvg: cr.cpuCoresAvg, cpuCoresP95: cr.cpuCoresP95, cpuCoresMax: cr.cpuCoresMax,
                    rssBytesAvg: cr.rssBytesAvg, rssBytesMax: cr.rssBytesMax,
                    cpuPer100kPerSecond: cr.cpuPer100kPerSecond,
                    samples: cr.samples)
                s.source = cr.source
                s.replicas = 1
                sums.append(s)
            }
        }
        report.components += sums
    }

    // MARK: Scraped metrics

    static func scraped(_ report: inout TestReport, window w: Window) {
        var pairs: [(String, String)] = []
        for s in w.samples {
            guard let src = s["source"]?.string, Registry.scrapedSources.contains(src), let c = s["component"]?.string
            else { continue }
            if !pairs.contains(where: { $0 == (c, src) }) { pairs.append((c, src)) }
        }
        for (c, src) in pairs {
            let ps = w.series(c, src)
            guard let last = ps.last, case .object(let series)? = last["series"] else { continue }
            let types = last["types"]
            for key in series.keys.sorted() {
                let base = String(key.prefix { $0 != "{" })
                let type = types?[base]?.string ?? types?[metricFamily(base)]?.string ?? "untyped"
                var f = MetricFigures(type: type)
                let values = ps.compactMap { s -> (Double, Double)? in
                    guard let v = s["series"]?[key]?.number else { return nil }
                    return (sampleTime(s), v)
                }
                guard let lastValue = values.last?.1 else { continue }
                if type == "counter" || (type == "untyped" && base.hasSuffix("_total")) {
                    f.type = "counter"
                    let delta = rises(values.map(\.1), fromZero: false)
                    f.delta = delta
                    let span = values.count >= 2 ? values.last!.0 - values.first!.0 : 0
                    f.ratePerSecond = span > 0 ? delta / span : nil
                } else {
                    f.last = lastValue
                    f.avg = values.map(\.1).reduce(0, +) / Double(values.count)
                    f.max = values.map(\.1).max()
                }
                report.metrics.append((c, key, f))
            }
        }
        // A labelled metric also gets its sum over label sets under its bare name (what an assertion such
        // as `components.collector.metrics.otelcol_exporter_send_failed_log_records.delta == 0` means).
        var sums: [(component: String, name: String, figures: MetricFigures)] = []
        for (c, key, f) in report.metrics where key.contains("{") {
            let base = String(key.prefix { $0 != "{" })
            if report.metrics.contains(where: { $0.component == c && $0.name == base }) { continue }
            func add(_ a: Double?, _ b: Double?) -> Double? { a == nil && b == nil ? nil : (a ?? 0) + (b ?? 0) }
            if let i = sums.firstIndex(where: { $0.component == c && $0.name == base }) {
                var s = sums[i].figures
                s.delta = add(s.delta, f.delta)
                s.ratePerSecond = add(s.ratePerSecond, f.ratePerSecond)
                s.last = add(s.last, f.last)
                s.avg = add(s.avg, f.avg)
                s.max = add(s.max, f.max)
                sums[i].figures = s
            } else {
                sums.append((c, base, f))
            }
        }
        report.metrics += sums
        report.metrics.sort { ($0.component, $0.name) < ($1.component, $1.name) }
    }

    /// A counter's family name: Prometheus `# TYPE` names counters without the `_total` suffix in
    /// OpenMetrics; a histogram's series end in _bucket/_sum/_count.
    static func metricFamily(_ name: String) -> String {
        for suffix in ["_total", "_bucket", "_sum", "_count", "_created"] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    // MARK: Hops

    /// The OpenTelemetry Collector's item counters, per signal (`otelcol_<what>_<items>`), with or
    /// without the `_total` suffix.
    static let otelcolItems = ["logs": "log_records", "traces": "spans", "metrics": "metric_points"]

    static func hops(
        _ report: inout TestReport, files: [String: JSON], window w: Window, components: JSON?, order: JSON?
    ) {
        guard !report.loads.isEmpty else { return }
        var hops: [HopReport] = []
        for l in report.loads {
            var h = HopReport(component: l.name, role: "load", from: l.source)
            h.itemsOut = Double(l.sent)
            h.failed = Double(l.failed + l.rejected)
            h.requests = l.batches.map(Double.init)
            hops.append(h)
        }
        // Agents: components with scraped item counters, in deploy order.
        let names = (order?.array ?? []).compactMap(\.string)
        let signals = Set(report.loads.map(\.signal))
        for c in names where !report.loads.contains(where: { $0.name == c }) {
            // Every scraping monitor's readings of the component (a prometheus endpoint, impstats, ...).
            let sources = Registry.scrapedSources.map { w.testSeries(c, $0) }.filter { !$0.isEmpty }
            guard !sources.isEmpty else { continue }
            /// The increase over the test of every series whose name (without labels) is one of `metrics`.
            func increase(_ metrics: [String]) -> Double? {
                var total: Double? = nil
                for ps in sources {
                    guard case .object(let lastSeries)? = ps.last?["series"] else { continue }
                    for key in lastSeries.keys {
                        let base = String(key.prefix { $0 != "{" })
                        guard metrics.contains(base) else { continue }
                        total = (total ?? 0) + w.increase(c, ps.compactMap { $0["series"]?[key]?.number })
                    }
                }
                return total
            }
            let mapped = components?[c]?["hops"]
            /// The suite's metric names for `key` (a name or a list of names; run.json keeps lists).
            func names(_ key: String) -> [String]? {
                guard let v = mapped?[key] else { return nil }
                return v.string.map { [$0] } ?? v.array.compactMap(\.string)
            }
            var h = HopReport(component: c, role: "agent", from: "hops")
            if let m = names("in") { h.itemsIn = increase(m) }
            if let m = names("out") { h.itemsOut = increase(m) }
            if let m = names("failed") { h.failed = increase(m) }
            if let m = names("requests") { h.requests = increase(m) }
            if mapped == nil {
                func otel(_ what: String) -> [String] {
                    signals.compactMap { otelcolItems[$0] }.flatMap {
                        ["otelcol_\(what)_\($0)", "otelcol_\(what)_\($0)_total"]
                    }
                }
                h.from = "otelcol"
                h.itemsIn = increase(otel("receiver_accepted"))
                h.refused = increase(otel("receiver_refused"))
                h.itemsOut = increase(otel("exporter_sent"))
                let failed = [increase(otel("exporter_send_failed")), increase(otel("exporter_enqueue_failed"))]
                    .compactMap { $0 }
                h.failed = failed.isEmpty ? nil : failed.reduce(0, +)
            }
            guard h.itemsIn != nil || h.itemsOut != nil || h.requests != nil else { continue }
            hops.append(h)
        }
        for k in files.keys.sorted() where k.hasSuffix(".snapshot") {
            guard let snap = files[k], snap["logs"] != nil || snap["traces"] != nil else { continue }
            var h = HopReport(component: String(k.dropLast(".snapshot".count)), role: "backend", from: "snapshot")
            if snap["counts_items"]?.bool != false {
                h.itemsIn = signals.compactMap { snap[$0]?["received"]?.number }.reduce(0, +)
            }
            let requests = signals.compactMap { snap[$0]?["requests"]?.number }
            if !requests.isEmpty && snap["syslog"]?["messages"]?.number ?? 0 == 0 { h.requests = requests.reduce(0, +) }
            hops.append(h)
        }
        // Loss between stages: what the previous stage passed on (all load generators together) minus
        // what this one received (or refused).
        hops = mergeReplicas(hops, components: components)
        // A stage that counts requests only (a gateway) passes the count on to the next one.
        var previousOut: Double? = hops.filter { $0.role == "load" }.compactMap(\.itemsOut).reduce(0, +)
        for i in hops.indices where hops[i].role != "load" {
            if hops[i].itemsIn == nil && hops[i].itemsOut == nil && hops[i].requests != nil { continue }
            if let out = previousOut, let got = hops[i].itemsIn {
                let lost = Swift.max(0, out - got - (hops[i].refused ?? 0))
                hops[i].lost = lost
                hops[i].lostPct = out > 0 ? lost * 100 / out : 0
            }
            previousOut = hops[i].itemsOut
        }
        report.hops = hops.count > 1 ? hops : []
    }

    /// The increase of a counter over readings in order: the sum of its rises, a fall being a restart
    /// from zero; `fromZero` counts the first reading too (the counter began in the readings' span).
    static func rises(_ values: [Double], fromZero: Bool) -> Double {
        guard let first = values.first else { return 0 }
        var d = fromZero ? first : 0
        for i in values.indices.dropFirst() {
            let x = values[i] - values[i - 1]
            d += x >= 0 ? x : values[i]
        }
        return d
    }

    /// Copies of a replicated component (`replica_of` in run.json) summed into one stage, in the place of
    /// the first copy.
    static func mergeReplicas(_ hops: [HopReport], components: JSON?) -> [HopReport] {
        var out: [HopReport] = []
        func add(_ a: Double?, _ b: Double?) -> Double? { a == nil && b == nil ? nil : (a ?? 0) + (b ?? 0) }
        for h in hops {
            guard let base = components?[h.component]?["replica_of"]?.string else {
                out.append(h)
                continue
            }
            if let i = out.firstIndex(where: { $0.component == base && $0.role == h.role }) {
                out[i].itemsIn = add(out[i].itemsIn, h.itemsIn)
                out[i].itemsOut = add(out[i].itemsOut, h.itemsOut)
                out[i].refused = add(out[i].refused, h.refused)
                out[i].failed = add(out[i].failed, h.failed)
                out[i].requests = add(out[i].requests, h.requests)
                out[i].replicas += 1
            } else {
                var m = h
                m.component = base
                m.replicas = 1
                out.append(m)
            }
        }
        return out
    }

    /// The increase per second of a counter at `path` over readings ordered by time (from the first to
    /// the last: with edge readings first and last, exactly the window); a counter that goes down (a
    /// restart) restarts the sum.
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
        func put(_ prefix: String, _ tp: ThroughputReport) {
            if let v = tp.targetPerSecond { m[prefix + "target_per_s"] = v }
            m[prefix + "sent_per_s"] = tp.sentPerSecond
            m[prefix + "acked_per_s"] = tp.ackedPerSecond
            if let v = tp.receivedPerSecond { m[prefix + "received_per_s"] = v }
            m[prefix + "sent"] = Double(tp.sent)
            m[prefix + "acked"] = Double(tp.acked)
            m[prefix + "failed"] = Double(tp.failed)
            if let v = tp.received { m[prefix + "received"] = Double(v) }
            if let v = tp.receivedRequests { m[prefix + "received_requests"] = Double(v) }
            if let v = tp.droppedPct { m[prefix + "dropped_pct"] = v }
            if let v = tp.missing { m[prefix + "missing"] = Double(v) }
            if let v = tp.duplicates { m[prefix + "duplicates"] = Double(v) }
            if let v = tp.bytesPerItem { m[prefix + "bytes_per_item"] = v }
            m[prefix + "late_batches"] = Double(tp.lateBatches)
            m[prefix + "in_flight"] = Double(tp.inFlight)
        }
        for tp in t.signals { put("throughput.\(tp.signal).", tp) }
        if let tp = t.throughput { put("", tp) }
        for l in t.loads {
            m["loads.\(l.name).sent_per_s"] = l.sentPerSecond
            m["loads.\(l.name).acked_per_s"] = l.ackedPerSecond
            m["loads.\(l.name).sent"] = Double(l.sent)
            m["loads.\(l.name).acked"] = Double(l.acked)
            m["loads.\(l.name).failed"] = Double(l.failed)
            m["loads.\(l.name).late_batches"] = Double(l.lateBatches)
        }
        if let s = t.search {
            m["search.capacity_per_s"] = s.capacityPerSecond
            m["search.steps"] = Double(s.steps.count)
        }
        for (k, v) in t.latencyMs { m["latency_ms.\(k)"] = v }
        for (k, v) in t.latencyMsUncorrected { m["latency_ms_uncorrected.\(k)"] = v }
        for c in t.components {
            m["components.\(c.name).cpu_cores_avg"] = c.cpuCoresAvg
            m["components.\(c.name).cpu_cores_p95"] = c.cpuCoresP95
            m["components.\(c.name).cpu_cores_max"] = c.cpuCoresMax
            m["components.\(c.name).rss_bytes_avg"] = c.rssBytesAvg
            m["components.\(c.name).rss_bytes_max"] = c.rssBytesMax
            if let v = c.cpuPctOfAllotment { m["components.\(c.name).cpu_pct_of_allotment"] = v }
            if let v = c.egressBytesPerItem { m["components.\(c.name).egress_bytes_per_item"] = v }
        }
        for (c, name, f) in t.metrics {
            let p = "components.\(c).metrics.\(name)."
            if let v = f.delta { m[p + "delta"] = v }
            if let v = f.ratePerSecond { m[p + "rate_per_s"] = v }
            if let v = f.last { m[p + "last"] = v }
            if let v = f.avg { m[p + "avg"] = v }
            if let v = f.max { m[p + "max"] = v }
        }
        for h in t.hops {
            let p = "hops.\(h.component)."
            if let v = h.itemsIn { m[p + "in"] = v }
            if let v = h.itemsOut { m[p + "out"] = v }
            if let v = h.requests { m[p + "requests"] = v }
            if let v = h.lost { m[p + "lost"] = v }
            if let v = h.lostPct { m[p + "lost_pct"] = v }
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
