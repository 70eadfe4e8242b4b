// The `docker` deployment at run time, through the Engine API: images built (unless --docker.no-build)
// or checked, networks created when absent, a stale container of the same name left by a pipeperf run
// removed, the container created with the run's labels, started, waited for (running, then healthy when
// it has a health command, then still running after the startup check); on destroy: stopped (SIGTERM,
// then SIGKILL after the grace), its logs saved into the run folder, removed. `pipeperf gc` removes
// what runs that are no longer alive left behind.

import PipeperfBase
import AdminHTTP
import FoundationEssentials


#if canImport(Glibc)
import Glibc
#endif

/// A container of the run.
struct RunContainer {
    var id: String
    var name: String
}

/// Labels that tie containers and networks to a run, and tell `pipeperf gc` whether that run is alive.
enum RunLabels {
    static let run = "pipeperf.run"
    static let component = "pipeperf.component"
    static let pid = "pipeperf.pid"
    static let pidStart = "pipeperf.pid_start"
    static let boot = "pipeperf.boot_id"

    /// This process's start time (clock ticks since boot; /proc/PID/stat field 22): with the pid and the
    /// boot id, it names this orchestrator uniquely even after pids wrap around.
    static func startTime(of pid: Int32) -> String? {
        guard let fields = Procfs.statFields(pid), fields.count > 19 else { return nil }
        return String(fields[19])
    }

    static var bootID: String { (Procfs.read("/proc/sys/kernel/random/boot_id") ?? "").trimmingSpaces }

    static func forThisProcess(run: String) -> [(String, String)] {
        [(RunLabels.run, run), (pid, String(getpid())), (pidStart, startTime(of: getpid()) ?? ""), (boot, bootID)]
    }

    /// Whether the orchestrator that labelled something is still running.
    static func isAlive(_ labels: [String: JSON]) -> Bool {
        guard let p = labels[pid]?.string.flatMap({ Int32($0) }), let start = labels[pidStart]?.string, labels[boot]?.string == bootID else {
            return false
        }
        return startTime(of: p) == start
    }
}

/// Containers of the run that exist right now (removed at once on a second signal).
enum DockerLive {
    nonisolated(unsafe) static var containers: [String] = []
    nonisolated(unsafe) static var engine: DockerEngine? = nil

    static func removeAll() {
        guard let engine else { return }
        for id in containers { _ = try? engine.request("DELETE", "/containers/\(id)?force=true&v=true", timeoutNanos: 10_000_000_000) }
        containers.removeAll()
    }
}

extension Runner {
    /// The run's identity on the engine: results/<suite>/<timestamp>.
    var runID: String {
        let parts = folder.path.split(separator: "/")
        return parts.suffix(2).joined(separator: "/")
    }

    func dockerEngine() throws -> DockerEngine {
        if let e = DockerLive.engine { return e }
        let e = try DockerEngine()
        try e.ping()
        DockerLive.engine = e
        if let left = try? DockerGC.leftovers(e), !left.isEmpty {
            log("pipeperf: \(left.count) container(s) or network(s) left by pipeperf runs that are no longer alive (\(left.map(\.name).joined(separator: ", "))); `pipeperf gc` removes them")
        }
        return e
    }

    func containerName(_ c: Component, _ d: DockerDeployment) -> String {
        d.name ?? "pipeperf-\(safeName(suite.name))-\(c.name)"
    }

    /// The image to run: built or checked.
    func dockerImage(_ c: Component, _ d: DockerDeployment, _ engine: DockerEngine) throws -> String {
        let image = d.image ?? "pipeperf-suite/\(safeName(suite.name).lowercased())-\(c.name.lowercased()):latest"
        if !dockerNoBuild && !builtImages.contains(image) {
            if let b = d.build {
                log("pipeperf: building \(image) from \(b.context)")
                var tar = TarWriter()
                try tar.addTree(b.context)
                let output = try engine.build(tag: image, context: tar.finish(), dockerfile: b.dockerfile, args: b.args, target: b.target,
                                              labels: [(RunLabels.component, c.name)])
                try? folder.write("logs/\(c.name).build", output)
                events.record("image_built", component: c.name, [("image", image)])
                builtImages.insert(image)
            } else if let role = PipeperfImages.role(of: image) {
                let built = try PipeperfImages.build(engine: engine, roles: [role], log: { [self] in if debug { log($0) } })
                events.record("image_built", component: c.name, [("image", image), ("bytes", String(built.first?.1 ?? 0))])
                builtImages.insert(image)
            }
        }
        guard try engine.imageSize(image) != nil else {
            if PipeperfImages.role(of: image) != nil {
                throw RunFailure(description: "component '\(c.name)': the engine has no image \(image): build pipeperf's images with scripts/build-images (or run without --docker.no-build)")
            }
            if d.build != nil {
                throw RunFailure(description: "component '\(c.name)': the engine has no image \(image) (it is built from build.context; run without --docker.no-build)")
            }
            throw RunFailure(description: "component '\(c.name)': the engine has no image \(image), and pipeperf does not pull images: load it first (docker load -i FILE, or docker pull where a registry is reachable)")
        }
        return image
    }

    /// Creates the network unless it exists; remembers it when this run created it.
    func dockerNetwork(_ name: String, _ engine: DockerEngine) throws {
        let r = try engine.request("GET", "/networks/\(queryEscape(name))")
        if r.status == 200 { return }
        guard r.status == 404 else { throw DockerError("inspecting network \(name): \(r.message)", status: r.status) }
        var labels: [String: JSON] = [:]
        for (k, v) in RunLabels.forThisProcess(run: runID) { labels[k] = .string(v) }
        let body = JSON.object(["Name": .string(name), "CheckDuplicate": .bool(true), "Driver": .string("bridge"), "Labels": .object(labels)])
        let created = try engine.expect("POST", "/networks/create", body: body, what: "creating network \(name)")
        createdNetworks.append(created.json?["Id"]?.string ?? name)
        events.record("network_created", [("network", name)])
    }

    func deployDocker(_ c: Component, _ d: DockerDeployment) throws {
        if containers[c.name] != nil { throw RunFailure(description: "component '\(c.name)' is already deployed") }
        let engine = try dockerEngine()
        let image = try dockerImage(c, d, engine)
        if let n = d.network { try dockerNetwork(n, engine) }
        let name = containerName(c, d)
        // A container of that name: removed when a pipeperf run left it, an error otherwise.
        let old = try engine.request("GET", "/containers/\(queryEscape(name))/json")
        if old.status == 200 {
            let labels = old.json?["Config"]?["Labels"]?.object ?? [:]
            guard labels[RunLabels.run] != nil else {
                throw RunFailure(description: "component '\(c.name)': a container named \(name) exists and was not made by pipeperf; remove it or set `name:`")
            }
            if RunLabels.isAlive(labels), labels[RunLabels.run]?.string != runID {
                throw RunFailure(description: "component '\(c.name)': container \(name) belongs to a pipeperf run still in progress (\(labels[RunLabels.run]?.string ?? "")); set `name:` to run both")
            }
            try engine.expect("DELETE", "/containers/\(queryEscape(name))?force=true&v=true", accept: [404], what: "removing the stale container \(name)")
            events.record("stale_container_removed", component: c.name, [("container", name)])
        }
        let body = try containerSpec(c, d, image: image, name: name)
        let created = try engine.expect("POST", "/containers/create?name=\(queryEscape(name))", body: body, what: "component '\(c.name)': creating container \(name)")
        guard let id = created.json?["Id"]?.string else { throw RunFailure(description: "component '\(c.name)': the engine created no container id") }
        containers[c.name] = RunContainer(id: id, name: name)
        DockerLive.containers.append(id)
        do {
            try engine.expect("POST", "/containers/\(id)/start", what: "component '\(c.name)': starting container \(name)")
        } catch {
            var why = error.description
            if why.contains("port is already allocated") || why.contains("address already in use") {
                let ports = d.ports.map { "\($0.hostIP):\($0.hostPort)/\($0.proto)" }.joined(separator: ", ")
                why = "component '\(c.name)': a published port is taken (\(ports)): \(error.description)"
            }
            removeContainer(c, grace: 0)
            throw RunFailure(description: why)
        }
        events.record("container_started", component: c.name, [("container", name), ("id", String(id.prefix(12))), ("image", image)])
        try waitUntilStarted(c, d, id: id, name: name, engine)
    }

    /// Waits for `running`, then `healthy` when there is a health command, then the startup check.
    func waitUntilStarted(_ c: Component, _ d: DockerDeployment, id: String, name: String, _ engine: DockerEngine) throws {
        let deadline = SystemClock.monotonicNanos() + d.startupTimeoutNanos
        var runningSince: UInt64? = nil
        while true {
            let r = try engine.expect("GET", "/containers/\(id)/json", what: "inspecting container \(name)")
            let state = r.json?["State"]
            let status = state?["Status"]?.string ?? "unknown"
            if status == "exited" || status == "dead" {
                let code = state?["ExitCode"]?.number.map { String(Int($0)) } ?? "?"
                let logs = (try? engine.request("GET", "/containers/\(id)/logs?stdout=1&stderr=1&tail=20")).map { demuxDockerLogs($0.body) }
                let last = logs.map { String(decoding: $0.stderr.isEmpty ? $0.stdout : $0.stderr, as: UTF8.self) } ?? ""
                let lines = last.split(separator: "\n").map { String($0).trimmingSpaces }
                let tail = lines.first { $0.hasPrefix("Error") } ?? lines.last ?? ""
                throw RunFailure(description: "component '\(c.name)': container \(name) exited right after start (exit code \(code))\(tail.isEmpty ? "" : ": \(tail)")")
            }
            let health = state?["Health"]?["Status"]?.string
            if health == "unhealthy" {
                let out = state?["Health"]?["Log"]?.array.last?["Output"]?.string?.trimmingSpaces ?? ""
                throw RunFailure(description: "component '\(c.name)': container \(name) is unhealthy\(out.isEmpty ? "" : ": \(out)")")
            }
            let now = SystemClock.monotonicNanos()
            if status == "running" {
                if runningSince == nil {
                    runningSince = now
                    events.record("container_running", component: c.name, [("pid", String(Int(state?["Pid"]?.number ?? 0)))])
                }
                if (health == nil || health == "healthy"), now - runningSince! >= d.startupCheckNanos {
                    if health == "healthy" { events.record("container_healthy", component: c.name) }
                    return
                }
            }
            if now >= deadline {
                throw RunFailure(description: "component '\(c.name)': container \(name) is \(status)\(health.map { ", \($0)" } ?? "") after \(formatFixed(Double(d.startupTimeoutNanos) / 1e9, 0)) s (startup_timeout)")
            }
            try sleep(50_000_000)
        }
    }

    /// The create body: image, command, environment, labels, ports, mounts, network, limits, health.
    func containerSpec(_ c: Component, _ d: DockerDeployment, image: String, name: String) throws -> JSON {
        var labels: [String: JSON] = [RunLabels.component: .string(c.name)]
        for (k, v) in RunLabels.forThisProcess(run: runID) { labels[k] = .string(v) }
        var config: [String: JSON] = ["Image": .string(image), "Labels": .object(labels), "Hostname": .string(c.name)]
        if let cmd = d.command { config["Cmd"] = .array(cmd.map { .string($0) }) }
        if let e = d.entrypoint { config["Entrypoint"] = .array(e.map { .string($0) }) }
        if !d.environment.isEmpty { config["Env"] = .array(d.environment.map { .string("\($0.0)=\($0.1)") }) }
        if let h = d.healthcheck {
            config["Healthcheck"] = h.isEmpty ? .object(["Test": .array([.string("NONE")])])
                : .object(["Test": .array([.string("CMD")] + h.map { .string($0) }), "Interval": .number(1e9), "Timeout": .number(3e9),
                           "Retries": .number(3), "StartPeriod": .number(5e9)])
        }
        var exposed: [String: JSON] = [:]
        var bindings: [String: JSON] = [:]
        for m in d.ports {
            let key = "\(m.containerPort)/\(m.proto)"
            exposed[key] = .object([:])
            var list = bindings[key]?.array ?? []
            list.append(.object(["HostIp": .string(m.hostIP), "HostPort": .string(m.hostPort == 0 ? "" : String(m.hostPort))]))
            bindings[key] = .array(list)
        }
        if !exposed.isEmpty { config["ExposedPorts"] = .object(exposed) }
        var host: [String: JSON] = ["PortBindings": .object(bindings)]
        var mounts: [JSON] = []
        for v in d.volumes {
            var source = v.source
            if v.rendered {
                source = folder.file("rendered/\(v.source)")
                guard access(source, R_OK) == 0 else {
                    throw RunFailure(description: "component '\(c.name)': rendered/\(v.source) does not exist in the run folder (render it with configuration: template: or a render_template hook first)")
                }
            }
            // The engine needs absolute host paths (a suite given by a relative path has relative ones).
            if v.isBind && !source.hasPrefix("/") { source = FileManager.default.currentDirectoryPath + "/" + source }
            mounts.append(.object(["Type": .string(v.isBind ? "bind" : "volume"), "Source": .string(source), "Target": .string(v.target),
                                   "ReadOnly": .bool(v.readOnly)]))
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
            config["NetworkingConfig"] = .object(["EndpointsConfig": .object([n: .object(["Aliases": .array([.string(c.name)])])])])
        }
        return .object(config)
    }

    /// Stops the container (SIGTERM, SIGKILL after `grace`), saves its logs, removes it.
    func removeContainer(_ c: Component, grace: UInt64) {
        guard let rc = containers.removeValue(forKey: c.name), let engine = DockerLive.engine else { return }
        if grace > 0 {
            let seconds = Swift.max(1, Int((Double(grace) / 1e9).rounded(.up)))
            _ = try? engine.request("POST", "/containers/\(rc.id)/stop?t=\(seconds)", timeoutNanos: UInt64(seconds + 30) * 1_000_000_000)
        }
        let inspect = try? engine.request("GET", "/containers/\(rc.id)/json")
        let exitCode = inspect?.json?["State"]?["ExitCode"]?.number.map { String(Int($0)) } ?? "?"
        if let logs = try? engine.request("GET", "/containers/\(rc.id)/logs?stdout=1&stderr=1", timeoutNanos: 30_000_000_000), logs.status == 200 {
            let (out, err) = demuxDockerLogs(logs.body)
            try? folder.write("logs/\(c.name).stdout", String(decoding: out, as: UTF8.self))
            try? folder.write("logs/\(c.name).stderr", String(decoding: err, as: UTF8.self))
        }
        let removed = try? engine.request("DELETE", "/containers/\(rc.id)?force=true&v=true", timeoutNanos: 30_000_000_000)
        DockerLive.containers.removeAll { $0 == rc.id }
        events.record("container_removed", component: c.name, [("container", rc.name), ("exit_code", exitCode),
                                                                ("status", String(removed?.status ?? 0))])
    }

    /// Networks this run created, removed at the end of the run.
    func removeCreatedNetworks() {
        guard let engine = DockerLive.engine else { return }
        for id in createdNetworks.reversed() {
            let r = try? engine.request("DELETE", "/networks/\(id)")
            events.record("network_removed", [("network", String(id.prefix(12))), ("status", String(r?.status ?? 0))])
        }
        createdNetworks.removeAll()
    }

    /// The host pid of the container's first process (for `process` monitoring of a container).
    func containerPid(_ name: String) -> Int32? {
        guard let rc = containers[name], let engine = DockerLive.engine,
              let r = try? engine.request("GET", "/containers/\(rc.id)/json"), let pid = r.json?["State"]?["Pid"]?.number, pid > 0 else { return nil }
        return Int32(pid)
    }
}

/// `pipeperf gc`: containers and networks labelled by pipeperf runs that are no longer alive.
public enum DockerGC {
    public struct Leftover: Sendable {
        public var kind: String
        public var id: String
        public var name: String
        public var run: String
    }

    public static func leftovers(_ engine: DockerEngine) throws(DockerError) -> [Leftover] {
        let filter = queryEscape("{\"label\":[\"\(RunLabels.run)\"]}")
        var out: [Leftover] = []
        let cs = try engine.expect("GET", "/containers/json?all=true&filters=\(filter)", what: "listing containers")
        for c in cs.json?.array ?? [] {
            let labels = c["Labels"]?.object ?? [:]
            if RunLabels.isAlive(labels) { continue }
            out.append(Leftover(kind: "container", id: c["Id"]?.string ?? "", name: (c["Names"]?.array.first?.string ?? "").trimmingPrefixSlash,
                                run: labels[RunLabels.run]?.string ?? ""))
        }
        let ns = try engine.expect("GET", "/networks?filters=\(filter)", what: "listing networks")
        for n in ns.json?.array ?? [] {
            let labels = n["Labels"]?.object ?? [:]
            if RunLabels.isAlive(labels) { continue }
            out.append(Leftover(kind: "network", id: n["Id"]?.string ?? "", name: n["Name"]?.string ?? "", run: labels[RunLabels.run]?.string ?? ""))
        }
        return out
    }

    /// Removes them (containers first); returns what could not be removed.
    public static func remove(_ items: [Leftover], _ engine: DockerEngine) -> [String] {
        var problems: [String] = []
        for i in items where i.kind == "container" {
            do { try engine.expect("DELETE", "/containers/\(i.id)?force=true&v=true", accept: [404], what: "removing container \(i.name)") } catch {
                problems.append(error.description)
            }
        }
        for i in items where i.kind == "network" {
            do { try engine.expect("DELETE", "/networks/\(i.id)", accept: [404], what: "removing network \(i.name)") } catch {
                problems.append(error.description)
            }
        }
        return problems
    }
}

extension String {
    fileprivate var trimmingPrefixSlash: String { hasPrefix("/") ? String(dropFirst()) : self }
}
