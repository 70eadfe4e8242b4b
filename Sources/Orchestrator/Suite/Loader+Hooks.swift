// Hooks (Registry.hooks) at suite, test, step and component-phase level, their error policies, and
// the HTTP readiness probe that the `ready` key and the `ready_check_http` hook share.

import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

extension SuiteLoader {
    // MARK: Hooks

    static func onError(_ node: YNode?, path: String, context: ReadContext) -> OnError {
        var e = OnError()
        guard let node,
            let o = ObjectReader(node, path: path, keys: SuiteKeys.onError, context: context, what: "on_error")
        else { return e }
        if let n = o.int("retries", range: 0...1000) { e.retries = n }
        if let n = o.duration("retry_delay") { e.retryDelayNanos = n }
        if let b = o.bool("continue") { e.continueOnError = b }
        return e
    }

    static func phaseHooks(_ node: YNode, path: String, context: ReadContext) -> PhaseHooks {
        var h = PhaseHooks()
        guard
            let o = ObjectReader(
                node, path: path, keys: SuiteKeys.phaseHooks, context: context, what: "hooks (pre/post)")
        else { return h }
        if let pre = o.value("pre") { h.pre = hookList(pre, path: "\(path).pre", context: context) }
        if let post = o.value("post") { h.post = hookList(post, path: "\(path).post", context: context) }
        return h
    }

    /// `hooks: {run: {pre, post}}` (suite and test level).
    static func runHooks(_ node: YNode, path: String, context: ReadContext) -> PhaseHooks {
        guard
            let o = ObjectReader(
                node, path: path, keys: [KeySpec("run", "mapping", "{pre, post}")], context: context, what: "hooks"),
            let run = o.value("run")
        else { return PhaseHooks() }
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
            guard
                let (kind, options, loc) = ObjectReader.choose(
                    item, path: p, kinds: Registry.hooks.map(\.name), what: "hook", context: context)
            else { continue }
            let hp = "\(p).\(kind)"
            guard
                let o = ObjectReader(
                    options, path: hp, keys: (Registry.hookKeys(kind) ?? []) + SuiteKeys.hookCommon, context: context,
                    what: "\(kind) hook")
            else { continue }
            let errors = onError(o.value("on_error"), path: "\(hp).on_error", context: context)
            let hookKind: Hook.Kind
            switch kind {
            case "run_command":
                let shell = o.bool("shell") ?? false
                let command = o.stringList("command", single: true) ?? []
                if shell && command.count != 1 {
                    context.diags.add(
                        o.location("command"), "\(hp).command", "with shell: true, the command is one string")
                }
                hookKind = .runCommand(
                    command: command, environment: o.stringMap("environment") ?? [],
                    timeoutNanos: o.duration("timeout") ?? 60_000_000_000, shell: shell)
            case "send_http_request":
                let url = o.string("url") ?? ""
                checkURL(url, at: o.location("url"), path: "\(hp).url", context: context)
                hookKind = .sendHTTPRequest(
                    method: (o.string("method") ?? "GET").uppercased(), url: url, body: o.string("body"),
                    headers: o.stringMap("headers") ?? [], expectStatus: o.int("expect_status", range: 100...599))
            case "ready_check_http":
                hookKind = .readyCheckHTTP(readyCheck(o, context: context))
            case "record_event":
                hookKind = .recordEvent(name: o.string("name") ?? "", attributes: o.stringMap("attributes") ?? [])
            case "render_template":
                let source = o.string("source") ?? "", destination = o.string("destination") ?? ""
                checkTemplateFile(source, at: o.location("source"), path: "\(hp).source", context: context)
                checkFileName(destination, at: o.location("destination"), path: "\(hp).destination", context: context)
                hookKind = .renderTemplate(
                    source: source, destination: destination, variables: extraVariables(o, "variables", context))
            case "raise_error":
                hookKind = .raiseError(message: o.string("message") ?? "raised by the suite")
            default:
                // `choose` accepted only Registry.hooks; a hook listed there but not read here is a bug.
                context.diags.add(loc, hp, "internal error: the hook '\(kind)' has no reader")
                continue
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
        if r.jsonValue != nil && r.jsonField == nil {
            context.diags.add(o.location("json_value"), o.sub("json_value"), "json_value needs json_field")
        }
        if let t = o.duration("timeout", allowZero: false) { r.timeoutNanos = t }
        if let t = o.duration("interval", allowZero: false) { r.intervalNanos = t }
        return r
    }
}
