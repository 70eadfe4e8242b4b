// Suite file → Suite: strict reading (unknown keys, wrong types, bad values, all reported at once with
// file:line:col and key path), variables rendered into values, matrices and flows expanded, then
// cross-checks (undeclared components, duplicate names, missing files, ports used twice, loadgen
// options checked by loadgen's own parser).

import FoundationEssentials
import PipeperfBase

import LoadGen

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

    public static func load(text: String, file: String, overrides: [(String, String)] = []) throws(ConfigError) -> Suite {
        let root = try YNode.parse(text, file: file)
        let diags = Diagnostics()
        let base = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        let context = ReadContext(diags: diags, variables: [:], baseDirectory: base)
        guard let top = ObjectReader(root, path: "", keys: SuiteKeys.suite, context: context, what: "the suite") else { throw ConfigError(diags.problems) }

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
                diags.add(nil, "--set \(k)", "no variable '\(k)' in the suite\(didYouMean(k, among: Array(variables.keys)))")
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

        let name = top.string("name") ?? "suite"
        var suite = Suite(name: name, file: file, baseDirectory: base, variables: variables, components: [], tests: [], hooks: PhaseHooks())
        if let c = top.value("components") {
            if case .map(let pairs, _) = c {
                for p in pairs {
                    if let comp = component(p.value, name: p.key, at: p.keyLocation, context: context) { suite.components.append(comp) }
                }
            } else {
                diags.add(c.location, "components", "expected a mapping of component names to components, found \(c.kind)")
            }
        }
        if let h = top.value("hooks") { suite.hooks = runHooks(h, path: "hooks", context: context) }
        if top.value("reports") != nil {
            diags.add(top.location("reports"), "reports", "every run writes report.json, report.md and report-gab.json and prints the console table; remove the key (`pipeperf report RUN_FOLDER --format …` renders them again)")
        }
        if let t = top.value("tests") {
            if case .list(let items, _) = t {
                for (i, item) in items.enumerated() { suite.tests += tests(item, path: "tests[\(i)]", suite: suite, context: context) }
            } else {
                diags.add(t.location, "tests", "expected a list of tests, found \(t.kind)")
            }
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

    static func component(_ node: YNode, name: String, at: SourceLocation, context: ReadContext) -> Component? {
        let path = "components.\(name)"
        guard let r = ObjectReader(node, path: path, keys: SuiteKeys.component, context: context, what: "component '\(name)'") else { return nil }
        if !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            context.diags.add(at, path, "component names may hold letters, digits, '-' and '_' only")
        }
        var deployment: Deployment? = nil
        if let (kind, options, _) = r.strategy("deployment", kinds: ["process", "docker", "external"], what: "deployment strategy") {
            let p = "\(path).deployment.\(kind)"
            switch kind {
            case "process":
                if let o = ObjectReader(options, path: p, keys: SuiteKeys.process, context: context, what: "process deployment") {
                    let command = o.stringList("command")
                    var d = ProcessDeployment(command: command ?? [])
                    if let command, command.isEmpty { context.diags.add(o.location("command"), "\(p).command", "the command is empty") }
                    d.environment = o.stringMap("environment") ?? []
                    d.workingDirectory = o.string("working_directory")
                    if let cpus = o.string("cpus") {
                        d.cpusText = cpus
                        d.cpus = parseCPUList(cpus)
                        if d.cpus == nil { context.diags.add(o.location("cpus"), "\(p).cpus", "expected a CPU list such as \"2-3\" or \"0,2\", found '\(cpus)'") }
                    }
                    if let n = o.duration("startup_check") { d.startupCheckNanos = n }
                    if let n = o.duration("stop_grace") { d.stopGraceNanos = n }
                    deployment = .process(d)
                }
            case "docker":
                if let o = ObjectReader(options, path: p, keys: SuiteKeys.docker, context: context, what: "docker deployment") {
                    deployment = dockerDeployment(o, path: p, context: context).map { .docker($0) }
                }
            default:
                if let o = ObjectReader(options, path: p, keys: SuiteKeys.external, context: context, what: "external deployment"),
                   let e = o.string("endpoint") {
                    if case .failure(let err) = Endpoint.parse(e) { context.diags.add(o.location("endpoint"), "\(p).endpoint", "\(err)") }
                    deployment = .external(ExternalDeployment(endpoint: e))
                }
            }
        }
        var execution: Execution? = nil
        if let (kind, options, _) = r.strategy("execution", kinds: ["loadgen", "command"], what: "execution strategy") {
            let p = "\(path).execution.\(kind)"
            if kind == "loadgen" {
                if let o = ObjectReader(options, path: p, keys: SuiteKeys.loadgen, context: context, what: "loadgen execution"), let a = o.string("admin") {
                    switch Endpoint.parse(a) {
                    case .success(let e):
                        let opts = o.stringMap("options") ?? []
                        checkLoadgenOptions(opts, at: o.location("options"), path: "\(p).options", context: context)
                        execution = .loadgen(LoadgenExecution(admin: e, options: opts))
                    case .failure(let err): context.diags.add(o.location("admin"), "\(p).admin", "\(err)")
                    }
                }
            } else if let o = ObjectReader(options, path: p, keys: SuiteKeys.command, context: context, what: "command execution") {
                execution = .command(CommandExecution(command: o.stringList("command") ?? [], environment: o.stringMap("environment") ?? []))
            }
        }
        var configuration: TemplateConfiguration? = nil
        if let (_, options, _) = r.strategy("configuration", kinds: ["template"], what: "configuration strategy"),
           let o = ObjectReader(options, path: "\(path).configuration.template", keys: SuiteKeys.template, context: context, what: "template configuration"),
           let source = o.string("source"), let destination = o.string("destination") {
            configuration = TemplateConfiguration(source: source, destination: destination, variables: extraVariables(o, "variables", context))
            checkTemplateFile(source, at: o.location("source"), path: "\(path).configuration.template.source", context: context)
            checkFileName(destination, at: o.location("destination"), path: "\(path).configuration.template.destination", context: context)
        }
        var ready: ReadyCheck? = nil
        if let v = r.value("ready"), let o = ObjectReader(v, path: "\(path).ready", keys: SuiteKeys.hooks["ready_check_http"]!, context: context, what: "ready check") {
            ready = readyCheck(o, context: context)
        }
        var monitors: [MonitorSpec] = []
        if let m = r.value("monitoring") {
            if case .map(let pairs, _) = m {
                let kinds = SuiteKeys.monitoring.keys.sorted()
                for p in pairs {
                    let mp = "\(path).monitoring.\(p.key)"
                    guard let keys = SuiteKeys.monitoring[p.key] else {
                        context.diags.add(p.keyLocation, mp, "unknown monitoring strategy '\(p.key)'\(didYouMean(p.key, among: kinds)); valid: \(kinds.joined(separator: ", "))")
                        continue
                    }
                    var options = p.value
                    if case .null(let l) = options { options = .map([], l) }
                    guard let o = ObjectReader(options, path: mp, keys: keys, context: context, what: "\(p.key) monitoring") else { continue }
                    var spec = MonitorSpec(kind: p.key)
                    spec.url = o.string("url")
                    if let u = spec.url { checkURL(u, at: o.location("url"), path: "\(mp).url", context: context) }
                    if let i = o.duration("interval", allowZero: false) {
                        if i < 50_000_000 { context.diags.add(o.location("interval"), "\(mp).interval", "the interval must be at least 50ms") }
                        spec.intervalNanos = i
                    }
                    spec.include = o.stringList("include", single: true) ?? []
                    spec.exclude = o.stringList("exclude", single: true) ?? []
                    monitors.append(spec)
                }
            } else {
                context.diags.add(m.location, "\(path).monitoring", "expected a mapping of monitoring strategies to options, found \(m.kind)")
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
                        context.diags.add(p.keyLocation, "\(path).hooks.\(p.key)", "unknown phase '\(p.key)'\(didYouMean(p.key, among: names)); phases: \(names.joined(separator: ", "))")
                        continue
                    }
                    hooks[phase] = phaseHooks(p.value, path: "\(path).hooks.\(p.key)", context: context)
                }
            } else {
                context.diags.add(h.location, "\(path).hooks", "expected a mapping of phases to {pre, post}, found \(h.kind)")
            }
        }
        if r.value("deployment") != nil && deployment == nil { return nil }
        guard let deployment else { return nil }
        if case .external = deployment, monitors.contains(where: { $0.kind == "process" }) {
            context.diags.add(r.location("monitoring"), "\(path).monitoring.process", "an external component has no process to monitor; use component: or prometheus:")
        }
        if monitors.contains(where: { $0.kind == "docker" }), deployment.kind != "docker" {
            context.diags.add(r.location("monitoring"), "\(path).monitoring.docker", "docker monitoring needs a docker deployment (this component's is \(deployment.kind))")
        }
        return Component(name: name, location: at, configuration: configuration, deployment: deployment, execution: execution, ready: ready,
                         snapshot: snapshot, monitors: monitors, hooks: hooks)
    }

    /// `deployment: docker:` options.
    static func dockerDeployment(_ o: ObjectReader, path p: String, context: ReadContext) -> DockerDeployment? {
        var d = DockerDeployment()
        d.image = o.string("image")
        if let b = o.value("build"), let bo = ObjectReader(b, path: "\(p).build", keys: SuiteKeys.dockerBuild, context: context, what: "docker build"),
           let ctx = bo.string("context") {
            let full = ctx.hasPrefix("/") ? ctx : "\(context.baseDirectory)/\(ctx.hasPrefix("./") ? String(ctx.dropFirst(2)) : ctx)"
            var st = stat()
            let isDir = stat(full, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            if !isDir {
                context.diags.add(bo.location("context"), "\(p).build.context", "no folder \(full)")
            }
            var spec = DockerBuildSpec(context: full)
            if let f = bo.string("dockerfile") {
                spec.dockerfile = f
                if !FileManager.default.fileExists(atPath: "\(full)/\(f)") { context.diags.add(bo.location("dockerfile"), "\(p).build.dockerfile", "no file \(full)/\(f)") }
            } else if isDir && !FileManager.default.fileExists(atPath: "\(full)/Dockerfile") {
                context.diags.add(bo.location("context"), "\(p).build.context", "no Dockerfile in \(full) (set dockerfile:)")
            }
            spec.args = bo.stringMap("args") ?? []
            spec.target = bo.string("target")
            d.build = spec
        }
        if d.image == nil && o.value("build") == nil { context.diags.add(o.node.location, p, "a docker deployment needs `image` or `build`") }
        if let c = o.value("command") { d.command = o.stringList("command"); _ = c }
        if o.value("entrypoint") != nil { d.entrypoint = o.stringList("entrypoint", single: true) }
        if let env = o.value("environment") {
            if case .list(let items, _) = env {
                for (i, item) in items.enumerated() {
                    guard let s = o.scalar(item, path: "\(p).environment[\(i)]") else { continue }
                    guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
                        context.diags.add(item.location, "\(p).environment[\(i)]", "expected NAME=value, found '\(s)'")
                        continue
                    }
                    d.environment.append((String(s[..<eq]), String(s[s.index(after: eq)...])))
                }
            } else {
                d.environment = o.stringMap("environment") ?? []
            }
        }
        if let items = o.list("ports", what: "ports") {
            for (i, item) in items.enumerated() {
                let ip = "\(p).ports[\(i)]"
                if case .map = item {
                    guard let po = ObjectReader(item, path: ip, keys: SuiteKeys.dockerPort, context: context, what: "port") else { continue }
                    guard let target = po.int("target", range: 1...65535) else { continue }
                    var m = PortMapping(containerPort: target)
                    m.hostPort = po.int("published", range: 0...65535) ?? target
                    if let h = po.string("host_ip") {
                        if !isIPAddress(h) { context.diags.add(po.location("host_ip"), "\(ip).host_ip", "expected an IP address such as 127.0.0.1 or 0.0.0.0, found '\(h)'") }
                        m.hostIP = h
                    }
                    if let proto = po.string("protocol") {
                        if proto != "tcp" && proto != "udp" { context.diags.add(po.location("protocol"), "\(ip).protocol", "expected tcp or udp, found '\(proto)'") }
                        m.proto = proto
                    }
                    d.ports.append(m)
                } else if let text = o.scalar(item, path: ip) {
                    switch parsePortMapping(text) {
                    case .success(let m): d.ports.append(m)
                    case .failure(let e): context.diags.add(item.location, ip, e.description)
                    }
                }
            }
        }
        if let items = o.list("volumes", what: "volumes") {
            for (i, item) in items.enumerated() {
                let vp = "\(p).volumes[\(i)]"
                var source = "", target = "", mode: String? = nil
                if case .map = item {
                    guard let vo = ObjectReader(item, path: vp, keys: SuiteKeys.dockerVolume, context: context, what: "volume"),
                          let s = vo.string("source"), let t = vo.string("target") else { continue }
                    source = s
                    target = t
                    if let ro = vo.bool("read_only") { mode = ro ? "ro" : "rw" }
                } else if let text = o.scalar(item, path: vp) {
                    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
                        context.diags.add(item.location, vp, "expected SOURCE:TARGET or SOURCE:TARGET:ro|rw, found '\(text)'")
                        continue
                    }
                    source = parts[0]
                    target = parts[1]
                    if parts.count == 3 {
                        guard parts[2] == "ro" || parts[2] == "rw" else {
                            context.diags.add(item.location, vp, "the mode must be ro or rw, found '\(parts[2])'")
                            continue
                        }
                        mode = parts[2]
                    }
                }
                guard target.hasPrefix("/") else {
                    context.diags.add(item.location, vp, "the target must be an absolute path in the container, found '\(target)'")
                    continue
                }
                var m = VolumeMount(source: source, target: target, readOnly: mode == "ro")
                if source.hasPrefix("rendered/") {
                    m.rendered = true
                    m.source = String(source.dropFirst("rendered/".count))
                    if mode == "rw" { context.diags.add(item.location, vp, "files of the run folder's rendered/ mount read-only") }
                    m.readOnly = true
                } else if source.contains("/") || source.hasPrefix(".") {
                    m.source = source.hasPrefix("/") ? source : "\(context.baseDirectory)/\(source.hasPrefix("./") ? String(source.dropFirst(2)) : source)"
                    if !FileManager.default.fileExists(atPath: m.source) { context.diags.add(item.location, vp, "no file or folder \(m.source)") }
                } else {
                    m.isBind = false
                }
                d.volumes.append(m)
            }
        }
        d.network = o.string("network")
        if let n = d.network, n.isEmpty || !n.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
            context.diags.add(o.location("network"), "\(p).network", "a network name holds letters, digits, '-', '_' and '.', found '\(n)'")
        }
        if let c = o.string("cpuset") {
            if parseCPUList(c) == nil { context.diags.add(o.location("cpuset"), "\(p).cpuset", "expected a CPU list such as \"1\" or \"0-1\", found '\(c)'") }
            d.cpuset = c
        }
        if let c = o.string("cpus") {
            if let v = Double(c), v > 0, v <= 1024 { d.cpus = v } else {
                context.diags.add(o.location("cpus"), "\(p).cpus", "expected a number of cores above 0 such as 0.5 or 2, found '\(c)'")
            }
        }
        if let m = o.string("memory") {
            if let b = parseByteSize(m), b >= 6 << 20 { d.memoryBytes = b } else {
                context.diags.add(o.location("memory"), "\(p).memory", "expected a size of at least 6m such as 256m or 1g, found '\(m)'")
            }
        }
        if let n = o.string("name") {
            if n.isEmpty || !n.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
                context.diags.add(o.location("name"), "\(p).name", "a container name holds letters, digits, '-', '_' and '.', found '\(n)'")
            }
            d.name = n
        }
        if o.value("healthcheck") != nil { d.healthcheck = o.stringList("healthcheck") }
        if let t = o.duration("startup_timeout", allowZero: false) { d.startupTimeoutNanos = t }
        if let t = o.duration("startup_check") { d.startupCheckNanos = t }
        if let t = o.duration("stop_grace") { d.stopGraceNanos = t }
        return d
    }

    static func extraVariables(_ o: ObjectReader, _ key: String, _ context: ReadContext) -> [String: TemplateValue] {
        guard let v = o.value(key) else { return [:] }
        guard case .map(let pairs, _) = v else {
            context.diags.add(v.location, o.sub(key), "expected a mapping, found \(v.kind)")
            return [:]
        }
        var out: [String: TemplateValue] = [:]
        for p in pairs {
            if case .scalar(let s, let l, _) = p.value { out[p.key] = .text(o.render(s, l, "\(o.sub(key)).\(p.key)") ?? "") } else { out[p.key] = templateValue(p.value) }
        }
        return out
    }

    /// Checks `loadgen run` options with loadgen's own parser, so a bad rate fails at validate time.
    static func checkLoadgenOptions(_ options: [(String, String)], at: SourceLocation, path: String, context: ReadContext) {
        var args: [String] = []
        for (k, v) in options {
            let flag = "--" + k.replacingOccurrences(of: "_", with: "-")
            if v == "true" { args.append(flag) } else if v == "false" { continue } else {
                for part in v.split(separator: "\n", omittingEmptySubsequences: false) { args += [flag, String(part)] }
            }
        }
        do { _ = try RunCommand.parse(args) } catch {
            let message = RunCommand.message(for: error)
            context.diags.add(at, path, "loadgen rejects these options: \(message)")
        }
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
            context.diags.add(at, path, "expected a plain file name (it goes into the run folder's rendered/), found '\(name)'")
        }
    }

    /// Whether `s` is an IPv4 or IPv6 address.
    static func isIPAddress(_ s: String) -> Bool {
        var buf = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, s, &buf) == 1 || inet_pton(AF_INET6, s, &buf) == 1
    }

    /// `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]` (Compose's short form; an empty HOST_PORT is any free port).
    static func parsePortMapping(_ text: String) -> Result<PortMapping, ProcessError> {
        func bad(_ why: String) -> Result<PortMapping, ProcessError> {
            .failure(ProcessError(description: "\(why) in port '\(text)' (expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp], e.g. 127.0.0.1:8080:80)"))
        }
        var body = Substring(text)
        var proto = "tcp"
        if let slash = body.lastIndex(of: "/") {
            proto = String(body[body.index(after: slash)...])
            body = body[..<slash]
            guard proto == "tcp" || proto == "udp" else { return bad("protocol '\(proto)' is not tcp or udp") }
        }
        var parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count) else { return bad("too many ':'") }
        func port(_ s: String, allowZero: Bool) -> Int? { Int(s).flatMap { (allowZero ? 0 : 1)...65535 ~= $0 ? $0 : nil } }
        guard let container = port(parts.removeLast(), allowZero: false) else { return bad("the container port is not a number from 1 to 65535") }
        var m = PortMapping(containerPort: container, proto: proto)
        m.hostPort = container
        if let hp = parts.popLast() {
            if hp.isEmpty { m.hostPort = 0 } else {
                guard let h = port(hp, allowZero: true) else { return bad("the host port '\(hp)' is not a number from 0 to 65535") }
                m.hostPort = h
            }
        }
        if let ip = parts.popLast() {
            guard isIPAddress(ip) else { return bad("'\(ip)' is not an IP address") }
            m.hostIP = ip
        }
        return .success(m)
    }

    /// 256m, 1g, 512k, 1048576 (bytes) → bytes.
    static func parseByteSize(_ text: String) -> Int64? {
        let t = text.trimmingSpaces.lowercased()
        let units: [(String, Int64)] = [("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30),
                                        ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v > 0 else { return nil }
            return Int64(v * Double(factor))
        }
        return Int64(t).flatMap { $0 > 0 ? $0 : nil }
    }

    static func parseCPUList(_ text: String) -> [Int]? {
        var out: [Int] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int(String($0).trimmingSpaces) }
            if bounds.count == 1, let a = bounds[0], a >= 0 { out.append(a) } else if bounds.count == 2, let a = bounds[0], let b = bounds[1], a >= 0, a <= b, b < 4096 {
                out += Array(a...b)
            } else {
                return nil
            }
        }
        return out.isEmpty ? nil : out
    }

    // MARK: Hooks

    static func onError(_ node: YNode?, path: String, context: ReadContext) -> OnError {
        var e = OnError()
        guard let node, let o = ObjectReader(node, path: path, keys: SuiteKeys.onError, context: context, what: "on_error") else { return e }
        if let n = o.int("retries", range: 0...1000) { e.retries = n }
        if let n = o.duration("retry_delay") { e.retryDelayNanos = n }
        if let b = o.bool("continue") { e.continueOnError = b }
        return e
    }

    static func phaseHooks(_ node: YNode, path: String, context: ReadContext) -> PhaseHooks {
        var h = PhaseHooks()
        guard let o = ObjectReader(node, path: path, keys: SuiteKeys.phaseHooks, context: context, what: "hooks (pre/post)") else { return h }
        if let pre = o.value("pre") { h.pre = hookList(pre, path: "\(path).pre", context: context) }
        if let post = o.value("post") { h.post = hookList(post, path: "\(path).post", context: context) }
        return h
    }

    /// `hooks: {run: {pre, post}}` (suite and test level).
    static func runHooks(_ node: YNode, path: String, context: ReadContext) -> PhaseHooks {
        guard let o = ObjectReader(node, path: path, keys: [KeySpec("run", "mapping", "{pre, post}")], context: context, what: "hooks"),
              let run = o.value("run") else { return PhaseHooks() }
        return phaseHooks(run, path: "\(path).run", context: context)
    }

    static func hookList(_ node: YNode, path: String, context: ReadContext) -> [Hook] {
        guard case .list(let items, _) = node else {
            context.diags.add(node.location, path, "expected a list of hooks, found \(node.kind)")
            return []
        }
        var out: [Hook] = []
        for (i, item) in items.enumerated() {
            let p = "\(path)[\(i)]"
            guard let (kind, options, loc) = ObjectReader.choose(item, path: p, kinds: SuiteKeys.hooks.keys.sorted(), what: "hook", context: context) else { continue }
            let hp = "\(p).\(kind)"
            guard let o = ObjectReader(options, path: hp, keys: SuiteKeys.hooks[kind]! + SuiteKeys.hookCommon, context: context, what: "\(kind) hook") else { continue }
            let errors = onError(o.value("on_error"), path: "\(hp).on_error", context: context)
            let hookKind: Hook.Kind
            switch kind {
            case "run_command":
                let shell = o.bool("shell") ?? false
                let command = o.stringList("command", single: true) ?? []
                if shell && command.count != 1 { context.diags.add(o.location("command"), "\(hp).command", "with shell: true, the command is one string") }
                hookKind = .runCommand(command: command, environment: o.stringMap("environment") ?? [], timeoutNanos: o.duration("timeout") ?? 60_000_000_000, shell: shell)
            case "send_http_request":
                let url = o.string("url") ?? ""
                checkURL(url, at: o.location("url"), path: "\(hp).url", context: context)
                hookKind = .sendHTTPRequest(method: (o.string("method") ?? "GET").uppercased(), url: url, body: o.string("body"),
                                            headers: o.stringMap("headers") ?? [], expectStatus: o.int("expect_status", range: 100...599))
            case "ready_check_http":
                hookKind = .readyCheckHTTP(readyCheck(o, context: context))
            case "record_event":
                hookKind = .recordEvent(name: o.string("name") ?? "", attributes: o.stringMap("attributes") ?? [])
            case "render_template":
                let source = o.string("source") ?? "", destination = o.string("destination") ?? ""
                checkTemplateFile(source, at: o.location("source"), path: "\(hp).source", context: context)
                checkFileName(destination, at: o.location("destination"), path: "\(hp).destination", context: context)
                hookKind = .renderTemplate(source: source, destination: destination, variables: extraVariables(o, "variables", context))
            default:
                hookKind = .raiseError(message: o.string("message") ?? "raised by the suite")
            }
            out.append(Hook(kind: hookKind, name: kind, location: loc, onError: errors))
        }
        return out
    }

    static func readyCheck(_ o: ObjectReader, context: ReadContext) -> ReadyCheck {
        var r = ReadyCheck(url: o.string("url") ?? "")
        checkURL(r.url, at: o.location("url"), path: o.sub("url"), context: context)
        if let s = o.int("status", range: 100...599) { r.status = s }
        r.bodyContains = o.string("body_contains")
        r.jsonField = o.string("json_field")
        r.jsonValue = o.string("json_value")
        if r.jsonValue != nil && r.jsonField == nil { context.diags.add(o.location("json_value"), o.sub("json_value"), "json_value needs json_field") }
        if let t = o.duration("timeout", allowZero: false) { r.timeoutNanos = t }
        if let t = o.duration("interval", allowZero: false) { r.intervalNanos = t }
        return r
    }

    static func checkURL(_ url: String, at: SourceLocation, path: String, context: ReadContext) {
        if url.isEmpty { return }
        guard HTTPURL(url) != nil else {
            context.diags.add(at, path, "expected an http:// URL such as http://127.0.0.1:8081/healthz, found '\(url)'")
            return
        }
    }

    // MARK: Tests

    static func tests(_ node: YNode, path: String, suite: Suite, context: ReadContext) -> [TestCase] {
        let expanded = expandTemplate(node, path: path, listKey: "steps", context: context)
        if expanded == nil, case .map(let pairs, _) = node, pairs.contains(where: { $0.key == "from_template" }) { return [] }  // reported
        let node = expanded ?? node
        guard let r = ObjectReader(node, path: path, keys: SuiteKeys.test, context: context, what: "test") else { return [] }
        guard let name = r.string("name") else { return [] }
        var combos: [[(String, String)]] = [[]]
        if let m = r.value("matrix") {
            if case .map(let pairs, _) = m, !pairs.isEmpty {
                for p in pairs {
                    guard case .list(let values, _) = p.value, !values.isEmpty else {
                        context.diags.add(p.value.location, "\(path).matrix.\(p.key)", "expected a non-empty list of values, found \(p.value.kind)")
                        continue
                    }
                    let texts = values.enumerated().compactMap { r.scalar($0.element, path: "\(path).matrix.\(p.key)[\($0.offset)]") }
                    combos = combos.flatMap { c in texts.map { c + [(p.key, $0)] } }
                }
            } else {
                context.diags.add(m.location, "\(path).matrix", "expected a mapping of variable names to lists of values")
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
                if combo.isEmpty || out.isEmpty { context.diags.add(r.node.location, path, "a test has either `steps` or `flow`, not \(hasSteps ? "both" : "neither")") }
            } else if let s = r.value("steps") {
                steps = stepList(s, path: "\(path).steps", context: context)
            } else if let f = r.value("flow") {
                steps = flowSteps(f, path: "\(path).flow", suite: suite, context: context)
            }
            let hooks = r.value("hooks").map { runHooks($0, path: "\(path).hooks", context: context) } ?? PhaseHooks()
            let assertions = r.stringList("assert", single: true) ?? []
            for (k, a) in assertions.enumerated() {
                let check = ReportBuilder.evaluate(a, in: [:])
                if check.message.hasPrefix("cannot read") {
                    context.diags.add(r.location("assert"), "\(path).assert[\(k)]", "expected PATH OP NUMBER (OP one of < <= > >= == !=), e.g. dropped_pct < 0.1; found '\(a)'")
                }
            }
            out.append(TestCase(name: fullName, location: r.node.location, steps: steps, hooks: hooks, matrix: combo, assertions: assertions))
            if combos.count > 1 && !context.diags.isEmpty { break }  // one expansion's errors are enough
        }
        return out
    }

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
            guard let o = ObjectReader(item, path: p, keys: SuiteKeys.step, context: context, what: "step") else { continue }
            let name = o.string("name") ?? "step \(i + 1)"
            guard let a = o.value("action"),
                  let (kind, options, _) = ObjectReader.choose(a, path: "\(p).action", kinds: SuiteKeys.actions.keys.sorted(), what: "action", context: context),
                  let ao = ObjectReader(options, path: "\(p).action.\(kind)", keys: SuiteKeys.actions[kind]!, context: context, what: "\(kind) action") else { continue }
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
                action = .updateComponentStrategy(target: ao.string("target") ?? "", options: opts)
            case "record_event":
                action = .recordEvent(name: ao.string("name") ?? "", attributes: ao.stringMap("attributes") ?? [])
            default:
                action = .noOp
            }
            let hooks = o.value("hooks").map { phaseHooks($0, path: "\(p).hooks", context: context) } ?? PhaseHooks()
            out.append(Step(name: name, location: item.location, action: action, hooks: hooks,
                            onError: onError(o.value("on_error"), path: "\(p).on_error", context: context)))
        }
        return out
    }

    /// When `node` is a mapping with `from_template: {path, variables}`: the template rendered (strictly)
    /// with the suite's variables plus its own, parsed as YAML. A rendered mapping is merged with the
    /// node's other keys (those win); a rendered list is returned as is, or under `listKey` merged with
    /// the node's other keys. nil when there is no from_template (or it failed: the problem is recorded).
    static func expandTemplate(_ node: YNode, path: String, listKey: String?, context: ReadContext) -> YNode? {
        guard case .map(let pairs, let loc) = node, let ref = pairs.first(where: { $0.key == "from_template" }) else { return nil }
        let p = "\(path).from_template"
        guard let o = ObjectReader(ref.value, path: p, keys: SuiteKeys.templateReference, context: context, what: "from_template"),
              let file = o.string("path") else { return nil }
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
            context.diags.add(o.location("path"), p, "the rendered template \(full) is \(tree.kind), not a mapping or a list")
            return nil
        }
    }

    static func phase(_ o: ObjectReader, _ context: ReadContext) -> ComponentPhase? {
        guard let s = o.string("phase") else { return nil }
        guard let p = ComponentPhase(rawValue: s) else {
            let names = ComponentPhase.allCases.map(\.rawValue)
            context.diags.add(o.location("phase"), o.sub("phase"), "unknown phase '\(s)'\(didYouMean(s, among: names)); phases: \(names.joined(separator: ", "))")
            return nil
        }
        return p
    }

    /// The standard flow, as steps.
    static func flowSteps(_ node: YNode, path: String, suite: Suite, context: ReadContext) -> [Step] {
        guard let o = ObjectReader(node, path: path, keys: SuiteKeys.flow, context: context, what: "flow") else { return [] }
        let load = o.string("load") ?? ""
        let targets = o.stringList("components") ?? suite.components.map(\.name)
        let warmup = o.duration("warmup") ?? 0
        let observe = o.duration("observe", allowZero: false) ?? 0
        let drain = o.duration("drain") ?? 0
        let at = node.location
        func step(_ name: String, _ action: Action, pre: [Hook] = [], post: [Hook] = [], continueOnError: Bool = false) -> Step {
            var h = PhaseHooks()
            h.pre = pre
            h.post = post
            var e = OnError()
            e.continueOnError = continueOnError
            return Step(name: name, location: at, action: action, hooks: h, onError: e)
        }
        func event(_ name: String) -> Hook { Hook(kind: .recordEvent(name: name, attributes: []), name: "record_event", location: at, onError: OnError()) }
        return [
            step("deploy", .multiComponentAction(phase: .deploy, targets: targets)),
            step("start monitoring", .multiComponentAction(phase: .startMonitoring, targets: targets)),
            step("start load", .componentAction(target: load, phase: .start)),
            step("warm up", .wait(nanos: warmup)),
            step("observe", .wait(nanos: observe), pre: [event("observation_start")], post: [event("observation_stop")]),
            step("stop load", .componentAction(target: load, phase: .stop)),
            step("drain", .wait(nanos: drain)),
            step("stop monitoring", .multiComponentAction(phase: .stopMonitoring, targets: targets), continueOnError: true),
            step("destroy", .multiComponentAction(phase: .destroy, targets: targets.reversed()), continueOnError: true),
        ]
    }

    // MARK: Cross-checks

    static func crossCheck(_ suite: Suite, root: YNode, context: ReadContext) {
        let names = suite.components.map(\.name)
        func check(_ target: String, _ loc: SourceLocation, _ path: String) {
            if !names.contains(target) {
                context.diags.add(loc, path, "no component '\(target)'\(didYouMean(target, among: names)); components: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
            }
        }
        var testNames = Set<String>()
        for t in suite.tests {
            func at(_ s: Step) -> String { "test '\(t.name)', step '\(s.name)'" }
            if !testNames.insert(t.name).inserted { context.diags.add(t.location, "tests", "duplicate test name '\(t.name)'") }
            for s in t.steps {
                switch s.action {
                case .componentAction(let target, _): check(target, s.location, at(s))
                case .multiComponentAction(_, let targets): for target in targets ?? [] { check(target, s.location, at(s)) }
                case .updateComponentStrategy(let target, let opts):
                    check(target, s.location, at(s))
                    if let c = suite.component(target) {
                        if case .loadgen(let l)? = c.execution {
                            var merged = l.options.filter { o in !opts.contains { $0.0 == o.0 } }
                            merged += opts
                            checkLoadgenOptions(merged, at: s.location, path: "\(at(s)): options", context: context)
                        } else {
                            context.diags.add(s.location, at(s), "component '\(target)' has no loadgen execution to update")
                        }
                    }
                default: break
                }
            }
            // The flow's load component must have an execution.
            for s in t.steps {
                if case .componentAction(let target, .start) = s.action, let c = suite.component(target), c.execution == nil {
                    context.diags.add(s.location, at(s), "component '\(target)' has no execution strategy to start")
                }
            }
        }
        // Ports used twice by listen addresses in process commands.
        var ports: [Int: String] = [:]
        for c in suite.components {
            if case .docker(let d) = c.deployment {
                for m in d.ports where m.hostPort != 0 {
                    let key = m.hostPort * (m.proto == "udp" ? -1 : 1)
                    if let other = ports[key] {
                        context.diags.add(c.location, "components.\(c.name).deployment.docker.ports", "host port \(m.hostPort) is also used by \(other)")
                    }
                    ports[key] = "\(c.name) (published port)"
                }
            }
            guard case .process(let p) = c.deployment else { continue }
            for (i, arg) in p.command.enumerated() where i > 0 {
                let prev = p.command[i - 1]
                guard prev.hasPrefix("--"), ["--grpc", "--http", "--admin", "--syslog-tcp", "--syslog-udp"].contains(prev),
                      case .success(let e) = Endpoint.parse(arg), e.port != 0 else { continue }
                let key = Int(e.port) * (prev == "--syslog-udp" ? -1 : 1)
                if let other = ports[key] {
                    context.diags.add(c.location, "components.\(c.name).deployment.process.command", "port \(e.port) is also used by \(other)")
                }
                ports[key] = "\(c.name) (\(prev))"
            }
        }
    }
}

/// A parsed http:// URL.
public struct HTTPURL: Sendable {
    public var host: String
    public var port: Int
    public var path: String

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    public init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard case .success(let e) = Endpoint.parse(authority.contains(":") ? authority : authority + ":80") else { return nil }
        host = e.host
        port = Int(e.port)
    }
}
