// Tests: matrices expanded into one test per combination, `steps` or the standard `flow`, whole tests
// and steps from templates (`from_template`), assertions checked for their form.

import FoundationEssentials
import LoadGen
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

extension SuiteLoader {
    // MARK: Tests

    static func tests(_ node: YNode, path: String, suite: Suite, context: ReadContext) -> [TestCase] {
        let expanded = expandTemplate(node, path: path, listKey: "steps", context: context)
        if expanded == nil, case .map(let pairs, _) = node, pairs.contains(where: { $0.key == "from_template" }) {
            return []
        }  // reported
        let node = expanded ?? node
        guard let r = ObjectReader(node, path: path, keys: SuiteKeys.test, context: context, what: "test") else {
            return []
        }
        guard let name = r.string("name") else { return [] }
        var combos: [[(String, String)]] = [[]]
        if let m = r.value("matrix") {
            if case .map(let pairs, _) = m, !pairs.isEmpty {
                for p in pairs {
                    guard case .list(let values, _) = p.value, !values.isEmpty else {
                        context.diags.add(
                            p.value.location, "\(path).matrix.\(p.key)",
                            "expected a non-empty list of values, found \(p.value.kind)")
                        continue
                    }
                    let texts = values.enumerated().compactMap {
                        r.scalar($0.element, path: "\(path).matrix.\(p.key)[\($0.offset)]")
                    }
                    combos = combos.flatMap { c in texts.map { c + [(p.key, $0)] } }
                }
            } else {
                context.diags.add(
                    m.location, "\(path).matrix", "expected a mapping of variable names to lists of values")
            }
        }
        var out: [TestCase] = []
        let saved = context.variables
        defer { context.variables = saved }
        // The test's own variables (read with the suite's, so they may use them), then each combination.
        let own = r.stringMap("variables") ?? []
        for combo in combos {
            context.variables = saved
            for (k, v) in own + combo { context.variables[k] = .text(v) }
            let fullName = combo.isEmpty ? name : "\(name)[\(combo.map { "\($0.0)=\($0.1)" }.joined(separator: ","))]"
            var steps: [Step] = []
            var search: SearchSpec? = nil
            let kinds = ["steps", "flow", "search", "idle"].filter { r.value($0) != nil }
            if kinds.count != 1 {
                if combo.isEmpty || out.isEmpty {
                    context.diags.add(
                        r.node.location, path,
                        "a test has one of `steps`, `flow`, `search` or `idle`, \(kinds.isEmpty ? "found none" : "found \(kinds.map { "`\($0)`" }.joined(separator: " and "))")"
                    )
                }
            } else if let s = r.value("steps") {
                steps = stepList(s, path: "\(path).steps", context: context)
            } else if let f = r.value("flow") {
                steps = flowSteps(f, path: "\(path).flow", suite: suite, context: context)
            } else if let s = r.value("search") {
                search = searchSpec(s, path: "\(path).search", suite: suite, context: context)
                if let spec = search { steps = searchTeardownSteps(spec, at: s.location, suite: suite) }
            } else if let nanos = r.duration("idle", allowZero: false) {
                steps = idleSteps(nanos, at: r.location("idle"), suite: suite)
            }
            let hooks = r.value("hooks").map { runHooks($0, path: "\(path).hooks", context: context) } ?? PhaseHooks()
            let assertions = r.stringList("assert", single: true) ?? []
            // A backend that counts requests only (the null sink) has no item counts to assert on.
            let backends = suite.components.filter { $0.snapshot != nil }
            let uncounted = !backends.isEmpty && backends.allSatisfy(SuiteLoader.isNullSink)
            for (k, a) in assertions.enumerated() {
                let check = ReportBuilder.evaluate(a, in: [:])
                if check.message.hasPrefix("cannot read") {
                    context.diags.add(
                        r.location("assert"), "\(path).assert[\(k)]",
                        "expected PATH OP NUMBER (OP one of < <= > >= == !=), e.g. dropped_pct < 0.1; found '\(a)'")
                } else if uncounted,
                    let figure = ["dropped_pct", "missing", "duplicates", "received"].first(where: { a.contains($0) })
                {
                    context.diags.add(
                        r.location("assert"), "\(path).assert[\(k)]",
                        "'\(a)' needs item counts, but the backend (\(backends.map(\.name).joined(separator: ", "))) is a null sink, which counts requests, not items: \(figure) is not counted by this sink (use fake-backend, or assert on sent_per_s / acked_per_s)"
                    )
                }
            }
            var test = TestCase(
                name: fullName, location: r.node.location, steps: steps, hooks: hooks, matrix: combo,
                assertions: assertions)
            test.search = search
            test.components = matrixComponents(own + combo, suite: suite, context: context)
            test.variables = own + combo
            test.replicates = r.int("replicates", range: 1...1000) ?? 1
            test.compare = compareMetrics(r, path: path, context: context)
            out.append(test)
            if combos.count > 1 && !context.diags.isEmpty { break }  // one expansion's errors are enough
        }
        return out
    }

    /// `compare:` — report paths, or `{metric, direction, threshold_pct}`.
    static func compareMetrics(_ r: ObjectReader, path: String, context: ReadContext) -> [CompareMetric] {
        guard let items = r.list("compare", what: "report paths or {metric, direction, threshold_pct}") else {
            return []
        }
        var out: [CompareMetric] = []
        for (i, item) in items.enumerated() {
            let p = "\(path).compare[\(i)]"
            if case .scalar = item {
                guard let m = r.scalar(item, path: p) else { continue }
                out.append(CompareMetric(metric: m, higherIsBetter: CompareMetric.higherByName(m), thresholdPct: nil))
                continue
            }
            guard
                let o = ObjectReader(
                    item, path: p, keys: SuiteKeys.compareMetric, context: context, what: "compare metric"),
                let m = o.string("metric")
            else { continue }
            var higher = CompareMetric.higherByName(m)
            if let d = o.string("direction") {
                switch d {
                case "higher": higher = true
                case "lower": higher = false
                default:
                    context.diags.add(
                        o.location("direction"), "\(p).direction", "expected higher or lower, found '\(d)'")
                }
            }
            var threshold: Double? = nil
            if let t = o.string("threshold_pct") {
                if let v = Double(t), v >= 0, v.isFinite {
                    threshold = v
                } else {
                    context.diags.add(
                        o.location("threshold_pct"), "\(p).threshold_pct",
                        "expected a percentage (a number, 0 or more), found '\(t)'")
                }
            }
            out.append(CompareMetric(metric: m, higherIsBetter: higher, thresholdPct: threshold))
        }
        return out
    }

    /// When `node` is a mapping with `from_template: {path, variables}`: the template rendered (strictly)
    /// with the suite's variables plus its own, parsed as YAML. A rendered mapping is merged with the
    /// node's other keys (those win); a rendered list is returned as is, or under `listKey` merged with
    /// the node's other keys. nil when there is no from_template (or it failed: the problem is recorded).
    static func expandTemplate(_ node: YNode, path: String, listKey: String?, context: ReadContext) -> YNode? {
        guard case .map(let pairs, let loc) = node, let ref = pairs.first(where: { $0.key == "from_template" }) else {
            return nil
        }
        let p = "\(path).from_template"
        guard
            let o = ObjectReader(
                ref.value, path: p, keys: SuiteKeys.templateReference, context: context, what: "from_template"),
            let file = o.string("path")
        else { return nil }
        let full = file.hasPrefix("/") ? file : "\(context.baseDirectory)/\(file)"
        guard let text = try? String(contentsOfFile: full, encoding: .utf8) else {
            context.diags.add(o.location("path"), "\(p).path", "cannot read template file \(full)")
            return nil
        }
        var vars = context.variables
        for (k, v) in extraVariables(o, "variables", context) { vars[k] = v }
        let rendered: String
        do { rendered = try Template(text).render(vars) } catch {
            context.diags.add(SourceLocation(file: full, line: error.line, column: error.column), p, error.message)
            return nil
        }
        let tree: YNode
        do { tree = try YNode.parse(rendered, file: "\(full) (rendered)") } catch {
            for problem in error.problems { context.diags.add(problem.location, p, problem.message) }
            return nil
        }
        let others = pairs.filter { $0.key != "from_template" }
        switch tree {
        case .map(let tpairs, _):
            let merged = others + tpairs.filter { t in !others.contains { $0.key == t.key } }
            return .map(merged, loc)
        case .list:
            guard let listKey else { return tree }
            if others.contains(where: { $0.key == listKey }) { return .map(others, loc) }
            return .map(others + [(listKey, ref.keyLocation, tree)], loc)
        default:
            context.diags.add(
                o.location("path"), p, "the rendered template \(full) is \(tree.kind), not a mapping or a list")
            return nil
        }
    }

    /// The standard flow, as steps.
    static func flowSteps(_ node: YNode, path: String, suite: Suite, context: ReadContext) -> [Step] {
        guard let o = ObjectReader(node, path: path, keys: SuiteKeys.flow, context: context, what: "flow") else {
            return []
        }
        // One load component or several (generators fanning into one pipeline, or one per signal): all start
        // before the warm-up and stop after the window.
        let loads = o.stringList("load", single: true) ?? []
        let targets = o.stringList("components") ?? suite.components.map(\.name)
        let warmup = o.duration("warmup") ?? 0
        let observe = o.duration("observe", allowZero: false) ?? 0
        let drain = o.duration("drain") ?? 0
        let at = node.location
        func step(
            _ name: String, _ action: Action, pre: [Hook] = [], post: [Hook] = [], teardown: Bool = false
        ) -> Step {
            var h = PhaseHooks()
            h.pre = pre
            h.post = post
            var e = OnError()
            e.continueOnError = teardown
            var s = Step(name: name, location: at, action: action, hooks: h, onError: e)
            s.always = teardown
            return s
        }
        func event(_ name: String) -> Hook {
            Hook(kind: .recordEvent(name: name, attributes: []), name: "record_event", location: at, onError: OnError())
        }
        return [
            step("deploy", .multiComponentAction(phase: .deploy, targets: targets)),
            step("start monitoring", .multiComponentAction(phase: .startMonitoring, targets: targets)),
            step(
                loads.count == 1 ? "start load" : "start loads",
                loads.count == 1
                    ? .componentAction(target: loads[0], phase: .start)
                    : .multiComponentAction(phase: .start, targets: loads)),
            step("warm up", .wait(nanos: warmup)),
            step(
                "observe", .wait(nanos: observe), pre: [event("observation_start")], post: [event("observation_stop")]),
            step(
                loads.count == 1 ? "stop load" : "stop loads",
                loads.count == 1
                    ? .componentAction(target: loads[0], phase: .stop)
                    : .multiComponentAction(phase: .stop, targets: loads)),
            step("drain", .wait(nanos: drain)),
            step(
                "stop monitoring", .multiComponentAction(phase: .stopMonitoring, targets: targets), teardown: true),
            step("destroy", .multiComponentAction(phase: .destroy, targets: targets.reversed()), teardown: true),
        ]
    }
}

extension SuiteLoader {
    // MARK: Search and idle

    /// `search: {load, from, to, precision, warmup, observe, slo, redeploy, growth, max_steps, components}`.
    static func searchSpec(_ node: YNode, path: String, suite: Suite, context: ReadContext) -> SearchSpec? {
        guard let o = ObjectReader(node, path: path, keys: SuiteKeys.search, context: context, what: "search") else {
            return nil
        }
        func rate(_ key: String) -> Double? {
            guard let s = o.string(key) else { return nil }
            guard case .perSecond(let r)? = Rate.parse(s) else {
                context.diags.add(
                    o.location(key), o.sub(key),
                    "expected a rate in items per second such as 10k, 250k or 2M, found '\(s)'")
                return nil
            }
            return r.rounded()
        }
        let load = o.string("load") ?? ""
        let from = rate("from"), to = rate("to")
        var spec = SearchSpec(load: load, from: from ?? 1, to: to ?? 1)
        if let from, let to, to < from {
            context.diags.add(
                o.location("to"), o.sub("to"),
                "`to` (\(formatRate(to))/s) is below `from` (\(formatRate(from))/s): the search offers from `from` up to `to`"
            )
        }
        if load.isEmpty {
            // reported as a missing key
        } else if let c = suite.component(load) {
            if let e = c.execution as? LoadgenExecution {
                if let fixed = e.options.first(where: { $0.0 == "duration" || $0.0 == "count" }) {
                    context.diags.add(
                        o.location("load"), o.sub("load"),
                        "component '\(load)' has `\(fixed.0): \(fixed.1)` in its loadgen options: a search runs the load for each step's warm-up and window, so leave duration and count out"
                    )
                }
            } else {
                context.diags.add(
                    o.location("load"), o.sub("load"),
                    "component '\(load)' has no `loadgen` execution: the search sets its rate per step")
            }
        } else {
            let names = suite.components.map(\.name)
            context.diags.add(
                o.location("load"), o.sub("load"),
                "no component '\(load)'\(didYouMean(load, among: names)); components: \(names.isEmpty ? "none" : names.joined(separator: ", "))"
            )
        }
        if let p = o.string("precision") {
            if let v = Double(p), v > 0, v < 1 {
                spec.precision = v
            } else {
                context.diags.add(
                    o.location("precision"), o.sub("precision"),
                    "expected a fraction above 0 and below 1 (0.02 = within 2 %), found '\(p)'")
            }
        }
        if let g = o.string("growth") {
            if let v = Double(g), v > 1, v <= 100 {
                spec.growth = v
            } else {
                context.diags.add(
                    o.location("growth"), o.sub("growth"), "expected a factor above 1 (at most 100), found '\(g)'")
            }
        }
        if let n = o.duration("warmup") { spec.warmupNanos = n }
        if let n = o.duration("observe", allowZero: false) { spec.observeNanos = n }
        if let b = o.bool("redeploy") { spec.redeploy = b }
        if let n = o.int("max_steps", range: 2...1000) { spec.maxSteps = n }
        spec.components = o.stringList("components")
        for name in spec.components ?? [] where suite.component(name) == nil {
            context.diags.add(o.location("components"), o.sub("components"), "no component '\(name)'")
        }
        spec.slo = o.stringList("slo", single: true) ?? []
        for (k, a) in spec.slo.enumerated()
        where ReportBuilder.evaluate(a, in: [:]).message.hasPrefix("cannot read") {
            context.diags.add(
                o.location("slo"), "\(path).slo[\(k)]",
                "expected PATH OP NUMBER (OP one of < <= > >= == !=), e.g. latency_ms.p99 <= 50; found '\(a)'")
        }
        return from == nil || to == nil || load.isEmpty ? nil : spec
    }

    /// What a search test runs after its steps whatever happened (the runner runs the steps themselves):
    /// stop monitoring and destroy.
    static func searchTeardownSteps(_ spec: SearchSpec, at: SourceLocation, suite: Suite) -> [Step] {
        let targets = spec.components ?? suite.components.map(\.name)
        return [
            teardownStep("stop monitoring", .multiComponentAction(phase: .stopMonitoring, targets: targets), at),
            teardownStep("destroy", .multiComponentAction(phase: .destroy, targets: targets.reversed()), at),
        ]
    }

    static func teardownStep(_ name: String, _ action: Action, _ at: SourceLocation) -> Step {
        var e = OnError()
        e.continueOnError = true
        var s = Step(name: name, location: at, action: action, hooks: PhaseHooks(), onError: e)
        s.always = true
        return s
    }

    /// `idle: DURATION`: deploy, monitor, an observation window with no load, destroy.
    static func idleSteps(_ nanos: UInt64, at: SourceLocation, suite: Suite) -> [Step] {
        let targets = suite.components.map(\.name)
        func event(_ name: String) -> Hook {
            Hook(kind: .recordEvent(name: name, attributes: []), name: "record_event", location: at, onError: OnError())
        }
        var h = PhaseHooks()
        h.pre = [event("observation_start")]
        h.post = [event("observation_stop")]
        return [
            Step(
                name: "deploy", location: at, action: .multiComponentAction(phase: .deploy, targets: targets),
                hooks: PhaseHooks(), onError: OnError()),
            Step(
                name: "start monitoring", location: at,
                action: .multiComponentAction(phase: .startMonitoring, targets: targets), hooks: PhaseHooks(),
                onError: OnError()),
            // A second for the components to settle after their start, outside the window.
            Step(
                name: "settle", location: at, action: .wait(nanos: 1_000_000_000), hooks: PhaseHooks(),
                onError: OnError()),
            Step(name: "observe idle", location: at, action: .wait(nanos: nanos), hooks: h, onError: OnError()),
            teardownStep("stop monitoring", .multiComponentAction(phase: .stopMonitoring, targets: targets), at),
            teardownStep("destroy", .multiComponentAction(phase: .destroy, targets: targets.reversed()), at),
        ]
    }

    // MARK: Matrix values in the components

    /// The components read again with a test's variables and its matrix expansion's values, so that
    /// `{{ cores }}` in a component follows the matrix (nil without either). Problems are reported once,
    /// under the expansion.
    static func matrixComponents(_ combo: [(String, String)], suite: Suite, context: ReadContext) -> [Component]? {
        guard !combo.isEmpty, let nodes = context.componentNodes else { return nil }
        let local = ReadContext(
            diags: Diagnostics(), variables: context.variables, baseDirectory: context.baseDirectory)
        var out: [Component] = []
        for (name, at, node) in nodes { out += replicated(node, name: name, at: at, context: local) }
        adopt(local, into: context) { "\($0) (with \(combo.map { "\($0.0)=\($0.1)" }.joined(separator: ",")))" }
        return out.count == suite.components.count ? out : nil
    }

    /// The problems a second reading found that the first did not, reported once under `path(p.path)`.
    static func adopt(_ local: ReadContext, into context: ReadContext, path: (String) -> String) {
        func key(_ p: ConfigProblem) -> String { "\(p.location.map { "\($0)" } ?? ""):\(p.message)" }
        let known = Set(context.diags.problems.map(key))
        for p in local.diags.problems where !known.contains(key(p)) {
            context.diags.add(p.location, path(p.path), p.message)
        }
    }

    /// Whether a component runs pipeperf's null sink (by its program or image name).
    static func isNullSink(_ c: Component) -> Bool {
        func named(_ s: String?) -> Bool {
            guard let s else { return false }
            let last = s.split(separator: "/").last.map(String.init) ?? s
            return last == "null-sink" || last.hasPrefix("null-sink:") || last.hasPrefix("pipeperf-null-sink")
        }
        if let p = c.deployment as? ProcessDeployment { return named(p.command.first) }
        if let d = c.deployment as? DockerDeployment { return named(d.image) || named(d.command?.first) }
        return false
    }
}
