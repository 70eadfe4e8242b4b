// Deployment strategies at run time: `process` (a child in its own process group, the early-exit check,
// SIGTERM then SIGKILL to the group), `docker` (Docker/DockerRuntime.swift) and `external` (nothing to
// do); all with the ready probe after deploy, and the snapshot (read until it settles) and monitoring
// stop before destroy.

import PipeperfBase
import AdminHTTP
import FoundationEssentials


#if canImport(Glibc)
import Glibc
#endif

extension Runner {
    func deploy(_ c: Component) throws {
        if c.configuration != nil && rendered[c.name] == nil { try configure(c) }
        switch c.deployment {
        case .external: break
        case .docker(let d): try deployDocker(c, d)
        case .process(let p):
            if let old = processes[c.name], old.isRunning { throw RunFailure(description: "component '\(c.name)' is already deployed") }
            let proc: ChildProcess
            do {
                proc = try ChildProcess(command: p.command, environment: p.environment,
                                        directory: p.workingDirectory ?? folder.path, stdoutPath: folder.file("logs/\(c.name).stdout"),
                                        stderrPath: folder.file("logs/\(c.name).stderr"), cpus: p.cpus)
            } catch {
                throw RunFailure(description: "component '\(c.name)': \(error)")
            }
            processes[c.name] = proc
            events.record("process_started", component: c.name, [("pid", String(proc.pid)), ("command", p.command.joined(separator: " "))])
            // The early-exit check: a process that dies at once (bad flag, port taken) fails the deploy.
            let deadline = SystemClock.monotonicNanos() + p.startupCheckNanos
            while SystemClock.monotonicNanos() < deadline {
                if !proc.isRunning {
                    let err = (try? String(contentsOfFile: folder.file("logs/\(c.name).stderr"), encoding: .utf8)) ?? ""
                    throw RunFailure(description: "component '\(c.name)' exited right after start (\(proc.exitDescription)): \(err.split(separator: "\n").last ?? "")")
                }
                try sleep(Swift.min(20_000_000, deadline - SystemClock.monotonicNanos()))
            }
        }
        if let r = c.ready { try readyCheck(r, component: c.name) }
    }

    func destroy(_ c: Component) {
        if loadRunning.contains(c.name) { try? stopExecution(c) }
        if monitored.contains(c.name) { stopMonitoring(c) }
        if let s = c.snapshot, let url = HTTPURL(s), processes[c.name]?.isRunning ?? true {
            // Drain: read until the counts stop changing (at most 10 s), so what was still in flight
            // is counted rather than reported as lost.
            var last: HTTPResult? = nil
            let deadline = SystemClock.monotonicNanos() + 10_000_000_000
            while let r = try? HTTPClient.request("GET", url, timeoutNanos: 5_000_000_000) {
                if let l = last, receivedTotal(l.body) == receivedTotal(r.body) { break }
                last = r
                if SystemClock.monotonicNanos() > deadline { break }
                usleep(300_000)
            }
            if let r = last {
                try? folder.write("tests/\(safeName(events.test ?? "suite"))/\(c.name).snapshot", r.body)
                events.record("snapshot", component: c.name, [("url", s), ("status", String(r.status))])
            }
        }
        if let e = commandExecutions.removeValue(forKey: c.name) { e.stop(graceNanos: 2_000_000_000) }
        if case .docker(let d) = c.deployment { removeContainer(c, grace: d.stopGraceNanos) }
        guard let p = processes.removeValue(forKey: c.name) else { return }
        var grace: UInt64 = 5_000_000_000
        if case .process(let d) = c.deployment { grace = d.stopGraceNanos }
        p.stop(graceNanos: grace)
        events.record("process_stopped", component: c.name, [("pid", String(p.pid)), ("exit", p.exitDescription)])
    }
}
