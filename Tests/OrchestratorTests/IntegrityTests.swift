// The numbers end to end, with real processes: the window goal (sent/s within 0.5 % of the target,
// received/s within 0.5 % of sent/s) for the quickstart and through a real gateway (nginx grpc_pass),
// generators fanning in with two signals, a scraped rate asserted on, a null sink that does not count
// items, and a generator made late on purpose whose corrected latency shows the wait.

import Foundation
import Testing
import TestSupport

/// One test of a report.json.
func reportTest(_ folder: String, _ name: String) throws -> [String: Any] {
    let tests = try json("\(folder)/report.json")["tests"] as? [[String: Any]] ?? []
    return try #require(tests.first { $0["name"] as? String == name }, "no test \(name) in \(folder)")
}

func figure(_ test: [String: Any], _ path: String) -> Double? {
    var node: Any? = test
    for part in path.split(separator: ".") { node = (node as? [String: Any])?[String(part)] }
    return (node as? Double) ?? (node as? Int).map(Double.init)
}

/// The window goal of a loss-free pipeline.
func expectWindowGoal(_ t: [String: Any], target: Double, _ what: String) {
    let sent = figure(t, "throughput.logs.sent_per_s") ?? 0
    let received = figure(t, "throughput.logs.received_per_s") ?? 0
    #expect(abs(sent - target) <= target * 0.005, "\(what): sent/s \(sent) against the target \(target)")
    #expect(abs(received - sent) <= sent * 0.005, "\(what): received/s \(received) against sent/s \(sent)")
    #expect((t["loads"] as? [[String: Any]])?.first?["rates_from"] as? String == "edges")
}

@Suite("the report's numbers, end to end", .serialized, .timeLimit(.minutes(4)))
struct IntegrityTests {
    @Test("the quickstart at 100k/s and loadgen → nginx (grpc_pass) → fake-backend at 50k/s meet the window goal")
    func windowGoal() throws {
        let results = try tempDir("pp-goal")
        let quick = try pipeperf(
            [
                "run", "-c", Built.repository.appendingPathComponent("suites/quickstart.yaml").path, "--set",
                "observe=5s",
            ],
            results: results)
        #expect(quick.status == 0, "\(quick.out)\n\(quick.err)")
        let q = try reportTest(try runFolder(results), "logs-grpc")
        expectWindowGoal(q, target: 100_000, "quickstart")
        #expect(q["latency_scope"] as? String == "window")
        // The plan describes the run that happened (stopped after the window), not a 24 h plan.
        let load = try #require((q["loads"] as? [[String: Any]])?.first)
        let planned = load["planned"] as? Int ?? 0, sent = load["sent"] as? Int ?? -1
        #expect(planned >= sent && planned - sent <= 2_000, "planned \(planned), sent \(sent)")

        let gatewayResults = try tempDir("pp-gateway")
        let g = try pipeperf(["run", "-c", suitesDir + "/good/gateway.yaml"], results: gatewayResults)
        #expect(g.status == 0, "\(g.out)\n\(g.err)")
        let gateway = try runFolder(gatewayResults)
        expectWindowGoal(try reportTest(gateway, "through-nginx"), target: 50_000, "through nginx")
        #expect(FileManager.default.fileExists(atPath: "\(gateway)/report-gab-bigger.json"))
        #expect(FileManager.default.fileExists(atPath: "\(gateway)/report-gab-smaller.json"))
        #expect(!FileManager.default.fileExists(atPath: "\(gateway)/report-gab.json"))
    }

    @Test("fan-in of two generators with two signals, a scraped rate, a null sink, a late generator")
    func integrity() throws {
        let results = try tempDir("pp-integrity")
        let r = try pipeperf(["run", "-c", suitesDir + "/good/integrity.yaml"], results: results)
        #expect(r.status == 1, "the late test is invalid: \(r.out)\n\(r.err)")
        let folder = try runFolder(results)

        let fan = try reportTest(folder, "fan-in")
        #expect(fan["status"] as? String == "passed", "\(fan["assertions"] ?? "")")
        #expect(figure(fan, "throughput.total.loads") == 2)
        let logs = figure(fan, "throughput.logs.received_per_s") ?? 0
        let traces = figure(fan, "throughput.traces.received_per_s") ?? 0
        let total = figure(fan, "throughput.total.received_per_s") ?? 0
        #expect(abs(logs - 20_000) < 100 && abs(traces - 10_000) < 50, "logs \(logs)/s, traces \(traces)/s")
        #expect(abs(total - logs - traces) < 0.5)
        let scraped = figure(fan, "components.backend.metrics.pipeperf_backend_items_total.rate_per_s") ?? 0
        #expect(scraped > 25_000 && scraped < 35_000, "the scraped rate of items: \(scraped)")
        #expect(fan["latency_scope"] as? String == "window")

        let null = try reportTest(folder, "null-sink")
        #expect(null["status"] as? String == "passed")
        let nl = try #require((null["throughput"] as? [String: Any])?["logs"] as? [String: Any])
        #expect(nl["received"] is NSNull && nl["dropped_pct"] is NSNull, "not read as total loss: \(nl)")
        #expect((nl["received_note"] as? String ?? "").contains("not counted by this sink"))
        #expect((nl["received_requests"] as? Int ?? 0) > 100)

        // One stream against 20 ms answers: half the batches wait for the stream. From the intended send
        // time they are seconds late; from the actual send time they arrive at once.
        let late = try reportTest(folder, "late")
        #expect(late["status"] as? String == "invalid")
        let corrected = figure(late, "latency_ms.p99") ?? 0
        let uncorrected = figure(late, "latency_ms_uncorrected.p99") ?? 0
        #expect(
            corrected > 500 && corrected > 20 * uncorrected, "corrected \(corrected) ms, uncorrected \(uncorrected) ms")
        // Both over the window only: the backend's window histograms count what arrived between the edges.
        let samples = try String(contentsOfFile: "\(folder)/samples.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let edges = samples.filter {
            $0["component"] as? String == "slow" && $0["source"] as? String == "component"
                && $0["test"] as? String == "late"
        }
        let start = try #require(edges.first { $0["edge"] as? String == "start" }?["status"] as? [String: Any])
        let stop = try #require(edges.first { $0["edge"] as? String == "stop" }?["status"] as? [String: Any])
        func received(_ s: [String: Any]) -> Int { (s["logs"] as? [String: Any])?["received"] as? Int ?? -1 }
        let window = (stop["window"] as? [String: Any])?["latency_ms"] as? [String: Any] ?? [:]
        // (A receiving thread opens and closes the window at its next loop turn, the counters are read
        // when the status is written: a batch may fall between the two at each edge.)
        let delta = received(stop) - received(start)
        #expect(abs((window["count"] as? Int ?? 0) - delta) <= 2 * 20, "\(window), \(delta) received between the edges")
        let life =
            (try json("\(folder)/tests/late/slow.snapshot")["latency_ms"] as? [String: Any])?["count"] as? Int ?? 0
        #expect(life > (window["count"] as? Int ?? 0), "the warm-up and drain are outside the window")
    }

    @Test("assertions on item counts against a null sink are refused at validate time")
    func nullSinkAssertions() throws {
        let dir = try tempDir("pp-null-assert")
        let suite = """
            name: n
            components:
              sink:
                deployment: {process: {command: [null-sink, --admin, "127.0.0.1:0"]}}
                snapshot: http://127.0.0.1:1/status
              load:
                deployment: {process: {command: [loadgen, serve, --admin, "127.0.0.1:18199"]}}
                execution: {loadgen: {admin: "127.0.0.1:18199", options: {endpoint: "127.0.0.1:1"}}}
            tests:
              - name: t
                flow: {load: load, observe: 1s}
                assert: [sent_per_s > 0, dropped_pct == 0]
            """
        try suite.write(toFile: dir + "/n.yaml", atomically: true, encoding: .utf8)
        let r = try runProcess([Built.executable("pipeperf"), "validate", dir + "/n.yaml"])
        #expect(r.status == 2)
        #expect(r.err.contains("n.yaml:12:") && r.err.contains("tests[0].assert[1]"), "\(r.err)")
        #expect(r.err.contains("not counted by this sink") && !r.err.contains("assert[0]"), "\(r.err)")
    }
}
