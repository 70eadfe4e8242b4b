// Running a `search:` test: the components deployed once (or per step with `redeploy: true`), then per
// step the load started at the step's rate, a warm-up, an observation window with edge readings, the
// load stopped, the backends read until their counts settle and reset, and the step judged from its
// report (the same figures `pipeperf report` computes from the records). Each step is recorded as a test
// of its own (`<test>/step-<k>`: its events, edge readings and files), so the report recomputes every
// step and replays the search.

import AdminHTTP
import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

extension Runner {
    /// Runs the search's steps; the test's teardown steps (stop monitoring, destroy) follow in runTest.
    func runSearch(_ t: TestCase, _ spec: SearchSpec) throws(PipeperfError) {
        let targets = spec.components ?? components.map(\.name)
        var search = CapacitySearch(spec)
        events.record(
            "search_start",
            [
                ("load", spec.load), ("from", formatRate(spec.from)), ("to", formatRate(spec.to)),
                ("precision", String(spec.precision)),
            ])
        if !spec.redeploy { try deployAndMonitor(targets) }
        var k = 0
        while let (rate, purpose) = search.next() {
            k += 1
            let name = SearchReport.stepName(t.name, k)
            events.test = name
            events.record(
                "search_step_start",
                [("search", t.name), ("step", String(k)), ("rate", String(Int(rate))), ("purpose", purpose.rawValue)])
            var stepError: String? = nil
            do {
                try searchStep(spec, rate: rate, targets: targets)
            } catch  where error.isInterruption {
                events.test = t.name
                throw error
            } catch {
                stepError = "\(error)"
                log("pipeperf: \(name): \(error)")
                if let c = component(spec.load) {
                    do { try stopExecution(c) } catch {
                        log("pipeperf: \(spec.load): stopping its execution: \(error)")
                    }
                }
            }
            if spec.redeploy {
                for n in targets { if let c = component(n) { stopMonitoring(c) } }
                for n in targets.reversed() { if let c = component(n) { destroy(c) } }
            }
            // The step's figures, computed as the report will compute them.
            run.keep("events.json", events.json)
            let report: TestReport
            do {
                let records = try RunRecords(folder: folder.path, running: true)
                report = ReportBuilder.test(
                    name, status: stepError == nil ? "passed" : "failed", error: stepError, records)
            } catch {
                events.test = t.name
                throw error
            }
            let (outcome, reason) = StepJudge.judge(report, target: rate, slo: spec.slo)
            events.record(
                "search_step_end",
                [("outcome", outcome.rawValue), ("reason", reason)] + (stepError.map { [("error", $0)] } ?? []))
            log(
                "pipeperf: \(t.name): step \(k) (\(purpose.rawValue)) \(SearchReport.summary(report, rate)) — \(outcome == .passed ? "passed" : "failed (\(outcome.rawValue)): \(reason)")"
            )
            search.record(outcome)
            // A component that died cannot be measured again without a redeploy; any other error (a load
            // that would not start, a backend that cannot be reset) leaves nothing sound to go on with.
            let dead = targets.filter { deployed[$0]?.exited != nil }
            var stop: String? = nil
            if !spec.redeploy, let d = dead.first {
                stop =
                    "component '\(d)' exited (\(deployed[d]?.exited ?? "")): the search stops (set `redeploy: true` to deploy afresh per step)"
            } else if let e = stepError, dead.isEmpty {
                stop = "step \(k): \(e)"
            }
            if let stop {
                events.test = t.name
                events.record("search_stopped", [("reason", stop)])
                throw PipeperfError(.failed, stop)
            }
            try Interrupts.check()
        }
        events.test = t.name
        if let r = search.result {
            events.record(
                "search_end",
                [
                    ("capacity_per_s", String(Int(r.capacity))), ("bound", r.bound.rawValue),
                    ("reason", r.reason),
                ])
            log(
                "pipeperf: \(t.name): capacity \(formatRate(r.capacity))/s (bound: \(r.bound.rawValue); \(r.reason))")
        }
    }

    func deployAndMonitor(_ targets: [String]) throws(PipeperfError) {
        for n in targets { try phaseOf(n, .deploy) }
        for n in targets { try phaseOf(n, .startMonitoring) }
    }

    /// One step: the load at `rate` for warm-up and window, stopped after the window, the backends'
    /// counts settled into the step's snapshots and reset (when the components stay deployed).
    func searchStep(_ spec: SearchSpec, rate: Double, targets: [String]) throws(PipeperfError) {
        if spec.redeploy { try deployAndMonitor(targets) }
        var o = overrides[spec.load] ?? []
        o.removeAll { $0.0 == "rate" }
        o.append(("rate", String(Int(rate))))
        overrides[spec.load] = o
        try phaseOf(spec.load, .start)
        try sleep(spec.warmupNanos)
        try perform(.recordEvent(name: "observation_start", attributes: []))
        try sleep(spec.observeNanos)
        try perform(.recordEvent(name: "observation_stop", attributes: []))
        try phaseOf(spec.load, .stop)
        for n in targets {
            if let live = deployed[n], let why = live.exited {
                throw PipeperfError(.failed, "component '\(n)' exited during the step (\(why))")
            }
        }
        guard !spec.redeploy else { return }  // the destroy takes the snapshots
        for n in targets {
            guard let c = component(n), let s = c.snapshot, let url = HTTPURL(s) else { continue }
            takeSnapshot(c, url: url, text: s)
            let reset = HTTPURL(host: url.host, port: url.port, path: "/reset")
            let r = try HTTPClient.request("POST", reset, body: "")
            guard (200..<300).contains(r.status) else {
                throw PipeperfError(
                    .failed,
                    "component '\(n)' cannot be reset between steps (POST \(reset) answered HTTP \(r.status)): its counts would run on into the next step; set `redeploy: true`"
                )
            }
            events.record("backend_reset", component: n)
        }
    }
}
