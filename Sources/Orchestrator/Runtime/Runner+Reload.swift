// Mid-test reconfiguration: `update_component_strategy` with `variables` renders a component's
// configuration again with the new values (kept for the rest of the test), swaps in the component as
// read again with them (a changed command, cores or image), and, while it runs, makes it take the new
// file up as its `reload:` says — a signal to its process (nginx: SIGHUP), an HTTP
// request, or a restart (destroy, deploy, monitoring again). Each step is an event, so the report's
// timeline shows where the configuration changed.

import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

extension Runner {
    func reconfigure(_ target: String, _ variables: [(String, String)], reread: Component?) throws(PipeperfError) {
        guard let old = component(target), let i = components.firstIndex(where: { $0.name == target }) else {
            throw PipeperfError(.failed, "no component '\(target)'")
        }
        var current = run.configOverrides[target] ?? []
        current.removeAll { o in variables.contains { $0.0 == o.0 } }
        current += variables
        run.configOverrides[target] = current
        // The component as read with the new values: its next deploy (or start) uses them.
        let c = reread ?? old
        let moved = c.deploys(differently: old)
        components[i] = c
        if c.configuration != nil {
            try configure(c)
            events.record("configuration_updated", component: target, variables)
        }
        if moved { events.record("deployment_updated", component: target, variables) }
        guard let live = deployed[target] else { return }  // not running: the next deploy uses it
        if c.configuration == nil && !moved { return }  // the load's options: taken up at its next start
        guard let reload = c.reload, !moved || reload.restarts else {
            throw PipeperfError(
                .failed,
                moved
                    ? "component '\(target)': a new deployment needs `reload: {restart: true}`"
                    : "component '\(target)' has no `reload:` to take up its new configuration")
        }
        switch reload.how {
        case .signal(let sig, let name):
            guard let pid = live.rootPID, kill(pid, sig) == 0 else {
                throw PipeperfError(.failed, "component '\(target)': cannot send \(name) (no process of it here)")
            }
            events.record("reloaded", component: target, [("signal", name)])
        case .http(let method, let url):
            guard let u = HTTPURL(run.resolve(url)) else { throw PipeperfError(.failed, "bad reload URL \(url)") }
            let r = try HTTPClient.request(method, u, body: "")
            guard (200..<300).contains(r.status) else {
                throw PipeperfError(
                    .failed,
                    "component '\(target)': the reload request \(method) \(url) answered \(r.status): \(r.body)")
            }
            events.record("reloaded", component: target, [("url", url), ("status", String(r.status))])
        case .restart:
            let watched = monitored.contains(target)
            if watched { stopMonitoring(old) }
            destroy(old)
            try deploy(c)
            if watched { startMonitoring(c) }
            events.record("reloaded", component: target, [("restart", "true")])
        }
        try sleep(reload.settleNanos)
    }
}
