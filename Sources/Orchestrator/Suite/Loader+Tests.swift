// Tests: matrices expanded into one test per combination, `steps` or the standard `flow`, whole tests
// and steps from templates (`from_template`), assertions checked for their form.

import FoundationEssentials
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
        for combo in combos {
            for (k, v) in combo { context.variables[k] = .text(v) }
            let fullName = combo.isEmpty ? name : "\(name)[\(combo.map { "\($0.0)=\($0.1)" }.joined(separator: ","))]"
            var steps: [Step] = []
            let hasSteps = r.value("steps") != nil, hasFlow = r.value("flow") != nil
            if hasSteps == hasFlow {
                if combo.isEmpty || out.isEmpty {
                    context.diags.add(
                        r.node.location, path,
                        "a test has either `steps` or `flow`, not \(hasSteps ? "both" : "neither")")
                }
            } else if let s = r.value("steps") {
                steps = stepList(s, path: "\(path).steps", context: context)
            } else if let f = r.value("flow") {
                steps = flowSteps(f, path: "\(path).flow", suite: suite, context: context)
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
