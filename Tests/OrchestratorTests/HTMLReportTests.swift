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
