// Checks across the suite once everything is read: undeclared components, duplicate test names,
// update_component_strategy options, executions to start, host ports claimed twice.

import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

extension SuiteLoader {
    // MARK: Cross-checks

    static func crossCheck(_ suite: Suite, root: YNode, context: ReadContext) {
        let names = suite.components.map(\.name)
        func check(_ target: String, _ loc: SourceLocation, _ path: String) {
            if !names.contains(target) {
                context.diags.add(
                    loc, path,
                    "no component '\(target)'\(didYouMean(target, among: names)); components: \(names.isEmpty ? "none" : names.joined(separator: ", "))"
                )
            }
        }
        var testNames = Set<String>()
        for t in suite.tests {
            func at(_ s: Step) -> String { "test '\(t.name)', step '\(s.name)'" }
            if !testNames.insert(t.name).inserted {
                context.diags.add(t.location, "tests", "duplicate test name '\(t.name)'")
            }
            for s in t.steps {
                switch s.action {
                case .componentAction(let target, _): check(target, s.location, at(s))
                case .multiComponentAction(_, let targets):
                    for target in targets ?? [] { check(target, s.location, at(s)) }
                case .updateComponentStrategy(let target, let opts, let vars, let rereads):
                    check(target, s.location, at(s))
                    if let c = t.components?.first(where: { $0.name == target }) ?? suite.component(target) {
                        let moved = rereads.contains { $0.deploys(differently: c) }
                        if !opts.isEmpty, let e = c.execution {
                            e.problem(updating: opts, context: context, at: s.location, path: at(s))
                        } else if !opts.isEmpty {
                            context.diags.add(
                                s.location, at(s), "component '\(target)' has no loadgen execution to update")
                        }
                        let reruns = rereads.contains { $0.runs(differently: c) }
                        if !vars.isEmpty && c.configuration == nil && !moved && !reruns {
                            context.diags.add(
                                s.location, at(s),
                                "component '\(target)' has no configuration to render again with these variables, and they change nothing in its deployment"
                            )
                        } else if !vars.isEmpty && c.reload == nil && (moved || c.configuration != nil) {
                            context.diags.add(
                                s.location, at(s),
                                "component '\(target)' has no `reload:` (signal, url or restart), so a new \(moved ? "deployment" : "configuration") cannot take effect while it runs"
                            )
                        } else if moved && c.reload?.restarts != true {
                            context.diags.add(
                                s.location, at(s),
                                "these variables change the deployment of component '\(target)' (its command, cores, image, ...), which only a restart takes up: give it `reload: {restart: true}`"
                            )
                        }
                    }
                default: break
                }
            }
            // The flow's load component must have an execution.
            for s in t.steps {
                if case .componentAction(let target, .start) = s.action, let c = suite.component(target),
                    c.execution == nil
                {
                    context.diags.add(s.location, at(s), "component '\(target)' has no execution strategy to start")
                }
            }
        }
        // Host ports claimed twice (listen flags of processes, published ports of containers).
        var ports: [Int: String] = [:]
        for c in suite.components {
            for claim in c.deployment.claimedPorts(component: c.name) {
                let key = claim.port * (claim.udp ? -1 : 1)
                if let other = ports[key] {
                    context.diags.add(
                        c.location, "components.\(c.name).deployment.\(c.deploymentKind).\(claim.key)",
                        "\(claim.noun) \(claim.port) is also used by \(other)")
                }
                ports[key] = claim.what
            }
        }
    }
}
