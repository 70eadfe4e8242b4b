// Regression verdicts: the statistics on known distributions, the false-positive rate of A/A comparisons
// drawn from recorded replicates, change points in histories with and without a step, the history store
// and its references, golden outputs of compare and history in every format, and, end to end with real
// processes, replicates, a run compared with itself (no regression) and a backend that reads slowly
// (a latency_ms.p99 regression, exit 1).

import Foundation
import OTLPWire
@testable import Orchestrator
import Testing
import TestSupport

/// Normal variates from a seeded generator (Box–Muller).
func normals(_ n: Int, mean: Double, sd: Double, _ rng: inout SplitMix64) -> [Double] {
    (0..<n).map { _ in
        let u1 = Swift.max(rng.uniform(), 1e-300), u2 = rng.uniform()
        return mean + sd * (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}

@Suite("statistics")
struct StatisticsTests {
    @Test("Student t quantiles and CDF match published tables")
    func studentT() {
        // Published two-sided critical values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
        let table: [(p: Double, df: Double, t: Double)] = [
            (0.95, 1, 6.314), (0.95, 2, 2.920), (0.95, 5, 2.015), (0.95, 10, 1.812), (0.95, 30, 1.697),
            (0.975, 2, 4.303), (0.975, 6, 2.447), (0.975, 20, 2.086), (0.995, 4, 4.604), (0.95, .infinity, 1.645),
        ]
        for row in table {
            let got = Statistics.tQuantile(row.p, df: row.df)
            #expect(abs(got - row.t) < 0.0015, "t(\(row.p), \(row.df)) = \(got), table \(row.t)")
        }
        #expect(abs(Statistics.tCDF(0, df: 7) - 0.5) < 1e-12)
        #expect(abs(Statistics.tCDF(1.812, df: 10) - 0.95) < 1e-3)
        #expect(abs(Statistics.tQuantile(0.05, df: 10) + Statistics.tQuantile(0.95, df: 10)) < 1e-9)
    }

    @Test("a summary's mean, standard deviation, coefficient of variation and interval")
    func summary() {
        let s = Summary([1, 2, 3, 4, 5])
        #expect(s.mean == 3)
        #expect(abs(s.stddev - 2.5.squareRoot()) < 1e-12)
        #expect(abs(s.cv - 2.5.squareRoot() / 3) < 1e-12)
        let half = 2.131847 * 2.5.squareRoot() / 5.0.squareRoot()
        #expect(abs((s.ciLow ?? 0) - (3 - half)) < 1e-5)
        #expect(abs((s.ciHigh ?? 0) - (3 + half)) < 1e-5)
        let one = Summary([7])
        #expect(one.ciLow == nil && one.stddev == 0 && one.cv == 0)
    }

    @Test("Welch's interval of a difference, worked by hand")
    func welch() throws {
        // means 11.5 and 14.5, variances 5/3 each, n = 4: se = 0.91287, df = 6, t(0.95, 6) = 1.943180.
        let d = try #require(Statistics.welch(baseline: [10, 12, 11, 13], candidate: [14, 15, 13, 16]))
        #expect(abs(d.delta - 3) < 1e-12)
        #expect(abs(d.df - 6) < 1e-9)
        let half = 1.943180 * (5.0 / 3 / 4 * 2).squareRoot()
        #expect(abs(d.ciLow - (3 - half)) < 1e-4 && abs(d.ciHigh - (3 + half)) < 1e-4)
        #expect(abs((d.deltaPct ?? 0) - 300 / 11.5) < 1e-9)
        #expect(Statistics.welch(baseline: [1], candidate: [1, 2]) == nil)
    }

    @Test("the 90 % interval covers the true mean about 90 % of the time (2,000 samples of 5 normals)")
    func coverage() {
        var rng = SplitMix64(seed: 42)
        var covered = 0
        for _ in 0..<2000 {
            let s = Summary(normals(5, mean: 100, sd: 10, &rng))
            if (s.ciLow ?? 0) <= 100 && 100 <= (s.ciHigh ?? 0) { covered += 1 }
        }
        let rate = Double(covered) / 2000
        #expect(rate > 0.87 && rate < 0.93, "coverage \(rate)")
        // Welch's interval of two samples of the same distribution excludes 0 about 10 % of the time.
        var excluded = 0
        for _ in 0..<2000 {
            let d = Statistics.welch(
                baseline: normals(4, mean: 50, sd: 5, &rng), candidate: normals(6, mean: 50, sd: 8, &rng))!
            if d.ciLow > 0 || d.ciHigh < 0 { excluded += 1 }
        }
        let falseRate = Double(excluded) / 2000
        #expect(falseRate > 0.07 && falseRate < 0.13, "Welch false exclusions \(falseRate)")
    }

    @Test("a step change is found at the right run; flat noisy histories rarely have a change point")
    func changePoints() {
        var rng = SplitMix64(seed: 7)
        var exact = 0
        var misses: [String] = []
        for seed in 0..<20 {
            let series = normals(20, mean: 100, sd: 2, &rng) + normals(12, mean: 90, sd: 2, &rng)
            let points = Statistics.changePoints(series, seed: UInt64(seed))
            if points == [20] { exact += 1 } else { misses.append("history \(seed): \(points)") }
        }
        #expect(
            exact >= 18,
            "step found exactly at run 20 (and nothing else) in \(exact) of 20 histories; others: \(misses)")
        var alarms = 0
        for seed in 0..<100 {
            let series = normals(30, mean: 100, sd: 3, &rng)
            if !Statistics.changePoints(series, seed: UInt64(seed)).isEmpty { alarms += 1 }
        }
        #expect(alarms <= 5, "\(alarms) of 100 flat histories had a change point (p <= 0.01 per search)")
        #expect(Statistics.changePoints([1, 2, 3, 4, 5]).isEmpty)  // too short to split
    }
}

// MARK: Compare

func resultSet(_ label: String, _ tests: [String: [String: [Double]]]) -> ResultSet {
    var s = ResultSet(label: label, suite: "demo")
    s.tests = tests
    s.order = tests.keys.sorted()
    return s
}

@Suite("compare")
struct CompareTests {
    /// Recorded replicates of the verdict suite (12 full runs of loadgen → fake-backend at 20k/s, debug
    /// build, this machine): per metric, one value per replicate.
    func recorded() throws -> [String: [Double]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: suitesDir + "/verdicts/replicates-verdict.json"))
        let j = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return (j["metrics"] as? [String: [Double]]) ?? [:]
    }

    @Test("A/A comparisons drawn from recorded replicates flag a regression in at most 10 % of cases")
    func falsePositives() throws {
        let data = try recorded()
        let n = try #require(data.values.first?.count)
        #expect(n >= 10)
        var rng = SplitMix64(seed: 2026)
        var flagged = 0
        let trials = 1000
        for _ in 0..<trials {
            // Two disjoint draws of 3 replicates from the same configuration.
            var idx = Array(0..<n)
            for i in stride(from: n - 1, to: 0, by: -1) { idx.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            let a = Array(idx[0..<3]), b = Array(idx[3..<6])
            let base = resultSet("a", ["steady": data.mapValues { v in a.map { v[$0] } }])
            let cand = resultSet("b", ["steady": data.mapValues { v in b.map { v[$0] } }])
            if Comparison.compare(base, cand).verdict == "regression" { flagged += 1 }
        }
        let rate = Double(flagged) / Double(trials)
        #expect(rate <= 0.10, "A/A regression rate \(rate) over \(trials) resamplings")
    }

    @Test("verdicts: regression needs the interval and the threshold; erratic, impossible, improvement")
    func verdicts() {
        let base = resultSet(
            "base",
            [
                "t": [
                    "latency_ms.p99": [10, 10.2, 9.9, 10.1],
                    "throughput.logs.received_per_s": [100_000, 100_050, 99_950],
                    "components.backend.cpu_cores_avg": [0.5, 0.9, 0.2], "latency_ms.p50": [1],
                ]
            ])
        let cand = resultSet(
            "cand",
            [
                "t": [
                    "latency_ms.p99": [12, 12.1, 11.9, 12.2],
                    "throughput.logs.received_per_s": [100_020, 100_000, 99_990],
                    "components.backend.cpu_cores_avg": [0.4, 0.8, 0.3], "latency_ms.p50": [1],
                ]
            ])
        let c = Comparison.compare(base, cand)
        func verdict(_ m: String) -> String? { c.metrics.first { $0.metric == m }?.verdict }
        #expect(verdict("latency_ms.p99") == "regression")
        #expect(verdict("throughput.logs.received_per_s") == "no_change")
        #expect(verdict("components.backend.cpu_cores_avg") == "erratic")
        #expect(verdict("latency_ms.p50") == "impossible")
        #expect(c.verdict == "regression")
        // Under a 25 % threshold for that metric, +20 % is no regression.
        let relaxed = Comparison.compare(base, cand, thresholds: ["latency_ms.p99": 25])
        #expect(relaxed.metrics.first { $0.metric == "latency_ms.p99" }?.verdict == "no_change")
        // Noisy replicates that do not overlap, with a gap wider than the baseline's range: still a verdict.
        let noisy = Comparison.compare(
            resultSet("b", ["t": ["latency_ms.p99": [1.0, 1.6, 2.2]]]),
            resultSet("c", ["t": ["latency_ms.p99": [9.0, 9.4, 33.0]]]), thresholds: ["latency_ms.p99": 50])
        #expect(noisy.metrics.first?.verdict == "regression", "\(noisy.metrics.first?.reason ?? "")")
        // Overlapping noisy replicates stay erratic.
        let overlapping = Comparison.compare(
            resultSet("b", ["t": ["latency_ms.p99": [1.0, 1.6, 9.5]]]),
            resultSet("c", ["t": ["latency_ms.p99": [9.0, 9.4, 33.0]]]), thresholds: ["latency_ms.p99": 50])
        #expect(overlapping.metrics.first?.verdict == "erratic")
        // The other way round it is an improvement.
        #expect(Comparison.compare(cand, base).verdict == "improvement")
    }

    @Test("golden compare outputs in every format")
    func golden() throws {
        let base = resultSet(
            "results/demo/20261201T100000Z",
            [
                "steady": [
                    "latency_ms.p99": [10, 10.2, 9.9], "latency_ms.p50": [1.0, 1.1, 0.9],
                    "throughput.logs.received_per_s": [100_000, 100_050, 99_950],
                    "throughput.logs.dropped_pct": [0, 0, 0],
                    "throughput.logs.missing": [0, 0, 0], "components.backend.cpu_cores_avg": [0.5, 0.9, 0.2],
                    "components.backend.rss_bytes_avg": [40e6, 40.1e6, 39.9e6],
                ], "old-only": ["latency_ms.p99": [1, 2]],
            ])
        let cand = resultSet(
            "demo@branch:feature (20261202T100000Z, 0123456789ab)",
            [
                "steady": [
                    "latency_ms.p99": [12, 12.1, 11.9], "latency_ms.p50": [1.0, 1.0, 1.1],
                    "throughput.logs.received_per_s": [100_020, 100_000, 99_990],
                    "throughput.logs.dropped_pct": [0, 0.01, 0],
                    "throughput.logs.missing": [0, 12, 0], "components.backend.cpu_cores_avg": [0.4, 0.8, 0.3],
                    "components.backend.rss_bytes_avg": [30e6, 30.2e6, 29.9e6],
                ]
            ])
        let c = Comparison.compare(base, cand)
        try checkGolden(
            [
                "compare.console": c.render("console"), "compare.json": c.render("json"),
                "compare.markdown": c.render("markdown"), "compare.html": c.render("html"),
            ])
        // The page: one interval chart per metric, and the browser builds every one of them.
        let page = c.render("html")
        #expect(count("data-chart=\"compare-interval\"", in: page) == c.metrics.count)
        try checkInBrowser(page, name: "compare")
        let parsed = try JSONSerialization.jsonObject(with: Data(c.json.utf8)) as? [String: Any] ?? [:]
        #expect(parsed["verdict"] as? String == "regression")
        let first = try #require((parsed["metrics"] as? [[String: Any]])?.first)
        for key in [
            "test", "metric", "direction", "baseline", "candidate", "delta_pct", "ci_low_pct", "ci_high_pct", "verdict",
        ] {
            #expect(first[key] != nil, "metrics[0].\(key)")
        }
    }
}

/// Renders a page in headless Chromium: every chart in the DOM it builds, no console message.
func checkInBrowser(_ page: String, name: String) throws {
    guard let browser = chromium() else { return }
    let file = "\(try tempDir("pp-html-\(name)"))/\(name).html"
    try page.write(toFile: file, atomically: true, encoding: .utf8)
    let dom = try headless(browser, ["--dump-dom"], file)
    #expect(dom.status == 0, "\(name): \(dom.err.suffix(2000))")
    for tag in ["<svg", "<circle", "<polyline", "data-mark=", "<table"] {
        #expect(count(tag, in: dom.out) == count(tag, in: page), "\(name): \(tag)")
    }
    #expect(!dom.err.contains("CONSOLE"), "\(name): \(dom.err.suffix(2000))")
}

/// Compares rendered texts with Suites/verdicts/expected (PIPEPERF_REGENERATE=1 rewrites them).
func checkGolden(_ files: [String: String]) throws {
    let regenerate = regenerateGoldenFiles()
    for (name, got) in files.sorted(by: { $0.key < $1.key }) {
        if regenerate {
            let dir = Built.repository.appendingPathComponent("Tests/OrchestratorTests/Suites/verdicts/expected")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try got.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            continue
        }
        let expected = try String(contentsOfFile: suitesDir + "/verdicts/expected/\(name)", encoding: .utf8)
        #expect(got == expected, "\(name)")
    }
}

// MARK: History

/// A report with one test whose p99 latency and rate are given.
func syntheticReport(run: Int, p99: Double, rate: Double, commit: String, branch: String) -> RunReport {
    var t = TestReport(name: "steady", status: "passed", error: nil, windowSeconds: 10, windowComplete: true)
    t.base = "steady"
    t.latencyMs = [("p50", p99 / 3), ("p99", p99)]
    var tp = ThroughputReport()
    tp.sentPerSecond = rate
    tp.receivedPerSecond = rate
    tp.droppedPct = 0
    tp.missing = 0
    t.signals = [tp]
    var r = RunReport(
        suite: "demo", status: "passed", folder: "/results/demo/run-\(String(format: "%02d", run))",
        environment: [("host", "ci")],
        provenance: [("code", [("branch", branch), ("commit", commit), ("dirty", "false")])],
        tests: [t])
    r.startedUnix = 1_800_000_000 + Double(run) * 3600
    return r
}

@Suite("history")
struct HistoryTests {
    func store(_ dir: String) throws -> HistoryStore {
        let s = try HistoryStore(path: HistoryStore.defaultPath(results: dir))
        var rng = SplitMix64(seed: 99)
        let noise = normals(30, mean: 0, sd: 1, &rng)
        for i in 0..<30 {
            // Run 20 (commit c020…) made p99 about 20 % worse; the rate stays flat.
            let p99 = (i < 20 ? 50.0 : 60.0) + noise[i]
            let commit = String(format: "c%03d", i) + String(repeating: "0", count: 36)
            try s.record(
                syntheticReport(
                    run: i, p99: p99, rate: 100_000 + noise[29 - i] * 300, commit: commit,
                    branch: i % 2 == 0 ? "main" : "feature"))
        }
        return s
    }

    @Test("a recorded history with a step change: found at the right run and commit; the flat metric has none")
    func stepChange() throws {
        let s = try store(try tempDir("pp-history"))
        let h = try History.build(store: s, suite: "demo", test: nil, metric: nil)
        #expect(h.runs.count == 30)
        let p99 = try #require(h.series.first { $0.metric == "latency_ms.p99" })
        #expect(p99.changePoints == [20])
        #expect(h.runs[20].codeCommit.hasPrefix("c020"))
        let rate = try #require(h.series.first { $0.metric == "throughput.logs.received_per_s" })
        #expect(rate.changePoints.isEmpty)
        let j = try JSONSerialization.jsonObject(with: Data(h.json.utf8)) as? [String: Any] ?? [:]
        #expect((j["runs"] as? [Any])?.count == 30)
        let cps = j["change_points"] as? [[String: Any]] ?? []
        #expect(cps.contains { $0["metric"] as? String == "latency_ms.p99" && $0["run_id"] as? String == "run-20" })
        let only = try History.build(store: s, suite: "demo", test: "steady", metric: "latency_ms.p99")
        try checkGolden(
            [
                "history.console": only.render("console"), "history.json": only.render("json"),
                "history.markdown": only.render("markdown"), "history.html": only.render("html"),
            ])
        let page = only.render("html")
        #expect(count("data-mark=", in: page) == only.series.map(\.changePoints.count).reduce(0, +))
        #expect(count("data-mark=", in: page) >= 1)
        try checkInBrowser(page, name: "history")
    }

    @Test("references: latest, a run id, a git sha, branch:<name>; unknown ones named")
    func references() throws {
        let s = try store(try tempDir("pp-history-refs"))
        #expect(try s.resolve("demo@latest").runID == "run-29")
        #expect(try s.resolve("demo@run-07").runID == "run-07")
        #expect(try s.resolve("demo@c012").runID == "run-12")
        #expect(try s.resolve("demo@branch:main").runID == "run-28")
        #expect(try s.resolve("demo@branch:feature").runID == "run-29")
        func message(_ ref: String) -> String {
            do { _ = try s.resolve(ref) } catch { return error.message }
            return ""
        }
        #expect(message("dmo@latest").contains("did you mean 'demo'"))
        #expect(message("demo@branch:nope").contains("branches recorded: feature, main"))
        #expect(message("demo@zzz").contains("no run of 'demo' with that id or commit"))
        #expect(message("demo").contains("not a history reference"))
        // Recording a run again replaces it.
        try s.record(syntheticReport(run: 29, p99: 1, rate: 1, commit: "ffff", branch: "main"))
        #expect(try s.runs(suite: "demo").count == 30)
        #expect(try s.values(suite: "demo", runID: "run-29").first { $0.metric == "latency_ms.p99" }?.value == 1)
    }
}

// MARK: End to end

@Suite("verdicts end to end", .serialized, .timeLimit(.minutes(5)))
struct VerdictEndToEndTests {
    @Test("replicates interleave (A B A B …); --replicates overrides the suite")
    func interleaving() throws {
        let suite = try SuiteLoader.load(path: suitesDir + "/good/verdict.yaml")
        var a = suite.tests[0], b = suite.tests[0]
        a.name = "A"
        b.name = "B"
        a.replicates = 2
        b.replicates = 2
        #expect(TestCase.expandReplicates([a, b]).map(\.name) == ["A#1", "B#1", "A#2", "B#2"])
        #expect(TestCase.expandReplicates([a, b], override: 1).map(\.name) == ["A", "B"])
        #expect(TestCase.expandReplicates([a], override: 3).map(\.replicate) == [1, 2, 3])
    }

    @Test(
        "the same suite twice with 3 replicates: no regression; a backend that reads slowly: a latency_ms.p99 regression, exit 1"
    )
    func compareRuns() throws {
        let results = try tempDir("pp-verdict")
        let suite = suitesDir + "/good/verdict.yaml"
        for round in 0..<2 {
            let r = try pipeperf(["run", "-c", suite], results: results)
            #expect(r.status == 0, "round \(round): \(r.out)\n\(r.err)")
        }
        let runs = try FileManager.default.contentsOfDirectory(atPath: "\(results)/verdict").sorted()
        #expect(runs.count == 2)
        let first = "\(results)/verdict/\(runs[0])", second = "\(results)/verdict/\(runs[1])"
        let report = try json("\(first)/report.json")
        let summary = try #require((report["replicates"] as? [[String: Any]])?.first)
        #expect(summary["n"] as? Int == 3)
        let p99 = try #require((summary["metrics"] as? [String: Any])?["latency_ms.p99"] as? [String: Any])
        #expect((p99["values"] as? [Any])?.count == 3)
        for key in ["mean", "stddev", "cv", "ci_low", "ci_high"] { #expect(p99[key] != nil, "latency_ms.p99.\(key)") }
        #expect(
            (report["tests"] as? [[String: Any]])?.map { $0["name"] as? String ?? "" } == [
                "steady#1", "steady#2", "steady#3",
            ])
        // report.html: a mean ± interval chart per headline metric, each with its three replicates as ticks.
        let html = try String(contentsOfFile: "\(first)/report.html", encoding: .utf8)
        let charts = html.components(separatedBy: "data-chart=\"replicates-interval\"").dropFirst()
        #expect(charts.count >= 3 && html.contains("<h3>latency_ms.p99: mean ± 90 % interval</h3>"))
        for c in charts {
            #expect(count("data-value=\"steady\"", in: c.components(separatedBy: "</svg>")[0]) == 3)
        }

        let same = try runProcess(
            [Built.executable("pipeperf"), "compare", first, second, "--format", "json", "--results", results])
        #expect(same.status == 0, "\(same.out)\n\(same.err)")
        let sj = try JSONSerialization.jsonObject(with: Data(same.out.utf8)) as? [String: Any] ?? [:]
        let metrics = sj["metrics"] as? [[String: Any]] ?? []
        for m in metrics
        where (m["metric"] as? String ?? "").hasPrefix("throughput")
            || (m["metric"] as? String ?? "").hasPrefix("latency")
        {
            #expect(m["verdict"] as? String != "regression", "\(m)")
        }

        // 1.4 MB/s against 5k logs/s of 230 bytes (1.15 MB/s): every 230 KB batch takes at least 164 ms to
        // be read, and queues behind the one before: p99 far above the baseline's 1-20 ms (a hiccup of the
        // busy machine in one baseline replicate cannot close the gap), with the throughput kept.
        let slow = try pipeperf(["run", "-c", suite, "--set", "slow_read=1400000"], results: results)
        #expect(slow.status == 0, "\(slow.out)\n\(slow.err)")
        let verdict = try runProcess(
            [
                Built.executable("pipeperf"), "compare", "verdict@\(runs[0])", "verdict@latest", "--format", "json",
                "--results", results,
            ])
        #expect(verdict.status == 1, "\(verdict.out)\n\(verdict.err)")
        let vj = try JSONSerialization.jsonObject(with: Data(verdict.out.utf8)) as? [String: Any] ?? [:]
        #expect(vj["verdict"] as? String == "regression")
        let lat = (vj["metrics"] as? [[String: Any]] ?? []).first { $0["metric"] as? String == "latency_ms.p99" }
        #expect(lat?["verdict"] as? String == "regression", "\(lat ?? [:])")
        let rate = (vj["metrics"] as? [[String: Any]] ?? []).first {
            $0["metric"] as? String == "throughput.logs.received_per_s"
        }
        #expect(rate?["verdict"] as? String != "regression", "\(rate ?? [:])")
        // Markdown for a pull request, and bad input exits 2 naming it.
        let md = try runProcess(
            [
                Built.executable("pipeperf"), "compare", first, "verdict@latest", "--format", "markdown", "--results",
                results,
            ])
        #expect(md.status == 1 && md.out.hasPrefix("## pipeperf compare: regression"))
        let bad = try runProcess([Built.executable("pipeperf"), "compare", first, "verdict@nope", "--results", results])
        #expect(bad.status == 2 && bad.err.contains("verdict@nope"))

        // The history holds the three runs; import rebuilds it from the folders.
        let h = try runProcess(
            [
                Built.executable("pipeperf"), "history", "verdict", "--metric", "latency_ms.p99", "--format", "json",
                "--results", results,
            ])
        #expect(h.status == 0, "\(h.err)")
        let hj = try JSONSerialization.jsonObject(with: Data(h.out.utf8)) as? [String: Any] ?? [:]
        #expect((hj["runs"] as? [Any])?.count == 3)
        try FileManager.default.removeItem(atPath: "\(results)/history.sqlite")
        let folders = try FileManager.default.contentsOfDirectory(atPath: "\(results)/verdict").sorted().map {
            "\(results)/verdict/\($0)"
        }
        let imp = try runProcess(
            [Built.executable("pipeperf"), "history", "import"] + folders + ["--results", results])
        #expect(imp.status == 0, "\(imp.err)")
        let again = try runProcess(
            [Built.executable("pipeperf"), "history", "verdict", "--format", "json", "--results", results])
        let aj = try JSONSerialization.jsonObject(with: Data(again.out.utf8)) as? [String: Any] ?? [:]
        #expect((aj["runs"] as? [Any])?.count == 3)
    }
}
