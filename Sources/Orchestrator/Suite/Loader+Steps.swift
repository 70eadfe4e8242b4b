// Steps: each with one action (Registry.actions), its hooks and its error policy.

import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

extension SuiteLoader {
    static func stepList(_ node: YNode, path: String, context: ReadContext) -> [Step] {
        guard case .list(let items, _) = node else {
            context.diags.add(node.location, path, "expected a list of steps, found \(node.kind)")
            return []
        }
        var out: [Step] = []
        // from_template entries: a rendered list is spliced in, a rendered mapping is merged into the step.
        var expanded: [(YNode, String)] = []
        for (i, item) in items.enumerated() {
            let p = "\(path)[\(i)]"
            if let t = expandTemplate(item, path: p, listKey: nil, context: context) {
                if case .list(let more, _) = t {
                    for (k, m) in more.enumerated() { expanded.append((m, "\(p) (from_template)[\(k)]")) }
                } else {
                    expanded.append((t, p))
                }
            } else {
                expanded.append((item, p))
            }
        }
        for (i, (item, p)) in expanded.enumerated() {
            guard let o = ObjectReader(item, path: p, keys: SuiteKeys.step, context: context, what: "step") else {
                continue
            }
            let name = o.string("name") ?? "step \(i + 1)"
            guard let a = o.value("action"),
                let (kind, options, _) = ObjectReader.choose(
                    a, path: "\(p).action", kinds: Registry.actions.map(\.name), what: "action", context: context),
                let ao = ObjectReader(
                    options, path: "\(p).action.\(kind)", keys: Registry.actionKeys(kind) ?? [], context: context,
                    what: "\(kind) action")
            else { continue }
            let action: Action
            switch kind {
            case "component_action":
                guard let t = ao.string("target"), let ph = phase(ao, context) else { continue }
                action = .componentAction(target: t, phase: ph)
            case "multi_component_action":
                guard let ph = phase(ao, context) else { continue }
                action = .multiComponentAction(phase: ph, targets: ao.stringList("targets"))
            case "wait":
                action = .wait(nanos: ao.duration("duration") ?? 0)
            case "update_component_strategy":
                let opts = ao.stringMap("options") ?? []
                let vars = ao.stringMap("variables") ?? []
                if opts.isEmpty && vars.isEmpty {
                    context.diags.add(
                        a.location, "\(p).action.update_component_strategy",
                        "update_component_strategy needs `options` (loadgen), `variables` (configuration or deployment) or both"
                    )
                }
                let target = ao.string("target") ?? ""
                action = .updateComponentStrategy(
                    target: target, options: opts, variables: vars,
                    rereads: reread(target, with: vars, path: "\(p).action.update_component_strategy", context: context)
                )
            case "record_event":
                action = .recordEvent(name: ao.string("name") ?? "", attributes: ao.stringMap("attributes") ?? [])
            case "no_op":
                action = .noOp
            default:
                // `choose` accepted only Registry.actions; an action listed there but not read here is a bug.
                context.diags.add(a.location, "\(p).action", "internal error: the action '\(kind)' has no reader")
                continue
            }
            let hooks = o.value("hooks").map { phaseHooks($0, path: "\(p).hooks", context: context) } ?? PhaseHooks()
            out.append(
                Step(
                    name: name, location: item.location, action: action, hooks: hooks,
                    onError: onError(o.value("on_error"), path: "\(p).on_error", context: context)))
        }
        return out
    }

    /// The target component (each of its copies) read again with the step's variables over the test's,
    /// so that a variable used in its deployment (command, cores, image) changes it. Problems the
    /// variables cause are reported under the step.
    static func reread(
        _ target: String, with vars: [(String, String)], path: String, context: ReadContext
    )
        -> [Component]
    {
        guard !vars.isEmpty, let nodes = context.componentNodes else { return [] }
        let local = ReadContext(
            diags: Diagnostics(), variables: context.variables, baseDirectory: context.baseDirectory)
        for (k, v) in vars { local.variables[k] = .text(v) }
        var out: [Component] = []
        for (name, at, node) in nodes {
            let copies = replicated(node, name: name, at: at, context: local)
            if name == target {
                out = copies
            } else if let one = copies.first(where: { $0.name == target }) {
                out = [one]
            }
            if !out.isEmpty { break }
        }
        adopt(local, into: context) {
            "\($0) (at \(path) with \(vars.map { "\($0.0)=\($0.1)" }.joined(separator: ",")))"
        }
        return out
    }

    static func phase(_ o: ObjectReader, _ context: ReadContext) -> ComponentPhase? {
        guard let s = o.string("phase") else { return nil }
        guard let p = ComponentPhase(rawValue: s) else {
            let names = ComponentPhase.allCases.map(\.rawValue)
            context.diags.add(
                o.location("phase"), o.sub("phase"),
                "unknown phase '\(s)'\(didYouMean(s, among: names)); phases: \(names.joined(separator: ", "))")
            return nil
        }
        return p
    }
}
