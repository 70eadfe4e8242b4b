// Runs a suite: tests in order, steps in order with their hooks and error policy, component phases
// through the components' strategies, every phase/step/hook recorded as an event. The runner holds
// tests, steps, hooks and policies, plus one set of live handles (deployments, executions) that is torn
// down in reverse order. Teardown is guaranteed: a failed step, an error or SIGINT/SIGTERM (first: stop
// the load, destroy everything, record `aborted`; second: the interrupt watcher kills everything at once,
// Runtime/Interrupts.swift) all end with no process or container of the run left. A result that cannot
// be written fails the run, naming the file and the reason.

import AdminHTTP
import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

/// How a run ended.
public enum RunStatus: String, Sendable {
    case passed, failed, aborted
}

public final class Runner {
    let suite: Suite
    let folder: RunFolder
    let events = EventLog()
    let run: RunContext
    /// Deployed components by name, and the order they were deployed in (torn down in reverse).
    var deployed: [String: any LiveDeployment] = [:]
    var deployOrder: [String] = []
    /// Running executions by component.
    var executions: [String: any LiveExecution] = [:]
    /// Execution options changed by `update_component_strategy`, per component.
    var overrides: [String: [(String, String)]] = [:]
    var monitored: [String] = []
    /// The components of the test being run (a matrix expansion's own, or the suite's).
    var components: [Component]
    var testResults: [(name: String, status: RunStatus, error: String?)] = []
    let log: (String) -> Void
    /// Verbose progress (--debug).
    public var debug: Bool {
        get { run.debug }
        set { run.debug = newValue }
    }
    /// --docker.no-build: use the images the engine has.
    public var dockerNoBuild: Bool {
        get { run.dockerNoBuild }
        set { run.dockerNoBuild = newValue }
    }
    /// Live progress (on a terminal, or with --progress): test, step, time left, live rates and CPU.
    public var progress = false
    var previous: [String: (t: UInt64, value: Double)] = [:]
    /// The monitoring sampler (samples.jsonl).
    var sampler: Sampler?
    /// The report computed at the end of the run.
    public private(set) var report: RunReport?

    public init(suite: Suite, folder: RunFolder, log: @escaping (String) -> Void = { printError($0) }) {
        self.suite = suite
        self.folder = folder
        self.log = log
        run = RunContext(suite: suite, folder: folder, events: events, log: log)
        components = suite.components
    }

    func component(_ name: String) -> Component? { components.first { $0.name == name } }

    /// Sleeps, waking at once for a signal (and printing the progress line once a second).
    func sleep(_ nanos: UInt64) throws(PipeperfError) {
        guard progress && nanos >= 2_000_000_000 else { return try Interrupts.sleep(nanos) }
        try Interrupts.sleep(nanos) { [self] elapsed in
            printProgress(elapsed: Double(elapsed) / 1e9, total: Double(nanos) / 1e9)
        }
    }

    // MARK: The run

    /// Runs every test; returns the overall status. Teardown always happens.
    public func run(tests selected: [TestCase]) -> RunStatus {
        Interrupts.startWatcher(log: { printError($0) })
        events.record("suite_start", [("suite", suite.name)])
        writeMeta(selected)
        do { sampler = try Sampler(path: folder.file("samples.jsonl")) } catch {
            log("pipeperf: monitoring is off: \(error)")
        }
        var status = RunStatus.passed
        do {
            try runHooks(suite.hooks.pre, point: "suite pre")
            for t in selected {
                let s = try runTest(t)
                testResults.append((t.name, s.0, s.1))
                if s.0 == .failed { status = .failed }
                try Interrupts.check()
            }
            try runHooks(suite.hooks.post, point: "suite post")
        } catch let e as PipeperfError where e.isInterruption {
            status = .aborted
            log(
                "pipeperf: interrupted: stopping the load and destroying every component (a second signal kills them at once)"
            )
        } catch {
            status = .failed
            log("pipeperf: \(error)")
        }
        teardown()
        run.finishResources()
        events.test = nil
        events.step = nil
        events.record("suite_end", [("status", status.rawValue)])
        sampler?.stop()
        if let failure = sampler?.writeFailure.withLock({ $0 }) { run.lost(failure) }
        writeStatus(status)
        // The report: computed from the run folder's records, as `pipeperf report` would.
        do {
            let records = try RunRecords(folder: folder.path)
            let r = ReportBuilder.build(records)
            report = r
            run.keep("report.json", r.render(.json))
            run.keep("report.md", r.render(.markdown))
            run.keep("report-gab-bigger.json", r.render(.gabBigger))
            run.keep("report-gab-smaller.json", r.render(.gabSmaller))
            run.keep("report.html", HTMLReport.render(r, records))
            // In a GitHub Actions job the Markdown report becomes the job summary.
            if let summary = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !summary.isEmpty {
                appendStepSummary(summary, r.render(.markdown))
            }
            if status == .passed && r.tests.contains(where: { $0.status == "failed" || $0.status == "invalid" }) {
                status = .failed
            }
        } catch {
            run.lost("cannot compute the report from \(folder.path): \(error)")
        }
        if !run.lostResults.isEmpty {
            log(
                "pipeperf: the run fails: \(run.lostResults.count) result\(run.lostResults.count == 1 ? "" : "s") could not be written (\(run.lostResults[0]))"
            )
            if status == .passed { status = .failed }
        }
        return status
    }

    /// Takes a reading of every monitored component now, marked as the window's edge: the report
    /// computes every rate from the readings at both edges, each stamped with its own time.
    func sampleEdge(_ edge: WindowEdge) {
        guard let sampler else { return }
        for c in monitored { sampler.sampleNow(component: c, edge: edge, test: events.test) }
    }

    /// One test: pre hooks, steps (a failed step fails the test; later steps still run only when they are
    /// teardown steps of the flow or `continue` is set), post hooks, then any component still up is destroyed.
    func runTest(_ t: TestCase) throws(PipeperfError) -> (RunStatus, String?) {
        events.test = t.name
        events.step = nil
        components = t.components ?? suite.components
        run.testVariables = t.variables
        // Each test renders its configs again: its variables and matrix values may differ.
        run.rendered = [:]
        run.configOverrides = [:]
        events.record("test_start", t.matrix)
        log("pipeperf: test \(t.name)")
        var firstError: String? = nil
        do {
            try runHooks(t.hooks.pre, point: "test pre")
        } catch  where error.isInterruption {
            throw error
        } catch {
            firstError = "\(error)"
        }
        if firstError == nil, let spec = t.search {
            do { try runSearch(t, spec) } catch  where error.isInterruption { throw error } catch {
                firstError = "\(error)"
                log("pipeperf: \(t.name): \(error)")
            }
        }
        if t.search != nil || firstError == nil {
            // After a failure that is not continued, only the steps that always run (the flow's stop
            // monitoring and destroy, with their component hooks) still run.
            var stopped = firstError != nil
            for step in t.steps {
                if stopped && !step.always {
                    events.record("step_skipped", [("step", step.name)])
                    continue
                }
                events.step = step.name
                if debug { log("pipeperf: \(t.name): step '\(step.name)'") }
                do {
                    try runStep(step)
                } catch  where error.isInterruption {
                    throw error
                } catch {
                    firstError = firstError ?? "step '\(step.name)': \(error)"
                    log("pipeperf: \(t.name): step '\(step.name)' failed: \(error)")
                    if !step.onError.continueOnError { stopped = true }
                }
                events.step = nil
            }
        }
        do { try runHooks(t.hooks.post, point: "test post") } catch  where error.isInterruption { throw error } catch {
            firstError = firstError ?? "\(error)"
        }
        events.step = nil
        teardown()  // anything the test left running
        let status: RunStatus = firstError == nil ? .passed : .failed
        events.record("test_end", [("status", status.rawValue)] + (firstError.map { [("error", $0)] } ?? []))
        run.keep("events.json", events.json)
        return (status, firstError)
    }

    func runStep(_ step: Step) throws(PipeperfError) {
        try withPolicy(step.onError, what: "step '\(step.name)'") { () throws(PipeperfError) in
            try runHooks(step.hooks.pre, point: "step pre")
            events.record("step_start")
            try perform(step.action)
            events.record("step_end")
            try runHooks(step.hooks.post, point: "step post")
        }
    }

    /// Retries and `continue`, as `on_error` says.
    func withPolicy(_ policy: OnError, what: String, _ body: () throws(PipeperfError) -> Void) throws(PipeperfError) {
        var attempt = 0
        while true {
            do {
                try body()
                return
            } catch  where error.isInterruption {
                throw error
            } catch {
                if attempt < policy.retries {
                    attempt += 1
                    log("pipeperf: \(what) failed (\(error)); retry \(attempt) of \(policy.retries)")
                    events.record("retry", [("what", what), ("attempt", String(attempt)), ("error", "\(error)")])
                    try sleep(policy.retryDelayNanos)
                    continue
                }
                if policy.continueOnError {
                    events.record("error_continued", [("what", what), ("error", "\(error)")])
                    log("pipeperf: \(what) failed (\(error)); continuing as on_error says")
                    return
                }
                throw error
            }
        }
    }

    func perform(_ action: Action) throws(PipeperfError) {
        switch action {
        case .componentAction(let target, let phase): try phaseOf(target, phase)
        case .multiComponentAction(let phase, let targets):
            var names = targets ?? components.map(\.name)
            if targets == nil && phase == .destroy { names.reverse() }
            for n in names { try phaseOf(n, phase) }
        case .wait(let nanos): try sleep(nanos)
        case .updateComponentStrategy(let target, let options, let variables, let rereads):
            if !options.isEmpty {
                var current = overrides[target] ?? []
                current.removeAll { o in options.contains { $0.0 == o.0 } }
                current += options
                overrides[target] = current
                events.record("strategy_updated", component: target, options)
            }
            if !variables.isEmpty { try reconfigure(target, variables, reread: rereads.first { $0.name == target }) }
        case .recordEvent(let name, let attributes):
            // The edge readings come right after the start event and right before the stop event, so the
            // event times bound the readings, and the load is still running at both.
            if name == "observation_stop" { sampleEdge(.stop) }
            events.record(name, attributes)
            if name == "observation_start" { sampleEdge(.start) }
        case .noOp: break
        }
    }

    // MARK: Component phases

    func phaseOf(_ name: String, _ phase: ComponentPhase) throws(PipeperfError) {
        guard let c = component(name) else { throw PipeperfError(.failed, "no component '\(name)'") }
        let hooks = c.hooks[phase] ?? PhaseHooks()
        try runHooks(hooks.pre, point: "\(name) pre_\(phase.rawValue)")
        events.record("phase_start", component: name, [("phase", phase.rawValue)])
        switch phase {
        case .configure: try configure(c)
        case .deploy: try deploy(c)
        case .start: try startExecution(c)
        case .stop: try stopExecution(c)
        case .destroy: destroy(c)
        case .startMonitoring: startMonitoring(c)
        case .stopMonitoring: stopMonitoring(c)
        }
        events.record("phase_end", component: name, [("phase", phase.rawValue)])
        try runHooks(hooks.post, point: "\(name) post_\(phase.rawValue)")
    }

    func configure(_ c: Component) throws(PipeperfError) {
        guard let t = c.configuration else { return }
        run.rendered[c.name] = try t.configure(c, in: run)
    }

    func deploy(_ c: Component) throws(PipeperfError) {
        if deployed[c.name] != nil { throw PipeperfError(.failed, "component '\(c.name)' is already deployed") }
        if c.configuration != nil && run.rendered[c.name] == nil { try configure(c) }
        let live = try c.deployment.deploy(c, in: run)
        deployed[c.name] = live
        deployOrder.append(c.name)
        if let r = c.ready { try readyCheck(r, component: c.name) }
    }

    /// Stops its load and monitors, keeps its snapshot (read until the counts settle), destroys it.
    func destroy(_ c: Component) {
        if executions[c.name] != nil {
            do { try stopExecution(c) } catch { log("pipeperf: \(c.name): stopping its execution: \(error)") }
        }
        if monitored.contains(c.name) { stopMonitoring(c) }
        let live = deployed[c.name]
        if let s = c.snapshot, let url = HTTPURL(s), live?.exited == nil { takeSnapshot(c, url: url, text: s) }
        guard let live else { return }
        live.destroy(in: run)
        deployed.removeValue(forKey: c.name)
        deployOrder.removeAll { $0 == c.name }
    }

    /// Drain: reads until the counts stop changing (at most 10 s), so what was still in flight is
    /// counted rather than reported as lost.
    func takeSnapshot(_ c: Component, url: HTTPURL, text: String) {
        var last: HTTPResult? = nil
        let deadline = SystemClock.monotonicNanos() + 10_000_000_000
        while let r = try? HTTPClient.request("GET", url, timeoutNanos: 5_000_000_000) {
            if let l = last, receivedTotal(l.body) == receivedTotal(r.body) { break }
            last = r
            if SystemClock.monotonicNanos() > deadline || Interrupts.received > 0 { break }
            usleep(300_000)
        }
        if let r = last {
            run.keep("\(run.testFolder)/\(c.name).snapshot", r.body)
            events.record("snapshot", component: c.name, [("url", text), ("status", String(r.status))])
        }
    }

    func startExecution(_ c: Component) throws(PipeperfError) {
        guard let e = c.execution else {
            throw PipeperfError(.failed, "component '\(c.name)' has no execution strategy")
        }
        if executions[c.name] != nil {
            throw PipeperfError(.failed, "component '\(c.name)': its execution is already running")
        }
        executions[c.name] = try e.start(c, overrides: overrides[c.name] ?? [], in: run)
    }

    func stopExecution(_ c: Component) throws(PipeperfError) {
        guard let e = executions.removeValue(forKey: c.name) else { return }
        try e.stop(in: run)
    }

    func startMonitoring(_ c: Component) {
        guard let sampler, !c.monitors.isEmpty, !monitored.contains(c.name) else { return }
        for m in c.monitors {
            do {
                guard let source = try m.source(component: c, deployed: deployed[c.name], in: run) else { continue }
                sampler.add(component: c.name, source: source, intervalNanos: m.intervalNanos)
            } catch {
                log("pipeperf: \(c.name): \(type(of: m).info.name) monitoring is off: \(error)")
            }
        }
        monitored.append(c.name)
        events.record(
            "monitoring_started", component: c.name,
            [("strategies", c.monitors.map { type(of: $0).info.name }.joined(separator: ","))])
    }

    func stopMonitoring(_ c: Component) {
        guard let sampler, monitored.contains(c.name) else { return }
        sampler.sampleNow(component: c.name)
        // A monitor that read nothing in its whole life is said, not left as an empty series.
        for (source, reason) in sampler.silent(component: c.name) {
            log("pipeperf: \(c.name): its \(source) monitor read nothing: \(reason)")
            events.record("monitor_silent", component: c.name, [("source", source), ("reason", reason)])
        }
        sampler.remove(component: c.name)
        monitored.removeAll { $0 == c.name }
        events.record("monitoring_stopped", component: c.name)
    }

    /// Everything still running, destroyed in reverse order (loads stopped first).
    func teardown() {
        for c in components.reversed() where executions[c.name] != nil {
            do { try stopExecution(c) } catch { log("pipeperf: \(c.name): stopping its execution: \(error)") }
        }
        for name in deployOrder.reversed() {
            if let c = component(name) { destroy(c) }
        }
    }
}

extension Runner {
    /// Appends `text` to the GitHub Actions job summary file; a failure is a lost result.
    func appendStepSummary(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            return run.lost("cannot open GITHUB_STEP_SUMMARY \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var t = text + "\n"
        let n = t.withUTF8 { write(fd, $0.baseAddress, $0.count) }
        if n != t.utf8.count { run.lost("cannot write GITHUB_STEP_SUMMARY \(path)") }
    }
}

/// The sum of the `received` counts in a status document (the drain's "has it settled" measure).
func receivedTotal(_ body: String) -> Double {
    guard let j = JSON.parse(body) else { return -1 }
    return ["logs", "traces", "metrics"].compactMap { j.at("\($0).received")?.number ?? j.at("\($0).requests")?.number }
        .reduce(0, +)
}
