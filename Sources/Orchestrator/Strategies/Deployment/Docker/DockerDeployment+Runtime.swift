// The `docker` deployment at run time, through the Engine API: the image built (unless
// --docker.no-build) or checked, the network created when absent, a stale container of the same name
// left by a pipeperf run removed, the container created with the run's labels, started, waited for
// (running, then healthy when it has a health command, then still running after the startup check);
// on destroy: stopped (SIGTERM, then SIGKILL after the grace), its logs saved into the run folder,
// removed. A second signal force-removes it at once.

import AdminHTTP
import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

extension DockerDeployment {
    func containerName(_ c: Component, in run: RunContext) -> String {
        name ?? "pipeperf-\(safeName(run.suite.name))-\(c.name)"
    }

    func deploy(_ c: Component, in run: RunContext) throws(PipeperfError) -> any LiveDeployment {
        let session = try run.resource(DockerSession.self)
        let engine = session.engine
        let image = try session.image(for: c, self, in: run)
        if let n = network { try session.network(n, in: run) }
        let name = containerName(c, in: run)
        // A container of that name: removed when a pipeperf run left it, an error otherwise.
        let old = try engine.request("GET", "/containers/\(queryEscape(name))/json")
        if old.status == 200 {
            let labels = old.json?["Config"]?["Labels"]?.object ?? [:]
            guard labels[RunLabels.run] != nil else {
                throw PipeperfError(
                    .failed,
                    "component '\(c.name)': a container named \(name) exists and was not made by pipeperf; remove it or set `name:`"
                )
            }
            if RunLabels.isAlive(labels), labels[RunLabels.run]?.string != run.runID {
                throw PipeperfError(
                    .failed,
                    "component '\(c.name)': container \(name) belongs to a pipeperf run still in progress (\(labels[RunLabels.run]?.string ?? "")); set `name:` to run both"
                )
            }
            try engine.expect(
                "DELETE", "/containers/\(queryEscape(name))?force=true&v=true", accept: [404],
                what: "removing the stale container \(name)")
            run.events.record("stale_container_removed", component: c.name, [("container", name)])
        }
        let body = try containerSpec(c, image: image, name: name, in: run)
        let created = try engine.expect(
            "POST", "/containers/create?name=\(queryEscape(name))", body: body,
            what: "component '\(c.name)': creating container \(name)")
        guard let id = created.json?["Id"]?.string else {
            throw PipeperfError(.failed, "component '\(c.name)': the engine created no container id")
        }
        let live = LiveContainer(component: c.name, id: id, name: name, engine: engine, stopGraceNanos: stopGraceNanos)
        Interrupts.register(live)
        do {
            try engine.expect(
                "POST", "/containers/\(id)/start", what: "component '\(c.name)': starting container \(name)")
        } catch {
            var why = error.description
            if why.contains("port is already allocated") || why.contains("address already in use") {
                let ports = self.ports.map { "\($0.hostIP):\($0.hostPort)/\($0.proto)" }.joined(separator: ", ")
                why = "component '\(c.name)': a published port is taken (\(ports)): \(error.description)"
            }
            live.remove(grace: 0, in: run)
            throw PipeperfError(.failed, why, cause: error)
        }
        run.events.record(
            "container_started", component: c.name,
            [("container", name), ("id", String(id.prefix(12))), ("image", image)])
        do { try waitUntilStarted(c, id: id, name: name, engine, in: run) } catch {
            live.remove(grace: 0, in: run)
            throw error
        }
        return live
    }

    /// Waits for `running`, then `healthy` when there is a health command, then the startup check.
    func waitUntilStarted(
        _ c: Component, id: String, name: String, _ engine: DockerEngine, in run: RunContext
    ) throws(PipeperfError) {
        let deadline = SystemClock.monotonicNanos() + startupTimeoutNanos
        var runningSince: UInt64? = nil
        while true {
            let r = try engine.expect("GET", "/containers/\(id)/json", what: "inspecting container \(name)")
            let state = r.json?["State"]
            let status = state?["Status"]?.string ?? "unknown"
            if status == "exited" || status == "dead" {
                let code = state?["ExitCode"]?.number.map { String(Int($0)) } ?? "?"
                let logs = (try? engine.request("GET", "/containers/\(id)/logs?stdout=1&stderr=1&tail=20")).map {
                    demuxDockerLogs($0.body)
                }
                let last = logs.map { String(decoding: $0.stderr.isEmpty ? $0.stdout : $0.stderr, as: UTF8.self) } ?? ""
                let lines = last.split(separator: "\n").map { String($0).trimmingSpaces }
                let tail = lines.first { $0.hasPrefix("Error") } ?? lines.last ?? ""
                throw PipeperfError(
                    .failed,
                    "component '\(c.name)': container \(name) exited right after start (exit code \(code))\(tail.isEmpty ? "" : ": \(tail)")"
                )
            }
            let health = state?["Health"]?["Status"]?.string
            if health == "unhealthy" {
                let out = state?["Health"]?["Log"]?.array.last?["Output"]?.string?.trimmingSpaces ?? ""
                throw PipeperfError(
                    .failed, "component '\(c.name)': container \(name) is unhealthy\(out.isEmpty ? "" : ": \(out)")")
            }
            let now = SystemClock.monotonicNanos()
            if status == "running" {
                if runningSince == nil {
                    runningSince = now
                    run.events.record(
                        "container_running", component: c.name, [("pid", String(Int(state?["Pid"]?.number ?? 0)))])
                }
                if (health == nil || health == "healthy"), now - runningSince! >= startupCheckNanos {
                    if health == "healthy" { run.events.record("container_healthy", component: c.name) }
                    return
                }
            }
            if now >= deadline {
                throw PipeperfError(
                    .failed,
                    "component '\(c.name)': container \(name) is \(status)\(health.map { ", \($0)" } ?? "") after \(formatFixed(Double(startupTimeoutNanos) / 1e9, 0)) s (startup_timeout)"
                )
            }
            try run.sleep(50_000_000)
        }
    }

    /// The create body: image, command, environment, labels, ports, mounts, network, limits, health.
    func containerSpec(_ c: Component, image: String, name: String, in run: RunContext) throws(PipeperfError) -> JSON {
        let d = self
        var labels: [String: JSON] = [RunLabels.component: .string(c.name)]
        for (k, v) in RunLabels.forThisProcess(run: run.runID) { labels[k] = .string(v) }
        var config: [String: JSON] = ["Image": .string(image), "Labels": .object(labels), "Hostname": .string(c.name)]
        if let cmd = d.command { config["Cmd"] = .array(cmd.map { .string(run.resolve($0)) }) }
        if let e = d.entrypoint { config["Entrypoint"] = .array(e.map { .string(run.resolve($0)) }) }
        if !d.environment.isEmpty {
            config["Env"] = .array(d.environment.map { .string("\($0.0)=\(run.resolve($0.1))") })
        }
        if let h = d.healthcheck {
            config["Healthcheck"] =
                h.isEmpty
                ? .object(["Test": .array([.string("NONE")])])
                : .object([
                    "Test": .array([.string("CMD")] + h.map { .string($0) }), "Interval": .number(1e9),
                    "Timeout": .number(3e9),
                    "Retries": .number(3), "StartPeriod": .number(5e9),
                ])
        }
        var exposed: [String: JSON] = [:]
        var bindings: [String: JSON] = [:]
        for m in d.ports {
            let key = "\(m.containerPort)/\(m.proto)"
            exposed[key] = .object([:])
            var list = bindings[key]?.array ?? []
            list.append(
                .object(["HostIp": .string(m.hostIP), "HostPort": .string(m.hostPort == 0 ? "" : String(m.hostPort))]))
            bindings[key] = .array(list)
        }
        if !exposed.isEmpty { config["ExposedPorts"] = .object(exposed) }
        var host: [String: JSON] = ["PortBindings": .object(bindings)]
        var mounts: [JSON] = []
        for v in d.volumes {
            var source = v.source
            if v.rendered {
                source = run.folder.file("rendered/\(v.source)")
                guard access(source, R_OK) == 0 else {
                    throw PipeperfError(
                        .failed,
                        "component '\(c.name)': rendered/\(v.source) does not exist in the run folder (render it with configuration: template: or a render_template hook first)"
                    )
                }
            }
            // The engine needs absolute host paths (a suite given by a relative path has relative ones).
            if v.isBind && !source.hasPrefix("/") { source = FileManager.default.currentDirectoryPath + "/" + source }
            mounts.append(
                .object([
                    "Type": .string(v.isBind ? "bind" : "volume"), "Source": .string(source),
                    "Target": .string(v.target),
                    "ReadOnly": .bool(v.readOnly),
                ]))
        }
        if !mounts.isEmpty { host["Mounts"] = .array(mounts) }
        if let n = d.network { host["NetworkMode"] = .string(n) }
        if let s = d.cpuset { host["CpusetCpus"] = .string(s) }
        if let cpus = d.cpus { host["NanoCpus"] = .number((cpus * 1e9).rounded()) }
        if let m = d.memoryBytes {
            host["Memory"] = .number(Double(m))
            host["MemorySwap"] = .number(Double(m))  // no swap beyond the limit
        }
        config["HostConfig"] = .object(host)
        if let n = d.network {
            config["NetworkingConfig"] = .object([
                "EndpointsConfig": .object([n: .object(["Aliases": .array([.string(c.name)])])])
            ])
        }
        return .object(config)
    }

}

/// A container of the run.
final class LiveContainer: LiveDeployment, @unchecked Sendable {
    let component: String
    let id: String
    let name: String
    let engine: DockerEngine
    let stopGraceNanos: UInt64

    init(component: String, id: String, name: String, engine: DockerEngine, stopGraceNanos: UInt64) {
        self.component = component
        self.id = id
        self.name = name
        self.engine = engine
        self.stopGraceNanos = stopGraceNanos
    }

    /// The host pid of the container's first process (for `process` monitoring of a container).
    var rootPID: Int32? {
        guard let r = try? engine.request("GET", "/containers/\(id)/json"), let pid = r.json?["State"]?["Pid"]?.number,
            pid > 0
        else { return nil }
        return Int32(pid)
    }

    var exited: String? {
        guard let r = try? engine.request("GET", "/containers/\(id)/json"), let state = r.json?["State"] else {
            return nil
        }
        let status = state["Status"]?.string ?? "unknown"
        guard status == "exited" || status == "dead" else { return nil }
        return "container \(status), exit code \(state["ExitCode"]?.number.map { String(Int($0)) } ?? "?")"
    }

    /// Stops the container (SIGTERM, SIGKILL after `grace`), saves its logs, removes it.
    func destroy(in run: RunContext) {
        remove(grace: stopGraceNanos, in: run)
    }

    func remove(grace: UInt64, in run: RunContext) {
        defer { Interrupts.unregister(self) }
        if grace > 0 {
            let seconds = Swift.max(1, Int((Double(grace) / 1e9).rounded(.up)))
            _ = try? engine.request(
                "POST", "/containers/\(id)/stop?t=\(seconds)", timeoutNanos: UInt64(seconds + 30) * 1_000_000_000)
        }
        let inspect = try? engine.request("GET", "/containers/\(id)/json")
        let exitCode = inspect?.json?["State"]?["ExitCode"]?.number.map { String(Int($0)) } ?? "?"
        if let logs = try? engine.request(
            "GET", "/containers/\(id)/logs?stdout=1&stderr=1", timeoutNanos: 30_000_000_000), logs.status == 200
        {
            let (out, err) = demuxDockerLogs(logs.body)
            run.keep("logs/\(component).stdout", String(decoding: out, as: UTF8.self))
            run.keep("logs/\(component).stderr", String(decoding: err, as: UTF8.self))
        }
        let removed = try? engine.request("DELETE", "/containers/\(id)?force=true&v=true", timeoutNanos: 30_000_000_000)
        run.events.record(
            "container_removed", component: component,
            [
                ("container", name), ("exit_code", exitCode),
                ("status", String(removed?.status ?? 0)),
            ])
    }

    func killNow() {
        _ = try? engine.request("DELETE", "/containers/\(id)?force=true&v=true", timeoutNanos: 10_000_000_000)
    }
}
