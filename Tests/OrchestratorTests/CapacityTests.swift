// Capacity: the search logic on simulated pipelines (deterministic and noisy boundaries, a first step
// that fails, `to` reached, a generator that gives out), the step judge, the loader, scaling, and end to
// end with real processes: a backend whose capacity is known (it reads at a fixed byte rate), a generator
// too weak for its sink, and an idle baseline.

import Foundation
import AdminHTTP
import OTLPWire
import Testing
import TestSupport

@testable import Orchestrator

/// Runs a search against `respond` (rate → outcome) to its end.
func simulate(_ search: inout CapacitySearch, _ respond: (Double) -> StepOutcome) {
    while let (rate, _) = search.next() { search.record(respond(rate)) }
}

@Suite("capacity search")
struct CapacitySearchTests {
    @Test("a sharp boundary: exponential steps, bisection, a confirming step, within the precision")
    func converges() throws {
        for capacity in [3_000.0, 123_456, 987_654, 1_999_000] {
            var s = CapacitySearch(from: 10_000, to: 2_000_000, precision: 0.02)
            simulate(&s) { $0 <= capacity ? .passed : .pipeline }
            let r = try #require(s.result)
            #expect(r.bound == .pipeline && r.converged, "\(capacity): \(r)")
            #expect(r.capacity <= capacity && r.capacity >= capacity * 0.98, "\(capacity): found \(r.capacity)")
            let high = try #require(r.high)
            #expect(high > capacity && high - r.capacity <= 0.02 * r.capacity + 1)
            #expect(s.steps.last?.purpose == .confirm && s.steps.last?.outcome == .passed)
            #expect(s.steps.count < 30, "\(s.steps.count) steps")
        }
    }

    @Test("a first step that already fails: the search comes down, then bisects")
    func firstStepFails() throws {
        var s = CapacitySearch(from: 100_000, to: 1_000_000, precision: 0.05)
        simulate(&s) { $0 <= 7_000 ? .passed : .pipeline }
        let r = try #require(s.result)
        #expect(s.steps[0].rate == 100_000 && s.steps[0].outcome == .pipeline)
        #expect(s.steps[1].rate == 50_000)
        #expect(r.bound == .pipeline && r.capacity <= 7_000 && r.capacity >= 7_000 * 0.95)
        var none = CapacitySearch(from: 1_000, to: 10_000, precision: 0.05)
        simulate(&none) { _ in .pipeline }
        #expect(none.result?.capacity == 0 && none.result?.bound == .pipeline)
        #expect(none.steps.last?.rate == 1, "down to the floor: \(none.steps.map(\.rate))")
    }

    @Test("`to` passed: bound range, the capacity is `to`")
    func rangeReached() throws {
        var s = CapacitySearch(from: 10_000, to: 50_000, precision: 0.02)
        simulate(&s) { _ in .passed }
        let r = try #require(s.result)
        #expect(r.bound == .range && r.capacity == 50_000 && r.high == nil)
        #expect(s.steps.map(\.rate) == [10_000, 20_000, 40_000, 50_000])
    }

    @Test("a generator that gives out first: bound generator, the highest passing rate as a lower bound")
    func generatorBound() throws {
        var s = CapacitySearch(from: 10_000, to: 2_000_000, precision: 0.02)
        simulate(&s) { $0 <= 40_000 ? .passed : .generator }
        let r = try #require(s.result)
        #expect(r.bound == .generator && r.capacity == 40_000 && !r.converged)
        #expect(s.steps.count == 4)
    }

    @Test("a noisy boundary: a confirmation that fails reopens the bracket; the search ends within its budget")
    func noisyBoundary() throws {
        var rng = SplitMix64(seed: 42)
        let capacity = 250_000.0
        for _ in 0..<200 {
            var s = CapacitySearch(from: 10_000, to: 2_000_000, precision: 0.02, maxSteps: 40)
            // Within ±4 % of the capacity a step passes or fails at random.
            simulate(&s) { rate in
                if rate < capacity * 0.96 { return .passed }
                if rate > capacity * 1.04 { return .pipeline }
                return rng.uniform() < 0.5 ? .passed : .pipeline
            }
            let r = try #require(s.result)
            #expect(s.steps.count <= 40)
            #expect(r.capacity >= capacity * 0.9 && r.capacity <= capacity * 1.04, "found \(r.capacity)")
            if r.converged {
                #expect(s.steps.last?.purpose == .confirm && s.steps.last?.outcome == .passed)
            }
        }
        // A confirmation that fails: the bracket's low end moves down to the next rate that passed.
        var s = CapacitySearch(from: 10_000, to: 1_000_000, precision: 0.1)
        var confirmations = 0
        while let (rate, purpose) = s.next() {
            if purpose == .confirm { confirmations += 1 }
            s.record(purpose == .confirm && confirmations == 1 ? .pipeline : rate <= 100_000 ? .passed : .pipeline)
        }
        let r = try #require(s.result)
        #expect(confirmations == 2)
        #expect(r.capacity < 100_000 && r.capacity >= 80_000 * 0.9, "\(s.steps.map { ($0.rate, $0.outcome) })")
    }

    @Test("the step budget: a search that cannot narrow says so")
    func budget() throws {
        var s = CapacitySearch(from: 1_000, to: 10_000_000, precision: 0.0001, maxSteps: 6)
        simulate(&s) { $0 <= 777_777 ? .passed : .pipeline }
        let r = try #require(s.result)
        #expect(!r.converged && s.steps.count == 6 && r.reason.contains("6 steps"))
    }
}

@Suite("capacity judge and report")
struct CapacityJudgeTests {
    func step(target: Double, sent: Double, received: Double?, cpu: Double = 0.3, inFlight: Double = 1) -> TestReport {
        var t = TestReport(name: "s", status: "passed", windowSeconds: 2, windowComplete: true)
        var l = LoadReport(name: "load")
        l.targetPerSecond = target
        l.sentPerSecond = sent
        l.cpuPerThread = cpu
        l.inFlightMax = inFlight
        l.inFlightLimit = 16
        t.loads = [l]
        var tp = ThroughputReport()
        tp.targetPerSecond = target
        tp.sentPerSecond = sent
        tp.ackedPerSecond = sent
        tp.receivedPerSecond = received
        tp.droppedPct = 0
        t.signals = [tp]
        t.latencyMs = [("p99", 12)]
        return t
    }

    @Test("each rule: generator CPU, falling behind, an objective, pushback, a generator short of the machine")
    func rules() {
        #expect(StepJudge.judge(step(target: 1000, sent: 1000, received: 1000), target: 1000, slo: []).0 == .passed)
        let cpu = StepJudge.judge(step(target: 1000, sent: 1000, received: 900, cpu: 0.93), target: 1000, slo: [])
        #expect(cpu.0 == .generator && cpu.1.contains("93 %"))
        let behind = StepJudge.judge(step(target: 1000, sent: 1000, received: 980), target: 1000, slo: [])
        #expect(behind.0 == .pipeline && behind.1.hasPrefix("fell behind"))
        let slo = StepJudge.judge(
            step(target: 1000, sent: 1000, received: 1000), target: 1000, slo: ["latency_ms.p99 <= 10"])
        #expect(slo.0 == .pipeline && slo.1.contains("latency_ms.p99"))
        let missing = StepJudge.judge(
            step(target: 1000, sent: 1000, received: 1000), target: 1000, slo: ["latency_ms.p999 <= 10"])
        #expect(missing.0 == .pipeline && missing.1.contains("not in the report"))
        // Corrected latency over the objective, the latency from the actual send time within it, request
        // slots free: the generator sent late (its own fault); with every slot waiting: the pipeline's.
        var late = step(target: 1000, sent: 1000, received: 1000)
        late.latencyMs = [("p99", 80)]
        late.latencyMsUncorrected = [("p99", 4)]
        let own = StepJudge.judge(late, target: 1000, slo: ["latency_ms.p99 <= 50"])
        #expect(own.0 == .generator && own.1.contains("sent late"))
        late.loads[0].inFlightMax = 16
        #expect(StepJudge.judge(late, target: 1000, slo: ["latency_ms.p99 <= 50"]).0 == .pipeline)
        let push = StepJudge.judge(step(target: 1000, sent: 800, received: 800, inFlight: 16), target: 1000, slo: [])
        #expect(push.0 == .pipeline && push.1.hasPrefix("pushed back"))
        let short = StepJudge.judge(step(target: 1000, sent: 800, received: 800, inFlight: 2), target: 1000, slo: [])
        #expect(short.0 == .generator)
        // A sink that counts no items: acknowledged items stand in for received ones.
        #expect(StepJudge.judge(step(target: 1000, sent: 1000, received: nil), target: 1000, slo: []).0 == .passed)
        var failed = step(target: 1000, sent: 1000, received: 1000)
        failed.error = "component 'collector' exited during the step (signal 9)"
        #expect(StepJudge.judge(failed, target: 1000, slo: []) == (.pipeline, failed.error!))
    }

    @Test("scaling: capacity per core count and efficiency against the fewest cores, per other matrix value")
    func scaling() throws {
        func test(_ name: String, _ capacity: Double) -> TestReport {
            var t = TestReport(name: name, status: "passed", windowSeconds: 2, windowComplete: true)
            t.search = SearchReport(
                capacityPerSecond: capacity, bound: .pipeline, precision: 0.02, lowPerSecond: capacity,
                highPerSecond: capacity * 1.02, converged: true, reason: "")
            return t
        }
        let tests = [
            test("cap[cores=1,proto=grpc]", 100_000), test("cap[cores=2,proto=grpc]", 180_000),
            test("cap[cores=4,proto=grpc]", 300_000), test("cap[cores=2,proto=http]", 90_000),
            test("cap[cores=4,proto=http]", 160_000),
        ]
        var meta: [String: JSON] = [:]
        for t in tests {
            let inner = t.name.dropFirst(4).dropLast()
            var m: [String: JSON] = [:]
            for kv in inner.split(separator: ",") {
                let p = kv.split(separator: "=")
                m[String(p[0])] = .string(String(p[1]))
            }
            meta[t.name] = .object(["matrix": .object(m)])
        }
        let s = ScalingReport.build(tests, meta: .object(["tests": .object(meta)]))
        #expect(s.map(\.test) == ["cap[proto=grpc]", "cap[proto=http]"])
        #expect(s[0].points.map(\.cores) == [1, 2, 4])
        let e = s[0].points.compactMap(\.efficiency)
        #expect(e.count == 3 && e[0] == 1 && abs(e[1] - 0.9) < 1e-12 && abs(e[2] - 0.75) < 1e-12)
        // Without a 1-core point: against the fewest cores measured (2 → 4: 160k / (2 × 90k)).
        #expect(abs((s[1].points[1].efficiency ?? 0) - 160_000 / 180_000) < 1e-12)
    }

    @Test("a recorded search replayed from its records: the same steps, outcomes and capacity as the run decided")
    func replay() throws {
        let records = try RunRecords(folder: suitesDir + "/runs/search")
        let t = try #require(ReportBuilder.build(records).tests.first)
        let s = try #require(t.search)
        #expect(s.notes.isEmpty, "\(s.notes)")
        let end = try #require(records.events.last { $0["name"]?.string == "search_end" })
        #expect(end["attributes"]?["capacity_per_s"]?.string == String(Int(s.capacityPerSecond)))
        #expect(end["attributes"]?["bound"]?.string == s.bound.rawValue)
        let judged = records.events.filter { $0["name"]?.string == "search_step_end" }
        #expect(judged.map { $0["attributes"]?["outcome"]?.string ?? "" } == s.steps.map(\.outcome.rawValue))
        // The headline is the confirming step's report, under the test's own name.
        #expect(t.name == "capacity" && t.throughput?.targetPerSecond == s.capacityPerSecond)
        #expect(ReportBuilder.flatten(t)["search.capacity_per_s"] == s.capacityPerSecond)
        #expect(Headline.paths(ReportBuilder.flatten(t)).first == "search.capacity_per_s")
    }

    @Test("the loader: a search's keys, a matrix that reaches the components, an idle test")
    func loading() throws {
        let suite = try SuiteLoader.load(path: suitesDir + "/good/capacity.yaml")
        let spec = try #require(suite.tests[0].search)
        #expect(spec.load == "load" && spec.from == 2_000 && spec.to == 400_000 && spec.precision == 0.03)
        #expect(spec.warmupNanos == 1_000_000_000 && spec.observeNanos == 2_000_000_000)
        #expect(spec.slo == ["dropped_pct <= 0.1"])
        #expect(suite.tests[0].steps.map(\.name) == ["stop monitoring", "destroy"])
        let shipped = try SuiteLoader.load(path: Built.repository.appendingPathComponent("suites/capacity.yaml").path)
        let scaling = shipped.tests.filter { $0.name.hasPrefix("scaling") }
        #expect(scaling.map(\.name) == ["scaling[cores=1]", "scaling[cores=2]"])
        let allotments = scaling.map { $0.components?.first { $0.name == "gateway" }?.deployment.allotmentCores }
        #expect(allotments == [1, 2])
        let idle = try #require(shipped.tests.first { $0.name == "idle" })
        #expect(idle.steps.map(\.name).contains("observe idle") && idle.search == nil)
    }
}

@Suite("capacity end to end", .serialized)
struct CapacityEndToEndTests {
    @Test(
        "a backend that reads 2 MB/s: the search lands within 5 % of 2 MB/s ÷ wire bytes per log, bound pipeline, every step in the report"
    )
    func knownCapacity() throws {
        let results = try tempDir("pp-capacity")
        let r = try pipeperf(["run", "-c", suitesDir + "/good/capacity.yaml"], results: results)
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        let folder = try runFolder(results)
        let report = try json("\(folder)/report.json")
        let test = try #require((report["tests"] as? [[String: Any]])?.first)
        let search = try #require(test["search"] as? [String: Any])
        let steps = try #require(search["steps"] as? [[String: Any]])
        #expect(search["bound"] as? String == "pipeline", "\(search)")
        // Wire bytes per log from the generator's own count, over the whole search.
        let logs = try #require(test["throughput"] as? [String: Any])["logs"] as? [String: Any]
        let bytesPerItem = try #require(logs?["bytes_per_item"] as? Double)
        let expected = 2_000_000 / bytesPerItem
        let capacity = try #require(search["capacity_per_s"] as? Double)
        #expect(abs(capacity - expected) / expected <= 0.05, "found \(capacity)/s, expected \(expected)/s")
        #expect(steps.count >= 5 && steps.contains { $0["passed"] as? Bool == false })
        for s in steps {
            for key in ["target_per_s", "sent_per_s", "received_per_s", "dropped_pct", "latency_ms", "cpu", "reason"] {
                #expect(s[key] != nil, "step \(s["step"] ?? ""): \(key)")
            }
            #expect((s["cpu"] as? [String: Any])?["backend"] != nil)
        }
        #expect(steps.last?["purpose"] as? String == "confirm" && steps.last?["passed"] as? Bool == true)
        // Every step has its own records, and the console shows the steps as a table.
        #expect(FileManager.default.fileExists(atPath: "\(folder)/tests/capacity_step-1/load.loadgen.json"))
        #expect(r.out.contains("capacity: capacity ") && r.out.contains("bound: pipeline"))
        #expect(r.out.contains("confirm"))
    }

    @Test("a generator too weak for its sink: bound generator, the answer called a lower bound; an idle baseline")
    func generatorLimit() throws {
        let results = try tempDir("pp-capacity-gen")
        let r = try pipeperf(["run", "-c", suitesDir + "/good/capacity-generator.yaml"], results: results)
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        let report = try json("\(try runFolder(results))/report.json")
        let tests = try #require(report["tests"] as? [[String: Any]])
        let search = try #require(tests.first?["search"] as? [String: Any])
        #expect(search["bound"] as? String == "generator", "\(search)")
        let notes = tests.first?["notes"] as? [String] ?? []
        #expect(notes.contains { $0.contains("lower bound") })
        let last = try #require((search["steps"] as? [[String: Any]])?.last)
        #expect((last["reason"] as? String ?? "").contains("load generator"))
        // The idle test: CPU and memory of every component at rest, no load.
        let idle = try #require(tests.first { $0["name"] as? String == "idle" })
        #expect(idle["status"] as? String == "passed")
        let components = try #require(idle["components"] as? [String: Any])
        for c in ["sink", "load"] {
            let figures = try #require(components[c] as? [String: Any], "\(c)")
            #expect((figures["rss_bytes_max"] as? Int ?? 0) > 0)
            #expect((figures["cpu_cores_avg"] as? Double ?? 1) < 0.2)
        }
        #expect((idle["loads"] as? [Any])?.isEmpty == true)
    }
}
