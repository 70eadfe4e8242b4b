// Runs a suite: tests in order, steps in order with their hooks and error policy, component phases
// through their strategies, every phase/step/hook recorded as an event. Teardown is guaranteed: a
// failed step, an error or SIGINT/SIGTERM (first: stop the load, destroy everything, record `aborted`;
// second: kill every process group at once) all end with no process of the run left.

import PipeperfBase
import AdminHTTP
import FoundationEssentials

import LoadGen

#if canImport(Glibc)
import Glibc
#endif

/// How a run ended.
public enum RunStatus: String, Sendable {
    case passed, failed, aborted
}

/// A failure inside a run (a step, hook or phase), with what failed.
public struct RunFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Thrown when SIGINT/SIGTERM arrives: unwinds to the teardown.
struct Interrupted: Error {}

public final class Runner {
    let suite: Suite
    let folder: RunFolder
    let events = EventLog()
    /// Runtime state per component.
    var processes: [String: ChildProcess] = [:]
    var commandExecutions: [String: ChildProcess] = [:]
    var loadgenOptions: [String: [(String, String)]] = [:]
    var loadRunning: Set<String> = []
    var rendered: [String: String] = [:]
    /// Docker state: containers per component, networks this run created, images built this run.
    var containers: [String: RunContainer] = [:]
    var createdNetworks: [String] = []
    var builtImages: Set<String> = []
    /// --docker.no-build: use the images the engine has.
    public var dockerNoBuild = false
    var testResults: [(name: String, status: RunStatus, error: String?)] = []
    let log: (String) -> Void
    /// Verbose progress (--debug).
    public var debug = false
    /// The monitoring sampler (samples.jsonl).
    var sampler: Sampler?
    /// The report computed at the end of the run.
    public private(set) var report: RunReport?

    public init(suite: Suite, folder: RunFolder, log: @escaping (String) -> Void = { printError($0) }) {
        self.suite = suite
        self.folder = folder
        self.log = log
        for c in suite.components {
            if case .loadgen(let l)? = c.execution { loadgenOptions[c.name] = l.options }
        }
    }

    // MARK: Signals

    var interruptions: Int { Termination.received }

    func checkInterrupt() throws(Interrupted) {
        if interruptions >= 2 {
            ChildProcess.killAll()
            DockerLive.removeAll()
            _exit(130)
        }
        if interruptions >= 1 { throw Interrupted() }
    }

    /// Sleeps, waking early for signals (and printing the progress line once a second).
    func sleep(_ nanos: UInt64) throws(Interrupted) {
        let start = SystemClock.monotonicNanos()
        let deadline = start + nanos
        var nextProgress = start + 1_000_000_000
        while true {
            try checkInterrupt()
            let now = SystemClock.monotonicNanos()
            if now >= deadline { return }
            if progress && now >= nextProgress && nanos >= 2_000_000_000 {
                nextProgress += 1_000_000_000
                printProgress(elapsed: Double(now - start) / 1e9, total: Double(nanos) / 1e9)
            }
            usleep(UInt32(Swift.min(20_000, (deadline - now) / 1000)))
        }
    }

    /// Live progress (on a terminal, or with --progress): test, step, time left, live rates and CPU.
    public var progress = false
    var previous: [String: (t: UInt64, value: Double)] = [:]

    func printProgress(elapsed: Double, total: Double) {
        var line = "pipeperf: \(events.test ?? "") / \(events.step ?? "") \(formatFixed(elapsed, 0))/\(formatFixed(total, 0)) s"
        let latest = sampler?.latest.withLock { $0 } ?? [:]
        for key in latest.keys.sorted() {
            guard let reading = latest[key] else { continue }
            let component = String(key.split(separator: "|").first ?? "")
            func rate(_ name: String, _ value: Double) -> Double? {
                defer { previous["\(component)|\(name)"] = (reading.t, value) }
                guard let p = previous["\(component)|\(name)"], reading.t > p.t, value >= p.value else { return nil }
                return (value - p.value) / (Double(reading.t - p.t) / 1e9)
            }
            if let cpu = reading.cpuSeconds, let r = rate("cpu", cpu) {
                line += " | \(component) cpu \(formatFixed(r, 2))"
            }
            if let body = reading.status, let doc = JSON.parse(body) {
                for (label, path) in [("sent", "sent"), ("received", "logs.received"), ("received", "traces.received"), ("received", "metrics.received")] {
                    if let v = doc.at(path)?.number, v > 0, let r = rate(path, v) { line += " | \(component) \(label) \(formatRate(r))/s" }
                }
            }
        }
        log(line)
    }

    // MARK: The run

    /// Runs every test; returns the overall status. Teardown always happens.
    public func run(tests selected: [TestCase]) -> RunStatus {
        events.record("suite_start", [("suite", suite.name)])
        writeMeta(selected)
        do { sampler = try Sampler(path: folder.file("samples.jsonl")) } catch { log("pipeperf: monitoring is off: \(error)") }
        var status = RunStatus.passed
        do {
            try runHooks(suite.hooks.pre, point: "suite pre")
            for t in selected {
                let s = try runTest(t)
                testResults.append((t.name, s.0, s.1))
                if s.0 == .failed { status = .failed }
                try checkInterrupt()
            }
            try runHooks(suite.hooks.post, point: "suite post")
        } catch is Interrupted {
            status = .aborted
            log("pipeperf: interrupted: stopping the load and destroying every component (a second signal kills them at once)")
        } catch {
            status = .failed
            log("pipeperf: \(error)")
        }
        teardown()
        removeCreatedNetworks()
        events.test = nil
        events.step = nil
        events.record("suite_end", [("status", status.rawValue)])
        sampler?.stop()
        writeStatus(status)
        // The report: computed from the run folder's records, as `pipeperf report` would.
        if let records = try? RunRecords(folder: folder.path) {
            let r = ReportBuilder.build(records)
            report = r
            try? folder.write("report.json", r.render(.json))
            try? folder.write("report.md", r.render(.markdown))
            try? folder.write("report-gab.json", r.render(.gab))
            if status == .passed && r.tests.contains(where: { $0.status == "failed" || $0.status == "invalid" }) { status = .failed }
        }
        return status
    }

    /// run.json: the environment and what the report needs from the suite (assertions).
    func writeMeta(_ tests: [TestCase]) {
        var w = JSONWriter()
        w.beginObject()
        w.field("version", 1)
        w.beginObject("environment")
        for (k, v) in environmentFacts() { w.field(k, v) }
        w.endObject()
        w.beginObject("assertions")
        for t in tests where !t.assertions.isEmpty { w.field(t.name, t.assertions) }
        w.endObject()
        w.endObject()
        try? folder.write("run.json", w.text + "\n")
    }

    /// Takes a reading of every monitored component now (the window's edges).
    func sampleAll() {
        guard let sampler else { return }
        for c in monitored { sampler.sampleNow(component: c) }
    }

    var monitored: [String] = []

    /// One test: pre hooks, steps (a failed step fails the test; later steps still run only when they are
    /// teardown steps of the flow or `continue` is set), post hooks, then any component still up is destroyed.
    func runTest(_ t: TestCase) throws(Interrupted) -> (RunStatus, String?) {
        events.test = t.name
        events.step = nil
        events.record("test_start", t.matrix)
        log("pipeperf: test \(t.name)")
        var firstError: String? = nil
        do {
            try runHooks(t.hooks.pre, point: "test pre")
        } catch let e as Interrupted {
            throw e
        } catch {
            firstError = "\(error)"
        }
        if firstError == nil {
            for step in t.steps {
                events.step = step.name
                if debug { log("pipeperf: \(t.name): step '\(step.name)'") }
                do {
                    try runStep(step)
                } catch let e as Interrupted {
                    throw e
                } catch {
                    firstError = firstError ?? "step '\(step.name)': \(error)"
                    log("pipeperf: \(t.name): step '\(step.name)' failed: \(error)")
                    if !step.onError.continueOnError { break }
                }
                events.step = nil
            }
        }
        do { try runHooks(t.hooks.post, point: "test post") } catch let e as Interrupted { throw e } catch {
            firstError = firstError ?? "\(error)"
        }
        events.step = nil
        teardown()  // anything the test left running
        let status: RunStatus = firstError == nil ? .passed : .failed
        events.record("test_end", [("status", status.rawValue)] + (firstError.map { [("error", $0)] } ?? []))
        try? folder.write("events.json", events.json)
        return (status, firstError)
    }

    func runStep(_ step: Step) throws {
        try withPolicy(step.onError, what: "step '\(step.name)'") {
            try runHooks(step.hooks.pre, point: "step pre")
            events.record("step_start")
            try perform(step.action)
            events.record("step_end")
            try runHooks(step.hooks.post, point: "step post")
        }
    }

    /// Retries and `continue`, as `on_error` says.
    func withPolicy(_ policy: OnError, what: String, _ body: () throws -> Void) throws {
        var attempt = 0
        while true {
            do {
                try body()
                return
            } catch let e as Interrupted {
                throw e
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

    func perform(_ action: Action) throws {
        switch action {
        case .componentAction(let target, let phase): try phaseOf(target, phase)
        case .multiComponentAction(let phase, let targets):
            var names = targets ?? suite.components.map(\.name)
            if targets == nil && phase == .destroy { names.reverse() }
            for n in names { try phaseOf(n, phase) }
        case .wait(let nanos): try sleep(nanos)
        case .updateComponentStrategy(let target, let options):
            var current = loadgenOptions[target] ?? []
            current.removeAll { o in options.contains { $0.0 == o.0 } }
            current += options
            loadgenOptions[target] = current
            events.record("strategy_updated", component: target, options)
        case .recordEvent(let name, let attributes):
            events.record(name, attributes)
            if name == "observation_start" || name == "observation_stop" { sampleAll() }
        case .noOp: break
        }
    }

    // MARK: Component phases

    func phaseOf(_ name: String, _ phase: ComponentPhase) throws {
        guard let c = suite.component(name) else { throw RunFailure(description: "no component '\(name)'") }
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

    func startMonitoring(_ c: Component) {
        guard let sampler, !c.monitors.isEmpty, !monitored.contains(c.name) else { return }
        for m in c.monitors {
            switch m.kind {
            case "process":
                guard let pid = processes[c.name]?.pid ?? containerPid(c.name) else { continue }
                sampler.add(component: c.name, source: .process(root: pid), intervalNanos: m.intervalNanos)
            case "docker":
                guard let rc = containers[c.name], let engine = DockerLive.engine else { continue }
                do {
                    sampler.add(component: c.name, source: .docker(stream: try DockerStatsStream(engine: engine, id: rc.id)), intervalNanos: m.intervalNanos)
                } catch {
                    log("pipeperf: \(c.name): docker monitoring is off: \(error)")
                }
            case "component":
                guard let u = m.url.flatMap(HTTPURL.init) else { continue }
                sampler.add(component: c.name, source: .component(url: u), intervalNanos: m.intervalNanos)
            default:
                guard let u = m.url.flatMap(HTTPURL.init) else { continue }
                sampler.add(component: c.name, source: .prometheus(url: u, include: m.include, exclude: m.exclude), intervalNanos: m.intervalNanos)
            }
        }
        monitored.append(c.name)
        events.record("monitoring_started", component: c.name, [("strategies", c.monitors.map(\.kind).joined(separator: ","))])
    }

    func stopMonitoring(_ c: Component) {
        guard let sampler, monitored.contains(c.name) else { return }
        sampler.sampleNow(component: c.name)
        sampler.remove(component: c.name)
        monitored.removeAll { $0 == c.name }
        events.record("monitoring_stopped", component: c.name)
    }

    func configure(_ c: Component) throws {
        guard let t = c.configuration else { return }
        rendered[c.name] = try render(source: t.source, destination: t.destination, variables: t.variables)
    }

    func render(source: String, destination: String, variables: [String: TemplateValue]) throws -> String {
        let full = source.hasPrefix("/") ? source : "\(suite.baseDirectory)/\(source)"
        let text: String
        do { text = try String(contentsOfFile: full, encoding: .utf8) } catch { throw RunFailure(description: "cannot read template \(full)") }
        var vars = suite.variables
        for (k, v) in variables { vars[k] = v }
        vars["rendered"] = .map(rendered.mapValues { .text($0) })
        vars["run_folder"] = .text(folder.path)
        let out: String
        do { out = try Template(text).render(vars) } catch { throw RunFailure(description: "\(full): \(error)") }
        try folder.write("rendered/\(destination)", out)
        events.record("template_rendered", [("source", full), ("destination", folder.file("rendered/\(destination)"))])
        return folder.file("rendered/\(destination)")
    }

    /// Everything still running, destroyed in reverse order (loads stopped first).
    func teardown() {
        for c in suite.components.reversed() where loadRunning.contains(c.name) { try? stopExecution(c) }
        for c in suite.components.reversed() where processes[c.name] != nil || commandExecutions[c.name] != nil || containers[c.name] != nil {
            destroy(c)
        }
    }

    // MARK: Hooks

    func runHooks(_ hooks: [Hook], point: String) throws {
        for h in hooks {
            try withPolicy(h.onError, what: "hook \(h.name) (\(point))") {
                events.record("hook_start", [("hook", h.name), ("point", point)])
                try runHook(h)
                events.record("hook_end", [("hook", h.name), ("point", point)])
            }
        }
    }

    func runHook(_ h: Hook) throws {
        switch h.kind {
        case .runCommand(let command, let environment, let timeout, let shell):
            let argv = shell ? ["/bin/sh", "-c", command.first ?? ""] : command
            let n = events.events.count
            let p: ChildProcess
            do {
                p = try ChildProcess(command: argv, environment: environment, directory: folder.path,
                                     stdoutPath: folder.file("logs/hook-\(n).stdout"), stderrPath: folder.file("logs/hook-\(n).stderr"))
            } catch { throw RunFailure(description: "run_command: \(error)") }
            let deadline = SystemClock.monotonicNanos() + timeout
            while p.isRunning {
                if SystemClock.monotonicNanos() >= deadline {
                    p.stop(graceNanos: 1_000_000_000)
                    throw RunFailure(description: "run_command \(argv.joined(separator: " ")) timed out")
                }
                try sleep(10_000_000)
            }
            guard p.exitCode == 0 else {
                let err = (try? String(contentsOfFile: folder.file("logs/hook-\(n).stderr"), encoding: .utf8)) ?? ""
                throw RunFailure(description: "run_command \(argv.joined(separator: " ")) ended with \(p.exitDescription): \(err.split(separator: "\n").last ?? "")")
            }
        case .sendHTTPRequest(let method, let url, let body, let headers, let expect):
            guard let u = HTTPURL(url) else { throw RunFailure(description: "bad URL \(url)") }
            let r = try HTTPClient.request(method, u, body: body, headers: headers)
            if let expect, r.status != expect { throw RunFailure(description: "\(method) \(url) answered \(r.status), expected \(expect)") }
            if expect == nil && !(200..<300).contains(r.status) { throw RunFailure(description: "\(method) \(url) answered \(r.status)") }
        case .readyCheckHTTP(let r): try readyCheck(r, component: nil)
        case .recordEvent(let name, let attributes):
            if name == "observation_stop" { sampleAll() }
            events.record(name, attributes)
            if name == "observation_start" { sampleAll() }
        case .renderTemplate(let source, let destination, let variables):
            _ = try render(source: source, destination: destination, variables: variables)
        case .raiseError(let message): throw RunFailure(description: message)
        }
    }

    func readyCheck(_ r: ReadyCheck, component: String?) throws {
        guard let url = HTTPURL(r.url) else { throw RunFailure(description: "bad URL \(r.url)") }
        let deadline = SystemClock.monotonicNanos() + r.timeoutNanos
        var last = "no answer"
        while SystemClock.monotonicNanos() < deadline {
            if let name = component, let p = processes[name], !p.isRunning {
                throw RunFailure(description: "component '\(name)' exited (\(p.exitDescription)) before it was ready")
            }
            do {
                let res = try HTTPClient.request("GET", url, timeoutNanos: 2_000_000_000)
                if res.status == r.status && (r.bodyContains.map { res.body.contains($0) } ?? true)
                    && (r.jsonField.map { jsonFieldMatches(res.body, $0, r.jsonValue) } ?? true) {
                    events.record("ready", component: component, [("url", r.url)])
                    return
                }
                last = "status \(res.status)"
            } catch {
                last = "\(error)"
            }
            try sleep(r.intervalNanos)
        }
        throw RunFailure(description: "not ready: \(r.url) (\(last)) after \(formatFixed(Double(r.timeoutNanos) / 1e9, 1)) s")
    }

    // MARK: Records

    func writeStatus(_ status: RunStatus) {
        var w = JSONWriter()
        w.beginObject()
        w.field("version", 1)
        w.field("suite", suite.name)
        w.field("status", status.rawValue)
        w.beginArray("tests")
        for t in testResults {
            w.beginObject()
            w.field("name", t.name)
            w.field("status", t.status.rawValue)
            if let e = t.error { w.field("error", e) } else { w.fieldNull("error") }
            w.endObject()
        }
        w.endArray()
        w.endObject()
        try? folder.write("status.json", w.text + "\n")
        try? folder.write("events.json", events.json)
    }
}

/// Whether `body` is JSON with the dotted `field` (and, when given, that value as text).
func jsonFieldMatches(_ body: String, _ field: String, _ value: String?) -> Bool {
    guard let found = JSON.parse(body)?.at(field), found != .null else { return false }
    guard let value else { return true }
    switch found {
    case .bool(let b): return (b ? "true" : "false") == value
    case .number(let d): return (d == d.rounded() && abs(d) < 1e18 ? String(Int64(d)) : String(d)) == value
    case .string(let s): return s == value
    default: return false
    }
}

/// The sum of the `received` counts in a status document (the drain's "has it settled" measure).
func receivedTotal(_ body: String) -> Double {
    guard let j = JSON.parse(body) else { return -1 }
    return ["logs", "traces", "metrics"].compactMap { j.at("\($0).received")?.number ?? j.at("\($0).requests")?.number }.reduce(0, +)
}

/// Facts about where the run ran, for the report.
func environmentFacts() -> [(String, String)] {
    var facts: [(String, String)] = []
    let cpuinfo = Procfs.read("/proc/cpuinfo") ?? ""
    if let model = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") })?.split(separator: ":").last {
        facts.append(("cpu_model", String(model).trimmingSpaces))
    }
    facts.append(("cpus", String(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    var u = utsname()
    uname(&u)
    let release = withUnsafePointer(to: u.release) { $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) } }
    facts.append(("kernel", release))
    facts.append(("build", isDebugBuild ? "debug" : "release"))
    facts.append(("pipeperf_version", "0.1.0"))
    if let mem = (Procfs.read("/proc/meminfo") ?? "").split(separator: "\n").first(where: { $0.hasPrefix("MemTotal") }) {
        facts.append(("memory", String(mem.split(separator: ":").last ?? "").trimmingSpaces))
    }
    return facts
}

func safeName(_ s: String) -> String { String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "=" || $0 == "," ? $0 : "_" }) }
