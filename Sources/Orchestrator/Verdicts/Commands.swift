// `pipeperf compare` and `pipeperf history` (show, import): the command-line side of the verdicts.

import ArgumentParser
import AdminHTTP
import FoundationEssentials
import PipeperfBase

public struct CompareCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Did the candidate regress? Compare two runs metric by metric, with statistics.",
        discussion: """
            BASELINE and CANDIDATE are run folders (results/<suite>/<timestamp>) or history references: \
            SUITE@latest, SUITE@<git sha>, SUITE@<run id>, SUITE@branch:<name> (from <results>/history.sqlite). \
            For every test in both and every headline metric (throughput per signal, dropped %, missing, latency \
            p50/p99, CPU and RSS per component) plus the test's `compare:` metrics: the means over replicates, \
            Welch's interval of the difference, and a verdict. A regression needs the interval to exclude 0 and \
            the change to be at least the threshold. Exit codes: 0 nothing regressed, 1 a regression, 2 bad input. \
            See docs/compare.md.
            """)

    @Argument(help: "The baseline: a run folder or SUITE@latest, SUITE@<git sha>, SUITE@<run id>, SUITE@branch:<name>.")
    public var baseline: String

    @Argument(help: "The candidate, in the same forms.")
    public var candidate: String

    @Option(help: "console, json, markdown (for a pull-request comment) or html (a page with each metric's intervals).")
    public var format: String = "console"

    @Option(help: "Confidence of the interval, e.g. 0.90 (from 0.5 to 0.999).")
    public var confidence: Double = 0.90

    @Option(help: "Smallest change (%) called a regression or improvement.")
    public var threshold: Double = 5

    @Option(
        name: .customLong("metric-threshold"),
        help:
            "A metric's own threshold, PATH=PCT, e.g. latency_ms.p99=10 (repeatable; the test's compare: threshold_pct too)."
    )
    public var metricThresholds: [String] = []

    @Option(
        name: .customLong("erratic-cv"), help: "Coefficient of variation above which a metric is erratic (0.10 = 10 %)."
    )
    public var erraticCV: Double = 0.10

    @Option(help: "The results folder holding history.sqlite (for SUITE@… references).")
    public var results: String = "results"

    public init() {}

    public func run() throws {
        func bad(_ message: String) -> ExitCode {
            printError("pipeperf compare: \(message)")
            return ExitCode(2)
        }
        guard ["console", "json", "markdown", "html"].contains(format) else {
            throw bad("--format must be console, json, markdown or html (got '\(format)')")
        }
        guard confidence >= 0.5 && confidence <= 0.999 else {
            throw bad("--confidence must be from 0.5 to 0.999 (got \(confidence))")
        }
        guard threshold >= 0 && threshold.isFinite else {
            throw bad("--threshold must be 0 or more (got \(threshold))")
        }
        guard erraticCV > 0 && erraticCV.isFinite else { throw bad("--erratic-cv must be above 0 (got \(erraticCV))") }
        var thresholds: [String: Double] = [:]
        for t in metricThresholds {
            guard let eq = t.lastIndex(of: "="), let v = Double(t[t.index(after: eq)...]), v >= 0 else {
                throw bad("--metric-threshold must be PATH=PCT, e.g. latency_ms.p99=10 (got '\(t)')")
            }
            thresholds[String(t[..<eq])] = v
        }
        let b: ResultSet, c: ResultSet
        do {
            b = try ResultSet.resolve(baseline, results: results)
            c = try ResultSet.resolve(candidate, results: results)
        } catch { throw bad("\(error.message)") }
        let result = Comparison.compare(
            b, c, confidence: confidence, thresholdPct: threshold, thresholds: thresholds, erraticCV: erraticCV)
        if result.metrics.isEmpty {
            throw bad(
                "no test is in both runs (baseline: \(b.order.joined(separator: ", ")); candidate: \(c.order.joined(separator: ", ")))"
            )
        }
        print(result.render(format), terminator: "")
        if result.verdict == "regression" { throw ExitCode(1) }
    }
}

public struct HistoryCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Runs of a suite over time, with change points; `history import` adds run folders.",
        subcommands: [HistoryShow.self, HistoryImport.self],
        defaultSubcommand: HistoryShow.self)
    public init() {}
}

public struct HistoryShow: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "A suite's runs in order with their values, and the change points of each series.",
        discussion: """
            Each series is one test's metric, one value per run (the mean of its replicates). Change points are \
            found by E-divisive means (energy statistic, Matteson & James; the method of Apache Otava): a split is \
            kept when a permutation test (199 permutations) gives p <= 0.01, so a series with no change has a \
            false alarm in about 1 % of searches; each side needs 3 runs or more. See docs/compare.md.
            """)

    @Argument(help: "The suite's name (as in results/<suite>/).")
    public var suite: String

    @Option(help: "Only this test (a replicated test by its name without #k).")
    public var test: String?

    @Option(help: "Only this metric (a report path such as latency_ms.p99; default: the headline metrics).")
    public var metric: String?

    @Option(help: "The results folder holding history.sqlite.")
    public var results: String = "results"

    @Option(help: "console, json, markdown or html (each metric over the runs, change points marked).")
    public var format: String = "console"

    public init() {}

    public func run() throws {
        guard ["console", "json", "markdown", "html"].contains(format) else {
            printError("pipeperf history: --format must be console, json, markdown or html (got '\(format)')")
            throw ExitCode(2)
        }
        do {
            let store = try HistoryStore(path: HistoryStore.defaultPath(results: results), create: false)
            let h = try History.build(store: store, suite: suite, test: test, metric: metric)
            print(h.render(format), terminator: "")
        } catch {
            printError("pipeperf history: \(error.message)")
            throw ExitCode(2)
        }
    }
}

public struct HistoryImport: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add run folders to the history store (again: their figures replace the stored ones).")

    @Argument(help: "Run folders, results/<suite>/<timestamp>.")
    public var folders: [String]

    @Option(help: "The results folder holding history.sqlite.")
    public var results: String = "results"

    public init() {}

    public func run() throws {
        guard !folders.isEmpty else {
            printError("pipeperf history import: name at least one run folder")
            throw ExitCode(2)
        }
        let store: HistoryStore
        do { store = try HistoryStore(path: HistoryStore.defaultPath(results: results)) } catch {
            printError("pipeperf history import: \(error.message)")
            throw ExitCode(2)
        }
        var failed = 0
        for f in folders {
            do {
                let report = ReportBuilder.build(try RunRecords(folder: f))
                try store.record(report)
                print(
                    "imported \(f) (\(report.suite), \(report.tests.count) test\(report.tests.count == 1 ? "" : "s"))")
            } catch {
                printError("pipeperf history import: \(f): \(error.message)")
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(2) }
    }
}

/// A suite's series and their change points.
public struct History: Sendable {
    public struct Series: Sendable {
        public var test: String
        public var metric: String
        /// Per run (in `runs` order): the mean of its replicates, nil when the run lacks the metric.
        public var values: [Double?]
        public var changePoints: [Int]
    }
    public var suite: String
    public var runs: [HistoryRun]
    public var series: [Series]
    public static let method =
        "e-divisive means (energy statistic), permutation test p <= 0.01 with 199 permutations, at least 3 runs per segment"

    public static func build(
        store: HistoryStore, suite: String, test: String?, metric: String?
    ) throws(PipeperfError)
        -> History
    {
        let runs = try store.runs(suite: suite)
        if runs.isEmpty {
            let known = (try? store.suites()) ?? []
            throw PipeperfError(
                .failed,
                "the history store \(store.path) has no run of suite '\(suite)'\(didYouMean(suite, among: known))\(known.isEmpty ? "" : "; suites: \(known.joined(separator: ", "))")"
            )
        }
        // test → metric → per run values.
        var order: [String] = []
        var allTests: Set<String> = []
        var byRun: [[String: [String: Double]]] = []
        for r in runs {
            var m: [String: [String: [Double]]] = [:]
            for v in try store.values(suite: suite, runID: r.runID) where v.status != "excluded" {
                allTests.insert(v.test)
                if test != nil && v.test != test { continue }
                if !order.contains(v.test) { order.append(v.test) }
                m[v.test, default: [:]][v.metric, default: []].append(v.value)
            }
            byRun.append(m.mapValues { $0.mapValues { $0.reduce(0, +) / Double($0.count) } })
        }
        if let test, !order.contains(test) {
            let all = allTests.sorted()
            throw PipeperfError(
                .failed,
                "no test '\(test)' in the history of '\(suite)'\(didYouMean(test, among: all)); tests: \(all.joined(separator: ", "))"
            )
        }
        var series: [Series] = []
        for t in order {
            var metrics: [String]
            if let metric {
                metrics = [metric]
            } else {
                var union: [String: Double] = [:]
                for r in byRun { for (k, v) in r[t] ?? [:] { union[k] = v } }
                metrics = Headline.paths(union)
            }
            for m in metrics {
                let values = byRun.map { $0[t]?[m] }
                guard values.contains(where: { $0 != nil }) else { continue }
                // Change points over the runs that have the metric, mapped back to run indexes.
                let present = values.enumerated().compactMap { i, v in v.map { (i, $0) } }
                let points = Statistics.changePoints(present.map(\.1)).map { present[$0].0 }
                series.append(Series(test: t, metric: m, values: values, changePoints: points))
            }
        }
        if let metric, series.isEmpty {
            throw PipeperfError(
                .failed, "no run of '\(suite)' has the metric '\(metric)' (a report path such as latency_ms.p99)")
        }
        return History(suite: suite, runs: runs, series: series)
    }

    public func render(_ format: String) -> String {
        format == "json" ? json : format == "html" ? html : table(markdown: format == "markdown")
    }

    public var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.field("suite", suite)
        w.field("method", History.method)
        w.beginArray("runs")
        for (i, r) in runs.enumerated() {
            w.beginObject()
            w.field("run_id", r.runID)
            w.field("started_unix", r.startedUnix, decimals: 3)
            w.field("status", r.status)
            w.field("commit", r.codeCommit)
            w.field("branch", r.codeBranch)
            w.field("dirty", r.codeDirty)
            w.field("pipeperf_commit", r.pipeperfCommit)
            w.field("folder", r.folder)
            w.beginObject("values")
            for s in series {
                if let v = s.values[i] { w.field("\(s.test) \(s.metric)", v, decimals: 6) }
            }
            w.endObject()
            w.endObject()
        }
        w.endArray()
        w.beginArray("change_points")
        for s in series {
            for p in s.changePoints {
                let before = s.values[..<p].compactMap { $0 }, after = s.values[p...].compactMap { $0 }
                let mb = before.reduce(0, +) / Double(Swift.max(1, before.count))
                let ma = after.reduce(0, +) / Double(Swift.max(1, after.count))
                w.beginObject()
                w.field("test", s.test)
                w.field("metric", s.metric)
                w.field("index", p)
                w.field("run_id", runs[p].runID)
                w.field("commit", runs[p].codeCommit)
                w.field("mean_before", mb, decimals: 6)
                w.field("mean_after", ma, decimals: 6)
                if mb != 0 {
                    w.field("delta_pct", (ma - mb) / Swift.abs(mb) * 100, decimals: 3)
                } else {
                    w.fieldNull("delta_pct")
                }
                w.endObject()
            }
        }
        w.endArray()
        w.endObject()
        return w.text + "\n"
    }

    func table(markdown: Bool) -> String {
        var out = markdown ? "## pipeperf history: \(suite)\n\n" : "pipeperf history: \(suite) (\(runs.count) runs)\n\n"
        for s in series {
            out += markdown ? "### \(s.test): \(s.metric)\n\n" : "\(s.test): \(s.metric)\n"
            var rows: [[String]] = [["run", "commit", "branch", "value", "change"]]
            for (i, r) in runs.enumerated() {
                guard let v = s.values[i] else { continue }
                rows.append([
                    r.runID, String(r.codeCommit.prefix(12)) + (r.codeDirty ? " dirty" : ""), r.codeBranch,
                    formatMetric(v, s.metric), s.changePoints.contains(i) ? "← change" : "",
                ])
            }
            out += gridText(rows, markdown: markdown) + "\n"
        }
        out += "change points: \(History.method)\n"
        return out
    }
}
