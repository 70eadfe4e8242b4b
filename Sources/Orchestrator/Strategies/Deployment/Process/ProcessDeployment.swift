// `deployment: process:` — a local executable in its own process group (parent-death signal, optional
// CPU pinning, output to logs/), checked to still run shortly after start, stopped as a group: SIGTERM,
// then SIGKILL after the grace.

import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

struct ProcessDeployment: DeploymentStrategy {
    var command: [String]
    var environment: [(String, String)] = []
    var workingDirectory: String? = nil
    var cpus: [Int]? = nil
    /// Pin to this many CPUs, the highest-numbered ones pipeperf may use (leaving the low ones to the load).
    var cores: Int? = nil
    /// After start, the process must still be alive this long.
    var startupCheckNanos: UInt64 = 500_000_000
    /// On destroy: SIGTERM, then SIGKILL after this long.
    var stopGraceNanos: UInt64 = 5_000_000_000

    var allotmentCores: Double? { cores.map(Double.init) ?? cpus.map { Double($0.count) } }

    static let info = StrategyInfo(
        name: "process", summary: "a local process in its own process group",
        keys: [
            KeySpec(
                "command", "list of strings", required: true,
                "the program and its arguments; pipeperf's own executables (loadgen, null-sink, fake-backend) are found without a path"
            ),
            KeySpec("environment", "mapping", default: "{}", "extra environment variables"),
            KeySpec("working_directory", "path", default: "the run folder", "where the process starts"),
            KeySpec("cpus", "string", "CPU list to pin the process to, e.g. \"2-3\" or \"0,2\" (sched_setaffinity)"),
            KeySpec(
                "cores", "whole number",
                "pin the process to this many CPUs, the highest-numbered of those pipeperf may use (e.g. `cores: \"{{ cores }}\"` under a matrix over cores); not with `cpus`"
            ),
            KeySpec(
                "startup_check", "duration", default: "500ms", "the process must still be running this long after start"
            ),
            KeySpec(
                "stop_grace", "duration", default: "5s",
                "on destroy, SIGTERM to its process group, then SIGKILL after this long"),
        ])

    static func read(_ o: ObjectReader, context: ReadContext) -> ProcessDeployment? {
        let command = o.stringList("command")
        var d = ProcessDeployment(command: command ?? [])
        if let command, command.isEmpty {
            context.diags.add(o.location("command"), o.sub("command"), "the command is empty")
        }
        d.environment = o.stringMap("environment") ?? []
        d.workingDirectory = o.string("working_directory")
        if let cpus = o.string("cpus") {
            d.cpus = Values.cpuList(cpus)
            if d.cpus == nil {
                context.diags.add(
                    o.location("cpus"), o.sub("cpus"), "expected a CPU list such as \"2-3\" or \"0,2\", found '\(cpus)'"
                )
            }
        }
        if let n = o.int("cores", range: 1...4096) {
            d.cores = n
            if d.cpus != nil {
                context.diags.add(o.location("cores"), o.sub("cores"), "give `cores` or `cpus`, not both")
            }
        }
        if let n = o.duration("startup_check") { d.startupCheckNanos = n }
        if let n = o.duration("stop_grace") { d.stopGraceNanos = n }
        return d
    }

    /// Listen addresses given to pipeperf's components and most servers by these flags.
    static let listenFlags = ["--grpc", "--http", "--admin", "--syslog-tcp", "--syslog-udp"]

    func claimedPorts(component: String) -> [ClaimedPort] {
        var out: [ClaimedPort] = []
        for (i, arg) in command.enumerated() where i > 0 {
            let flag = command[i - 1]
            guard ProcessDeployment.listenFlags.contains(flag), case .success(let e) = Endpoint.parse(arg), e.port != 0
            else { continue }
            out.append(
                ClaimedPort(
                    port: Int(e.port), udp: flag == "--syslog-udp", what: "\(component) (\(flag))", key: "command"))
        }
        return out
    }

    /// The CPUs this process may use: the highest-numbered `cores` of those pipeperf may use.
    func cpuSet() throws(PipeperfError) -> [Int]? {
        guard let cores else { return cpus }
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
        let allowed =
            line.flatMap { Values.cpuList(String($0.dropFirst("Cpus_allowed_list:".count)).trimmingSpaces) } ?? []
        guard cores <= allowed.count else {
            throw PipeperfError(
                .failed,
                "cores: \(cores) asks for more CPUs than pipeperf may use here (\(allowed.count): \(allowed.map(String.init).joined(separator: ",")))"
            )
        }
        return Array(allowed.suffix(cores))
    }

    /// What a process that died at once said: its `Error:` line when it printed one (usage text
    /// follows it), else its last line.
    static func reason(_ stderr: String) -> String {
        let lines = stderr.split(separator: "\n").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
        return String(lines.first { $0.lowercased().hasPrefix("error") } ?? lines.last ?? "")
    }

    func deploy(_ c: Component, in run: RunContext) throws(PipeperfError) -> any LiveDeployment {
        let proc: ChildProcess
        let cpus = try cpuSet()
        do {
            proc = try ChildProcess(
                command: run.resolve(command), environment: run.resolve(environment),
                directory: workingDirectory.map(run.resolve) ?? run.folder.path,
                stdoutPath: run.folder.file("logs/\(c.name).stdout"),
                stderrPath: run.folder.file("logs/\(c.name).stderr"), cpus: cpus)
        } catch {
            throw PipeperfError(.process, "component '\(c.name)': \(error.message)", cause: error)
        }
        let live = LiveProcess(component: c.name, process: proc, stopGraceNanos: stopGraceNanos)
        Interrupts.register(live)
        run.events.record(
            "process_started", component: c.name,
            [("pid", String(proc.pid)), ("command", proc.command.joined(separator: " "))]
                + (cpus.map { [("cpus", $0.map(String.init).joined(separator: ","))] } ?? []))
        // The early-exit check: a process that dies at once (bad flag, port taken) fails the deploy.
        let deadline = SystemClock.monotonicNanos() + startupCheckNanos
        while SystemClock.monotonicNanos() < deadline {
            if !proc.isRunning {
                let err = (try? String(contentsOfFile: run.folder.file("logs/\(c.name).stderr"), encoding: .utf8)) ?? ""
                live.destroy(in: run)
                throw PipeperfError(
                    .failed,
                    "component '\(c.name)' exited right after start (\(proc.exitDescription)): \(Self.reason(err))"
                )
            }
            do { try run.sleep(Swift.min(20_000_000, deadline - SystemClock.monotonicNanos())) } catch {
                live.destroy(in: run)
                throw error
            }
        }
        return live
    }
}

/// A deployed process.
final class LiveProcess: LiveDeployment, @unchecked Sendable {
    let component: String
    let process: ChildProcess
    let stopGraceNanos: UInt64

    init(component: String, process: ChildProcess, stopGraceNanos: UInt64) {
        self.component = component
        self.process = process
        self.stopGraceNanos = stopGraceNanos
    }

    var rootPID: Int32? { process.pid }
    var exited: String? { process.isRunning ? nil : process.exitDescription }

    func destroy(in run: RunContext) {
        process.stop(graceNanos: stopGraceNanos)
        Interrupts.unregister(self)
        run.events.record(
            "process_stopped", component: component, [("pid", String(process.pid)), ("exit", process.exitDescription)])
    }

    func killNow() { kill(-process.pid, SIGKILL) }
}
