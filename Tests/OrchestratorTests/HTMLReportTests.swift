// report.html: golden pages for the recorded runs, charts that hold exactly the points their samples
// give, nothing loaded from outside the file, and the page rendered by a real browser (Debian's
// headless Chromium): the DOM it builds has every chart and series, it logs no console error, and it
// draws a screenshot.

import AdminHTTP
import Foundation
import Testing
import TestSupport

@testable import Orchestrator

/// Headless Chromium, or nil (recorded as a failure in CI, where scripts/install-deps installs it).
func chromium() -> String? {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: p) {
        return p
    }
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        Issue.record("chromium is not installed (scripts/install-deps installs it)")
    } else {
        print("HTML browser checks skipped: no chromium here (scripts/install-deps installs it)")
    }
    return nil
}

/// Runs headless Chromium on a file with a time limit; network names resolve nowhere.
func headless(_ browser: String, _ args: [String], _ file: String) throws -> ProcessResult {
    try runProcess(
        [
            "timeout", "90", browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
        ] + args + ["file://\(file)"])
}

func count(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

@Suite("HTML report", .serialized)
struct HTMLReportTests {
    static let runs = ["basic", "aborted", "edges", "search"]

    func page(_ run: String) throws -> String {
        let records = try RunRecords(folder: suitesDir + "/runs/\(run)")
        var report = ReportBuilder.build(records)
        report.folder = "runs/\(run)"
        return HTMLReport.render(report, records)
    }

    @Test("golden pages for the recorded runs", arguments: runs)
    func golden(run: String) throws {
        let got = try page(run)
        let name = "\(run).html"
        if regenerateGoldenFiles() {
            let dir = Built.repository.appendingPathComponent("Tests/OrchestratorTests/Suites/runs/expected")
            try got.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: suitesDir + "/runs/expected/\(name)", encoding: .utf8)
        #expect(got == expected, "\(name) (PIPEPERF_REGENERATE=1 rewrites it)")
    }

    @Test("self-contained: no script, no link, no external URL, no font; every chart labelled")
    func selfContained() throws {
        for run in Self.runs {
            let html = try page(run)
            for banned in ["<script", "<link", "src=", "href=", "url(", "@import", "@font-face", "http://", "https://"]
            {
                #expect(!html.contains(banned), "\(run): \(banned)")
            }
            #expect(count("<svg", in: html) == count("aria-label=", in: html), "\(run)")
            #expect(count("<svg", in: html) >= 3, "\(run)")
        }
    }

    @Test("the throughput chart holds one point per pair of load readings at least 0.25 s apart")
    func pointsFromSamples() throws {
        let records = try RunRecords(folder: suitesDir + "/runs/basic")
        let html = try page("basic")
        let test = try #require(ReportBuilder.build(records).tests.first)
        let events = records.events.filter { $0["test"]?.string == test.name }
        let start = try #require(events.first).at("time_unix_nano")!.number! / 1e9
        let end = try #require(events.last).at("time_unix_nano")!.number! / 1e9
        for load in test.loads {
            let times = records.samples.filter {
                $0["component"]?.string == load.name && $0["source"]?.string == "component"
                    && $0.at("status.sent") != nil
            }.map { ($0["t"]?.number ?? 0) / 1e9 }.filter { $0 >= start - 0.001 && $0 <= end + 0.001 }.sorted()
            var points = 0
            var last: Double? = nil
            for t in times {
                if let l = last, t - l < 0.25 { continue }
                if last != nil { points += 1 }
                last = t
            }
            #expect(points > 0)
            #expect(
                html.contains("data-series=\"\(load.name) sent\" data-points=\"\(points)\""), "\(load.name): \(points)")
        }
        // The knee plot marks every step of the recorded search, passed or failed.
        let search = try page("search")
        let steps = try #require(
            ReportBuilder.build(try RunRecords(folder: suitesDir + "/runs/search")).tests.first?.search?.steps)
        #expect(count("data-step=", in: search) == steps.count)
        #expect(count("<circle data-step", in: search) == steps.filter(\.passed).count)
    }

    /// An hour-long run folder in the recorded format: a reading a second of each monitor (process and
    /// component for the load and the backend, the backend's with its finished second of latency).
    func hourLongRun() throws -> String {
        let dir = try tempDir("pp-hour")
        let t0: UInt64 = 1_700_000_000_000_000_000, s: UInt64 = 1_000_000_000
        let base = suitesDir + "/runs/basic"
        for f in ["run.json", "status.json"] {
            try FileManager.default.copyItem(atPath: "\(base)/\(f)", toPath: "\(dir)/\(f)")
        }
        try FileManager.default.copyItem(atPath: "\(base)/tests", toPath: "\(dir)/tests")
        func event(_ at: UInt64, _ name: String, test: Bool = true) -> String {
            "{\"time_unix_nano\": \(t0 + at * s), \"name\": \"\(name)\", \"attributes\": {}\(test ? ", \"test\": \"t\"" : "")}"
        }
        let events = [
            event(0, "suite_start", test: false), event(0, "test_start"), event(60, "observation_start"),
            event(3540, "observation_stop"), event(3600, "test_end"), event(3601, "suite_end", test: false),
        ]
        try "{\"version\": 1, \"events\": [\(events.joined(separator: ", "))]}".write(
            toFile: "\(dir)/events.json", atomically: true, encoding: .utf8)
        var lines: [String] = []
        for i in 0...3600 {
            let t = t0 + UInt64(i) * s
            let n = i * 100_000
            for c in ["load", "backend"] {
                lines.append(
                    "{\"v\": 1, \"t\": \(t), \"component\": \"\(c)\", \"source\": \"process\", \"cpu_user_s\": \(Double(i) * 0.4), \"cpu_system_s\": \(Double(i) * 0.1), \"rss_bytes\": \(50_000_000 + i % 97 * 10_000), \"threads\": 4, \"open_files\": 10, \"ctx_voluntary\": 1, \"ctx_involuntary\": 1, \"processes\": 1}"
                )
            }
            lines.append(
                "{\"v\": 1, \"t\": \(t), \"component\": \"load\", \"source\": \"component\", \"status\": {\"time_unix_nano\": \(t), \"state\": \"running\", \"sent\": \(n), \"acked\": \(n)}}"
            )
            // A 40 ms spike once a minute.
            let p99 = i % 60 == 30 ? 40.0 : 2.0
            let second =
                "{\"t\": \(t / s - 1), \"latency_ms\": {\"p50\": 0.8, \"p90\": 1.2, \"p99\": \(p99), \"p99_9\": 9.0, \"max\": 12.0, \"count\": 100000}, \"latency_ms_uncorrected\": {\"p50\": 0.7, \"p90\": 1.0, \"p99\": \(p99 / 2), \"p99_9\": 5.0, \"max\": 8.0, \"count\": 100000}}"
            lines.append(
                "{\"v\": 1, \"t\": \(t), \"component\": \"backend\", \"source\": \"component\", \"status\": {\"time_unix_nano\": \(t), \"counts_items\": true, \"logs\": {\"received\": \(n)}, \"latency_seconds\": [\(i > 0 ? second : "")]}}"
            )
        }
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: "\(dir)/samples.jsonl", atomically: true, encoding: .utf8)
        return dir
    }

    @Test("an hour-long run: every series downsampled to at most 600 points, the page under 1 MB")
    func hourLong() throws {
        let dir = try hourLongRun()
        let records = try RunRecords(folder: dir)
        #expect(records.samples.count == 4 * 3601)
        let html = HTMLReport.render(ReportBuilder.build(records), records)
        #expect(html.utf8.count < 1_000_000, "\(html.utf8.count) bytes")
        print("report.html of an hour-long run: \(html.utf8.count) bytes")
        let counts = html.components(separatedBy: "<polyline ").dropFirst().compactMap { p -> Int? in
            p.components(separatedBy: "data-points=\"").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
        }
        for chart in ["throughput", "cpu", "memory", "latency-over-time"] {
            #expect(html.contains("data-chart=\"\(chart)\""), "\(chart)")
        }
        #expect(counts.count >= 7 && counts.allSatisfy { $0 <= HTMLReport.maxPoints }, "\(counts)")
        // The latency line keeps each bucket's peak: the once-a-minute spikes set the scale (40 ms × 1.1).
        let latency = try #require(html.components(separatedBy: "data-chart=\"latency-over-time\"").dropFirst().first)
        let chart = latency.components(separatedBy: "</svg>")[0]
        #expect(chart.contains(">44.00</text>"), "\(chart.prefix(2000))")
        #expect(chart.contains("data-series=\"backend p99\" data-points=\"600\""))
    }

    @Test("across tests: bars of throughput, p99 and CPU per 100k/s with each test's change against compare_to")
    func acrossTests() throws {
        func test(_ name: String, _ rate: Double, _ p99: Double) -> TestReport {
            var t = TestReport(name: name, status: "passed", windowSeconds: 10, windowComplete: true)
            var tp = ThroughputReport()
            tp.receivedPerSecond = rate
            t.signals = [tp]
            t.latencyMs = [("p99", p99)]
            t.components = [
                ComponentReport(
                    name: "backend", cpuCoresAvg: rate / 200_000, cpuCoresP95: 0, cpuCoresMax: 0, rssBytesAvg: 0,
                    rssBytesMax: 0, cpuPer100kPerSecond: 0.5, samples: 10)
            ]
            return t
        }
        let report = RunReport(
            suite: "s", status: "passed", folder: "f", environment: [],
            tests: [test("a", 100_000, 2), test("b", 110_000, 1), test("c", 50_000, 4)])
        let first = HTMLReport.acrossTests(report, reference: nil)
        #expect(first.contains("changes against a") && first.contains("110.0k/s (+10.0 %)"))
        #expect(first.contains("50.0k/s (-50.0 %)") && first.contains("4.00 ms (+100.0 %)"))
        #expect(count("data-chart=\"across-", in: first) == 3)
        let againstB = HTMLReport.acrossTests(report, reference: "b")
        #expect(againstB.contains("changes against b") && againstB.contains("100.0k/s (-9.1 %)"))
        #expect(againstB.contains(">110.0k/s</text>"), "the reference itself has no change")
    }

    @Test("in headless Chromium: every chart and series in the DOM, no console error, a screenshot")
    func browser() throws {
        guard let browser = chromium() else { return }
        let dir = try tempDir("pp-html")
        for run in Self.runs {
            let html = try page(run)
            let file = "\(dir)/\(run).html"
            try html.write(toFile: file, atomically: true, encoding: .utf8)
            let dom = try headless(browser, ["--dump-dom"], file)
            #expect(dom.status == 0, "\(run): \(dom.err.suffix(2000))")
            for tag in ["<svg", "<polyline", "<table", "<circle", "data-phase="] {
                #expect(count(tag, in: dom.out) == count(tag, in: html), "\(run): \(tag)")
            }
            for bad in ["CONSOLE", "Uncaught", "Failed to load resource", "ERR_NAME_NOT_RESOLVED"] {
                #expect(!dom.err.contains(bad), "\(run): \(bad) in \(dom.err.suffix(2000))")
            }
            let png = "\(dir)/\(run).png"
            let shot = try headless(browser, ["--window-size=1200,2400", "--screenshot=\(png)"], file)
            #expect(shot.status == 0, "\(run): \(shot.err.suffix(2000))")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
            #expect(bytes.count > 10_000 && Array(bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47], "\(run): a PNG")
        }
    }
}
