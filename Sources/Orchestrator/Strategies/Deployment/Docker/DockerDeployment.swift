// `deployment: docker:` — a container through the Docker Engine API: its options, keys and reader. The
// runtime is DockerDeployment+Runtime.swift; the engine session the run's containers share is
// DockerSession.swift.

import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

/// `deployment: docker:` — a container through the Docker Engine API.
struct DockerDeployment: DeploymentStrategy {
    var image: String? = nil
    var build: DockerBuildSpec? = nil
    var command: [String]? = nil
    var entrypoint: [String]? = nil
    var environment: [(String, String)] = []
    var ports: [PortMapping] = []
    var volumes: [VolumeMount] = []
    var network: String? = nil
    var cpuset: String? = nil
    var cpus: Double? = nil
    var memoryBytes: Int64? = nil
    /// The container's name (default pipeperf-<suite>-<component>).
    var name: String? = nil
    /// Replaces the image's health command; `[]` turns it off.
    var healthcheck: [String]? = nil
    var startupTimeoutNanos: UInt64 = 60_000_000_000
    var startupCheckNanos: UInt64 = 500_000_000
    var stopGraceNanos: UInt64 = 5_000_000_000
}

struct DockerBuildSpec: Sendable {
    /// Absolute path of the context folder.
    var context: String
    var dockerfile = "Dockerfile"
    var args: [(String, String)] = []
    var target: String? = nil
}

/// A published port: container port/protocol on the host's address and port (0: any free port).
struct PortMapping: Sendable, Equatable {
    var hostIP = "127.0.0.1"
    var hostPort = 0
    var containerPort: Int
    var proto = "tcp"
}

/// A bind mount (absolute host path) or a named volume.
struct VolumeMount: Sendable, Equatable {
    var source: String
    var target: String
    var readOnly = false
    var isBind = true
    /// A file of the run folder's rendered/ (the source is the file's name): always read-only.
    var rendered = false
}

extension DockerDeployment {
    var allotmentCores: Double? {
        if let cpus { return cpus }
        return cpuset.flatMap { Values.cpuList($0) }.map { Double($0.count) }
    }

    static let info = StrategyInfo(
        name: "docker", summary: "a container through the Docker Engine API (docs/docker.md)", keys: keys,
        sections: [
            .init(path: "build", title: "docker: build", summary: "an image built before deploy", keys: buildKeys),
            .init(
                path: "ports[]", title: "docker: ports (long form)", summary: "a published port, long form",
                keys: portKeys),
            .init(
                path: "volumes[]", title: "docker: volumes (long form)", summary: "a mount, long form", keys: volumeKeys
            ),
        ])

    static let keys: [KeySpec] = [
        KeySpec(
            "image", "string",
            "the image (required unless `build` is given; pipeperf never pulls: the engine must have it). pipeperf's own `pipeperf/loadgen:0.1.0`, `pipeperf/null-sink:0.1.0` and `pipeperf/fake-backend:0.1.0` are built before the run unless --docker.no-build"
        ),
        KeySpec(
            "build", "mapping",
            "build the image before deploy (skipped with --docker.no-build): `context` (folder, relative to the suite file; required), `dockerfile` (default Dockerfile), `args` (mapping), `target`; tagged `image` when given, else pipeperf-suite/<suite>-<component>:latest"
        ),
        KeySpec(
            "command", "list of strings", default: "the image's CMD",
            "the container's command (arguments of the image's entrypoint)"),
        KeySpec("entrypoint", "list of strings", default: "the image's ENTRYPOINT", "replaces the image's entrypoint"),
        KeySpec("environment", "mapping or list", default: "{}", "variables: `{NAME: value}` or `[NAME=value, …]`"),
        KeySpec(
            "ports", "list", default: "[]",
            "published ports: short `\"[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp]\"` or long `{target, published, host_ip, protocol}`; the host IP defaults to 127.0.0.1 and a missing host port to the container port"
        ),
        KeySpec(
            "volumes", "list", default: "[]",
            "mounts: short `\"SOURCE:TARGET[:ro|rw]\"` or long `{source, target, read_only}`; a SOURCE with a `/` or starting with `.` is a host path (relative to the suite file), `rendered/FILE` a file the run rendered (always read-only), anything else a named volume"
        ),
        KeySpec(
            "network", "string", default: "the engine's default bridge",
            "a network to attach to, created (labelled with the run) when absent and removed at the end of the run only if this run created it; the component's name is its DNS alias there"
        ),
        KeySpec("cpuset", "string", "CPUs the container may run on, e.g. \"1\" or \"0-1\""),
        KeySpec("cpus", "number", "CPU limit in cores (CFS quota), e.g. 0.5"),
        KeySpec("memory", "size", "memory limit, e.g. 256m or 1g (bytes without a unit)"),
        KeySpec(
            "name", "string", default: "pipeperf-<suite>-<component>",
            "the container's name; a stale container of that name left by a pipeperf run is removed before deploy"),
        KeySpec(
            "healthcheck", "list of strings", default: "the image's HEALTHCHECK",
            "the health command run inside the container (exec form); `[]` turns the image's off. When there is one, deploy waits until the container is healthy"
        ),
        KeySpec(
            "startup_timeout", "duration", default: "60s",
            "deploy fails when the container is not running (and healthy, with a health command) by then"),
        KeySpec(
            "startup_check", "duration", default: "500ms", "the container must still be running this long after start"),
        KeySpec(
            "stop_grace", "duration", default: "5s",
            "on destroy, SIGTERM then SIGKILL after this long; logs are saved to logs/<component>.stdout|.stderr and the container removed"
        ),
    ]

    static let buildKeys: [KeySpec] = [
        KeySpec(
            "context", "path", required: true,
            "the build context folder, relative to the suite file (sent as a tar archive; .dockerignore is not read)"),
        KeySpec("dockerfile", "path", default: "Dockerfile", "the Dockerfile, relative to the context"),
        KeySpec("args", "mapping", default: "{}", "build arguments"),
        KeySpec("target", "string", "the stage to build"),
    ]

    static let portKeys: [KeySpec] = [
        KeySpec("target", "integer", required: true, "the container port"),
        KeySpec("published", "integer", default: "the container port", "the host port (0: any free port)"),
        KeySpec(
            "host_ip", "address", default: "127.0.0.1", "the host address to publish on (0.0.0.0: every interface)"),
        KeySpec("protocol", "string", default: "tcp", "tcp or udp"),
    ]

    static let volumeKeys: [KeySpec] = [
        KeySpec(
            "source", "string", required: true,
            "a host path (with a `/` or starting with `.`, relative to the suite file), `rendered/FILE`, or a named volume"
        ),
        KeySpec("target", "path", required: true, "the absolute path in the container"),
        KeySpec("read_only", "boolean", default: "false (true for rendered/ files)", "mount read-only"),
    ]

    static func read(_ o: ObjectReader, context: ReadContext) -> DockerDeployment? {
        let p = o.path
        var d = DockerDeployment()
        d.image = o.string("image")
        if let b = o.value("build"),
            let bo = ObjectReader(b, path: "\(p).build", keys: buildKeys, context: context, what: "docker build"),
            let ctx = bo.string("context")
        {
            let full =
                ctx.hasPrefix("/")
                ? ctx : "\(context.baseDirectory)/\(ctx.hasPrefix("./") ? String(ctx.dropFirst(2)) : ctx)"
            var st = stat()
            let isDir = stat(full, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            if !isDir {
                context.diags.add(bo.location("context"), "\(p).build.context", "no folder \(full)")
            }
            var spec = DockerBuildSpec(context: full)
            if let f = bo.string("dockerfile") {
                spec.dockerfile = f
                if !FileManager.default.fileExists(atPath: "\(full)/\(f)") {
                    context.diags.add(bo.location("dockerfile"), "\(p).build.dockerfile", "no file \(full)/\(f)")
                }
            } else if isDir && !FileManager.default.fileExists(atPath: "\(full)/Dockerfile") {
                context.diags.add(
                    bo.location("context"), "\(p).build.context", "no Dockerfile in \(full) (set dockerfile:)")
            }
            spec.args = bo.stringMap("args") ?? []
            spec.target = bo.string("target")
            d.build = spec
        }
        if d.image == nil && o.value("build") == nil {
            context.diags.add(o.node.location, p, "a docker deployment needs `image` or `build`")
        }
        if o.value("command") != nil { d.command = o.stringList("command") }
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
                    guard let po = ObjectReader(item, path: ip, keys: portKeys, context: context, what: "port") else {
                        continue
                    }
                    guard let target = po.int("target", range: 1...65535) else { continue }
                    var m = PortMapping(containerPort: target)
                    m.hostPort = po.int("published", range: 0...65535) ?? target
                    if let h = po.string("host_ip") {
                        if !Values.isIPAddress(h) {
                            context.diags.add(
                                po.location("host_ip"), "\(ip).host_ip",
                                "expected an IP address such as 127.0.0.1 or 0.0.0.0, found '\(h)'")
                        }
                        m.hostIP = h
                    }
                    if let proto = po.string("protocol") {
                        if proto != "tcp" && proto != "udp" {
                            context.diags.add(
                                po.location("protocol"), "\(ip).protocol", "expected tcp or udp, found '\(proto)'")
                        }
                        m.proto = proto
                    }
                    d.ports.append(m)
                } else if let text = o.scalar(item, path: ip) {
                    switch Values.portMapping(text) {
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
                    guard let vo = ObjectReader(item, path: vp, keys: volumeKeys, context: context, what: "volume"),
                        let s = vo.string("source"), let t = vo.string("target")
                    else { continue }
                    source = s
                    target = t
                    if let ro = vo.bool("read_only") { mode = ro ? "ro" : "rw" }
                } else if let text = o.scalar(item, path: vp) {
                    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
                        context.diags.add(
                            item.location, vp, "expected SOURCE:TARGET or SOURCE:TARGET:ro|rw, found '\(text)'")
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
                    context.diags.add(
                        item.location, vp, "the target must be an absolute path in the container, found '\(target)'")
                    continue
                }
                var m = VolumeMount(source: source, target: target, readOnly: mode == "ro")
                if source.hasPrefix("rendered/") {
                    m.rendered = true
                    m.source = String(source.dropFirst("rendered/".count))
                    if mode == "rw" {
                        context.diags.add(item.location, vp, "files of the run folder's rendered/ mount read-only")
                    }
                    m.readOnly = true
                } else if source.contains("/") || source.hasPrefix(".") {
                    m.source =
                        source.hasPrefix("/")
                        ? source
                        : "\(context.baseDirectory)/\(source.hasPrefix("./") ? String(source.dropFirst(2)) : source)"
                    if !FileManager.default.fileExists(atPath: m.source) {
                        context.diags.add(item.location, vp, "no file or folder \(m.source)")
                    }
                } else {
                    m.isBind = false
                }
                d.volumes.append(m)
            }
        }
        d.network = o.string("network")
        if let n = d.network, n.isEmpty || !n.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
            context.diags.add(
                o.location("network"), "\(p).network",
                "a network name holds letters, digits, '-', '_' and '.', found '\(n)'")
        }
        if let c = o.string("cpuset") {
            if Values.cpuList(c) == nil {
                context.diags.add(
                    o.location("cpuset"), "\(p).cpuset", "expected a CPU list such as \"1\" or \"0-1\", found '\(c)'")
            }
            d.cpuset = c
        }
        if let c = o.string("cpus") {
            if let v = Double(c), v > 0, v <= 1024 {
                d.cpus = v
            } else {
                context.diags.add(
                    o.location("cpus"), "\(p).cpus", "expected a number of cores above 0 such as 0.5 or 2, found '\(c)'"
                )
            }
        }
        if let m = o.string("memory") {
            if let b = Values.byteSize(m), b >= 6 << 20 {
                d.memoryBytes = b
            } else {
                context.diags.add(
                    o.location("memory"), "\(p).memory",
                    "expected a size of at least 6m such as 256m or 1g, found '\(m)'")
            }
        }
        if let n = o.string("name") {
            if n.isEmpty || !n.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
                context.diags.add(
                    o.location("name"), "\(p).name",
                    "a container name holds letters, digits, '-', '_' and '.', found '\(n)'")
            }
            d.name = n
        }
        if o.value("healthcheck") != nil { d.healthcheck = o.stringList("healthcheck") }
        if let t = o.duration("startup_timeout", allowZero: false) { d.startupTimeoutNanos = t }
        if let t = o.duration("startup_check") { d.startupCheckNanos = t }
        if let t = o.duration("stop_grace") { d.stopGraceNanos = t }
        return d
    }

    func claimedPorts(component: String) -> [ClaimedPort] {
        ports.filter { $0.hostPort != 0 }.map {
            ClaimedPort(
                port: $0.hostPort, udp: $0.proto == "udp", what: "\(component) (published port)", key: "ports",
                noun: "host port")
        }
    }
}
