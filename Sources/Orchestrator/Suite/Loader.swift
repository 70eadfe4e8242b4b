// Suite file → Suite: strict reading (unknown keys, wrong types, bad values, all reported at once with
// file:line:col and key path), variables rendered into values, matrices and flows expanded, then
// cross-checks (undeclared components, duplicate names, missing files, ports used twice, loadgen
// options checked by loadgen's own parser).

import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

public enum SuiteLoader {
    /// Reads and validates `path`; `overrides` (from `--set`) replace suite variables.
    public static func load(path: String, overrides: [(String, String)] = []) throws(ConfigError) -> Suite {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError(nil, "", "cannot read suite file \(path): \(error.localizedDescription)")
        }
        return try load(text: text, file: path, overrides: overrides)
    }

    /// A suite with `from_template: {path, variables}`: the other suite file's keys under this one's
    /// (this file's win), `variables` merged — the template's, then the reference's, then this file's.
    static func suiteFromTemplate(_ root: YNode, baseDirectory: String, diags: Diagnostics) throws(ConfigError) -> YNode
    {
        guard case .map(let pairs, let loc) = root, let ref = pairs.first(where: { $0.key == "from_template" }) else {
            return root
        }
        let p = "from_template"
        let context = ReadContext(diags: diags, variables: [:], baseDirectory: baseDirectory)
        guard
            let o = ObjectReader(
                ref.value, path: p, keys: SuiteKeys.templateReference, context: context, what: "from_template"),
            let path = o.string("path")
        else { throw ConfigError(diags.problems) }
        let full = path.hasPrefix("/") ? path : "\(baseDirectory)/\(path)"
        guard let text = try? String(contentsOfFile: full, encoding: .utf8) else {
            throw ConfigError(
                o.location("path"), "\(p).path",
                "cannot read the suite template '\(path)'\(path.hasPrefix("/") ? "" : " (relative to this suite file)")"
            )
        }
        guard case .map(let tpairs, _) = try YNode.parse(text, file: full) else {
            throw ConfigError(o.location("path"), "\(p).path", "the suite template \(full) is not a mapping")
        }
        if tpairs.contains(where: { $0.key == "from_template" }) {
            throw ConfigError(
                o.location("path"), "\(p).path",
                "the suite template \(full) has a from_template of its own (one level only)")
        }
        func variables(_ node: YNode?) -> [(key: String, keyLocation: SourceLocation, value: YNode)] {
            if case .map(let v, _)? = node { return v }
            return []
        }
        var merged = variables(tpairs.first { $0.key == "variables" }?.value)
        let given = variables(o.value("variables")) + variables(pairs.first { $0.key == "variables" }?.value)
        for v in given {
            merged.removeAll { $0.key == v.key }
            merged.append(v)
        }
        let own = pairs.filter { $0.key != "from_template" && $0.key != "variables" }
        var out = own + tpairs.filter { t in t.key != "variables" && !own.contains { $0.key == t.key } }
        if !merged.isEmpty { out.append(("variables", ref.keyLocation, .map(merged, ref.keyLocation))) }
        return .map(out, loc)
    }

    public static func load(text: String, file: String, overrides: [(String, String)] = []) throws(ConfigError) -> Suite
    {
        let diags = Diagnostics()
        let base = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        let root = try suiteFromTemplate(try YNode.parse(text, file: file), baseDirectory: base, diags: diags)
        let context = ReadContext(diags: diags, variables: [:], baseDirectory: base)
        guard let top = ObjectReader(root, path: "", keys: SuiteKeys.suite, context: context, what: "the suite") else {
            throw ConfigError(diags.problems)
        }

        // Variables first (plain values; they may refer to each other only through --set).
        var variables: [String: TemplateValue] = [:]
        if let v = top.value("variables") {
            if case .map(let pairs, _) = v {
                for p in pairs { variables[p.key] = templateValue(p.value) }
            } else {
                diags.add(v.location, "variables", "expected a mapping of names to values, found \(v.kind)")
            }
        }
        for (k, v) in overrides {
            if variables[k] == nil {
                diags.add(
                    nil, "--set \(k)", "no variable '\(k)' in the suite\(didYouMean(k, among: Array(variables.keys)))")
            }
            variables[k] = .text(v)
        }
        // Variables may use {{ }} too (e.g. `observe_ms: "{{ observe }}"` is not needed, but `url: http://{{ host }}`).
        for (k, v) in variables {
            if case .text(let t) = v, Template.isTemplate(t) {
                do { variables[k] = .text(try Template(t).render(variables)) } catch {
                    diags.add(nil, "variables.\(k)", error.message)
                }
            }
        }
        context.variables = variables
        // `{{ rendered.<component> }}` and `{{ run_folder }}` in the suite's own values (a collector's
        // `--config`): the run folder does not exist yet, so they stand for a marker that each strategy
        // resolves when it runs (RunContext.resolve).
        var rendered: [String: TemplateValue] = [:]
        if case .map(let pairs, _)? = top.value("components") {
            for p in pairs {
                if let path = renderedPath(p.value, variables) { rendered[p.key] = .text(path) }
            }
        }
        if context.variables["rendered"] == nil { context.variables["rendered"] = .map(rendered) }
        if context.variables["run_folder"] == nil {
            context.variables["run_folder"] = .text(RunContext.runFolderMarker)
        }

        let name = top.string("name") ?? "suite"
        var suite = Suite(
            name: name, file: file, baseDirectory: base, variables: variables, components: [], tests: [],
            hooks: PhaseHooks())
        if let c = top.value("code"),
            let o = ObjectReader(
                c, path: "code", keys: [KeySpec("path", "path", default: ".", "a folder inside a git work tree")],
                context: context, what: "code")
        {
            suite.codePath = o.string("path") ?? "."
        }
        if let c = top.value("components") {
            if case .map(let pairs, _) = c {
                context.componentNodes = pairs.map { ($0.key, $0.keyLocation, $0.value) }
                for p in pairs {
                    suite.components += replicated(p.value, name: p.key, at: p.keyLocation, context: context)
                }
            } else {
                diags.add(
                    c.location, "components", "expected a mapping of component names to components, found \(c.kind)")
            }
        }
        if let h = top.value("hooks") { suite.hooks = runHooks(h, path: "hooks", context: context) }
        if top.value("reports") != nil {
            diags.add(
                top.location("reports"), "reports",
                "every run writes report.json, report.md, report-gab-bigger.json and report-gab-smaller.json and prints the console table; remove the key (`pipeperf report RUN_FOLDER --format …` renders them again)"
            )
        }
        if let t = top.value("tests") {
            if case .list(let items, _) = t {
                for (i, item) in items.enumerated() {
                    suite.tests += tests(item, path: "tests[\(i)]", suite: suite, context: context)
                }
            } else {
                diags.add(t.location, "tests", "expected a list of tests, found \(t.kind)")
            }
        }
        if let ref = top.string("compare_to") {
            // A test's name, its replicates' base name, or a matrix test's name without its values.
            let names =
                suite.tests.map(\.name) + suite.tests.map(\.base)
                + suite.tests.map { String($0.name.prefix { $0 != "[" }) }
            if names.contains(ref) {
                suite.compareTo = ref
            } else {
                let unique = Array(Set(suite.tests.map(\.name))).sorted()
                context.diags.add(
                    top.location("compare_to"), "compare_to",
                    "no test '\(ref)'\(didYouMean(ref, among: unique)); tests: \(unique.joined(separator: ", "))")
            }
        }
        if suite.components.contains(where: { $0.replicaOf != nil }) {
            for i in suite.tests.indices { suite.tests[i].steps = expandReplicas(suite.tests[i].steps, suite) }
        }
        crossCheck(suite, root: root, context: context)
        if !diags.isEmpty { throw ConfigError(diags.problems) }
        return suite
    }

    static func templateValue(_ n: YNode) -> TemplateValue {
        switch n {
        case .scalar(let s, _, _): return .text(s)
        case .null: return .text("")
        case .list(let items, _): return .list(items.map(templateValue))
        case .map(let pairs, _):
            var m: [String: TemplateValue] = [:]
            for p in pairs { m[p.key] = templateValue(p.value) }
            return .map(m)
        }
    }

    // MARK: Components

    /// Where a component's rendered config will be (`{{ rendered.<component> }}`, a marker for the run
    /// folder that does not exist yet), from its template's destination; nil without a template.
    static func renderedPath(_ node: YNode, _ variables: [String: TemplateValue]) -> String? {
        guard case .map(let keys, _) = node,
            case .map(let conf, _)? = keys.first(where: { $0.key == "configuration" })?.value,
            case .map(let t, _)? = conf.first(where: { $0.key == "template" })?.value,
            case .scalar(let destination, _, _)? = t.first(where: { $0.key == "destination" })?.value
        else { return nil }
        let d = (try? Template(destination).render(variables)) ?? destination
        return "\(RunContext.runFolderMarker)/rendered/\(d)"
    }

    /// A component, or its copies when it has `replicas: N`: each read with `{{ replica }}` set (1 … N)
    /// and named <name>-<k>; `{{ rendered.<name> }}` is each copy's own rendered file.
    static func replicated(_ node: YNode, name: String, at: SourceLocation, context: ReadContext) -> [Component] {
        guard case .map(let pairs, _) = node, let n = pairs.first(where: { $0.key == "replicas" }) else {
            return component(node, name: name, at: at, context: context).map { [$0] } ?? []
        }
        let path = "components.\(name).replicas"
        guard case .scalar(let raw, _, _) = n.value, let text = try? Template(raw).render(context.variables),
            let count = Int(text), (1...64).contains(count)
        else {
            context.diags.add(n.value.location, path, "expected a whole number of copies from 1 to 64")
            return []
        }
        let saved = context.variables
        defer { context.variables = saved }
        var out: [Component] = []
        for k in 1...count {
            context.variables = saved
            context.variables["replica"] = .text(String(k))
            // The copy's own config file, as `{{ rendered.<name> }}` in its values.
            if case .map(var rendered)? = saved["rendered"], let path = renderedPath(node, context.variables) {
                rendered[name] = .text(path)
                context.variables["rendered"] = .map(rendered)
            }
            guard var c = component(node, name: "\(name)-\(k)", at: at, context: context) else { continue }
            if k == 1 && c.deploymentKind == "external" {
                context.diags.add(n.value.location, path, "an external endpoint cannot be replicated")
            }
            c.replicaOf = name
            c.replica = k
            out.append(c)
        }
        return out
    }

    static func component(_ node: YNode, name: String, at: SourceLocation, context: ReadContext) -> Component? {
        let path = "components.\(name)"
        guard
            let r = ObjectReader(
                node, path: path, keys: SuiteKeys.component, context: context, what: "component '\(name)'")
        else { return nil }
        if !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            context.diags.add(at, path, "component names may hold letters, digits, '-' and '_' only")
        }
        let deployment = strategy(r, "deployment", Registry.deployments, context: context)
        let execution = strategy(r, "execution", Registry.executions, context: context)
        let configuration = strategy(r, "configuration", Registry.configurations, context: context)
        var ready: ReadyCheck? = nil
        if let v = r.value("ready"), case .map(let pairs, _) = v, pairs.contains(where: { $0.key == "tcp" }) {
            if let o = ObjectReader(
                v, path: "\(path).ready", keys: SuiteKeys.readyTCP, context: context, what: "ready check"),
                let endpoint = o.string("tcp")
            {
                var check = ReadyCheck(url: "", tcp: endpoint)
                if case .failure(let e) = Endpoint.parse(endpoint) {
                    context.diags.add(o.location("tcp"), o.sub("tcp"), "\(e)")
                }
                if let t = o.duration("timeout", allowZero: false) { check.timeoutNanos = t }
                if let t = o.duration("interval", allowZero: false) { check.intervalNanos = t }
                ready = check
            }
        } else if let v = r.value("ready"),
            let o = ObjectReader(
                v, path: "\(path).ready", keys: Registry.hookKeys("ready_check_http") ?? [], context: context,
                what: "ready check")
        {
            ready = readyCheck(o, context: context)
        }
        var monitors: [any MonitorStrategy] = []
        if let m = r.value("monitoring") {
            if case .map(let pairs, _) = m {
                let kinds = Registry.monitors.map(\.info.name)
                for p in pairs {
                    let mp = "\(path).monitoring.\(p.key)"
                    guard let kind = Registry.monitors.first(where: { $0.info.name == p.key }) else {
                        context.diags.add(
                            p.keyLocation, mp,
                            "unknown monitoring strategy '\(p.key)'\(didYouMean(p.key, among: kinds)); valid: \(kinds.joined(separator: ", "))"
                        )
                        continue
                    }
                    var options = p.value
                    if case .null(let l) = options { options = .map([], l) }
                    guard
                        let o = ObjectReader(
                            options, path: mp, keys: kind.info.keys, context: context, what: "\(p.key) monitoring"),
                        let monitor = kind.read(o, context)
                    else { continue }
                    monitors.append(monitor)
                }
            } else {
                context.diags.add(
                    m.location, "\(path).monitoring",
                    "expected a mapping of monitoring strategies to options, found \(m.kind)")
            }
        }
        let snapshot = r.string("snapshot")
        if let u = snapshot { checkURL(u, at: r.location("snapshot"), path: "\(path).snapshot", context: context) }
        var hooks: [ComponentPhase: PhaseHooks] = [:]
        if let h = r.value("hooks") {
            if case .map(let pairs, _) = h {
                for p in pairs {
                    guard let phase = ComponentPhase(rawValue: p.key) else {
                        let names = ComponentPhase.allCases.map(\.rawValue)
                        context.diags.add(
                            p.keyLocation, "\(path).hooks.\(p.key)",
                            "unknown phase '\(p.key)'\(didYouMean(p.key, among: names)); phases: \(names.joined(separator: ", "))"
                        )
                        continue
                    }
                    hooks[phase] = phaseHooks(p.value, path: "\(path).hooks.\(p.key)", context: context)
                }
            } else {
                context.diags.add(
                    h.location, "\(path).hooks", "expected a mapping of phases to {pre, post}, found \(h.kind)")
            }
        }
        var hops: [(key: String, metrics: [String])] = []
        if let h = r.value("hops"),
            let o = ObjectReader(
                h, path: "\(path).hops",
                keys: [
                    KeySpec("in", "metric name(s)", "the counter(s) of items received (several are summed)"),
                    KeySpec("out", "metric name(s)", "the counter(s) of items passed on"),
                    KeySpec("failed", "metric name(s)", "the counter(s) of items it failed to pass on"),
                    KeySpec(
                        "requests", "metric name(s)",
                        "the counter(s) of requests it served (a gateway that does not know items)"),
                ], context: context, what: "hops")
        {
            for key in ["in", "out", "failed", "requests"] {
                if let m = o.stringList(key, single: true), !m.isEmpty { hops.append((key, m)) }
            }
            if hops.isEmpty {
                context.diags.add(
                    h.location, "\(path).hops",
                    "hops needs at least one of `in`, `out`, `failed`, `requests` (scraped counter names)")
            }
            let scrapers = Registry.monitors.filter(\.scrapes).map(\.info.name)
            if !monitors.contains(where: { scrapers.contains(type(of: $0).info.name) }) {
                context.diags.add(
                    h.location, "\(path).hops",
                    "hops names scraped counters, but the component has no monitoring that scrapes them (\(scrapers.joined(separator: ", ")))"
                )
            }
        }
        var reload: Reload? = nil
        if let v = r.value("reload"),
            let o = ObjectReader(v, path: "\(path).reload", keys: SuiteKeys.reload, context: context, what: "reload")
        {
            let ways = ["signal", "url", "restart"].filter { o.value($0) != nil }
            let signals: [String: Int32] = [
                "HUP": SIGHUP, "USR1": SIGUSR1, "USR2": SIGUSR2, "INT": SIGINT, "TERM": SIGTERM,
            ]
            if ways.count != 1 {
                context.diags.add(
                    v.location, "\(path).reload",
                    "reload needs exactly one of `signal`, `url`, `restart`, found \(ways.count)")
            } else if let s = o.string("signal") {
                let name = s.uppercased().hasPrefix("SIG") ? String(s.uppercased().dropFirst(3)) : s.uppercased()
                if let n = signals[name] {
                    reload = Reload(how: .signal(n, name: "SIG\(name)"))
                } else {
                    context.diags.add(
                        o.location("signal"), o.sub("signal"),
                        "unknown signal '\(s)'; signals: \(signals.keys.sorted().joined(separator: ", "))")
                }
            } else if let u = o.string("url") {
                checkURL(u, at: o.location("url"), path: o.sub("url"), context: context)
                reload = Reload(how: .http(method: o.string("method") ?? "POST", url: u))
            } else if o.bool("restart") == true {
                reload = Reload(how: .restart)
            }
            if let t = o.duration("settle") { reload?.settleNanos = t }
        }
        guard let deployment else { return nil }
        // Each monitor says whether it can watch this kind of deployment.
        var reported = Set<String>()
        for m in monitors {
            let kind = type(of: m).info.name
            if let problem = m.problem(with: deployment), reported.insert(kind).inserted {
                context.diags.add(r.location("monitoring"), "\(path).monitoring.\(kind)", problem)
            }
        }
        return Component(
            name: name, location: at, configuration: configuration, deployment: deployment, execution: execution,
            ready: ready,
            snapshot: snapshot, hops: hops, monitors: monitors, hooks: hooks, reload: reload)
    }

    /// Steps naming a replicated component act on every copy: a component action becomes the same
    /// action on each copy in turn; an update step, one per copy.
    static func expandReplicas(_ steps: [Step], _ suite: Suite) -> [Step] {
        steps.flatMap { s -> [Step] in
            switch s.action {
            case .componentAction(let target, let phase) where suite.expand(target) != [target]:
                var e = s
                e.action = .multiComponentAction(phase: phase, targets: suite.expand(target))
                return [e]
            case .multiComponentAction(let phase, let targets?):
                var e = s
                e.action = .multiComponentAction(phase: phase, targets: targets.flatMap(suite.expand))
                return [e]
            case .updateComponentStrategy(let target, let options, let variables, let rereads)
            where suite.expand(target) != [target]:
                return suite.expand(target).map { copy in
                    var e = s
                    e.action = .updateComponentStrategy(
                        target: copy, options: options, variables: variables,
                        rereads: rereads.filter { $0.name == copy })
                    return e
                }
            default: return [s]
            }
        }
    }

    /// `key: {KIND: options}` read by the registry's kind of that name; unknown kinds list the valid ones.
    static func strategy<Family>(
        _ r: ObjectReader, _ key: String, _ kinds: [StrategyKind<Family>], context: ReadContext
    ) -> Family? {
        guard let (name, options, _) = r.strategy(key, kinds: kinds.map(\.info.name), what: "\(key) strategy"),
            let kind = kinds.first(where: { $0.info.name == name }),
            let o = ObjectReader(
                options, path: "\(r.sub(key)).\(name)", keys: kind.info.keys, context: context, what: "\(name) \(key)")
        else { return nil }
        return kind.read(o, context)
    }

    static func extraVariables(_ o: ObjectReader, _ key: String, _ context: ReadContext) -> [String: TemplateValue] {
        guard let v = o.value(key) else { return [:] }
        guard case .map(let pairs, _) = v else {
            context.diags.add(v.location, o.sub(key), "expected a mapping, found \(v.kind)")
            return [:]
        }
        var out: [String: TemplateValue] = [:]
        for p in pairs {
            if case .scalar(let s, let l, _) = p.value {
                out[p.key] = .text(o.render(s, l, "\(o.sub(key)).\(p.key)") ?? "")
            } else {
                out[p.key] = templateValue(p.value)
            }
        }
        return out
    }

    static func checkTemplateFile(_ source: String, at: SourceLocation, path: String, context: ReadContext) {
        let full = source.hasPrefix("/") ? source : "\(context.baseDirectory)/\(source)"
        guard let text = try? String(contentsOfFile: full, encoding: .utf8) else {
            context.diags.add(at, path, "cannot read template file \(full)")
            return
        }
        do { _ = try Template(text) } catch { context.diags.add(at, path, "\(full): \(error)") }
    }

    static func checkFileName(_ name: String, at: SourceLocation, path: String, context: ReadContext) {
        if name.isEmpty || name.contains("/") || name.hasPrefix(".") {
            context.diags.add(
                at, path, "expected a plain file name (it goes into the run folder's rendered/), found '\(name)'")
        }
    }

    static func checkURL(_ url: String, at: SourceLocation, path: String, context: ReadContext) {
        if url.isEmpty { return }
        guard HTTPURL(url) != nil else {
            context.diags.add(at, path, "expected an http:// URL such as http://127.0.0.1:8081/healthz, found '\(url)'")
            return
        }
    }

}
