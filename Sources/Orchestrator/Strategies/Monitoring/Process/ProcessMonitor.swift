// `monitoring: process:` — the component's whole process tree from procfs: CPU user/system, RSS,
// threads, open files, context switches. Works on anything with a host pid: a process deployment, or
// a container's first process when pipeperf runs on the engine's host.

import AdminHTTP
import PipeperfBase

struct ProcessMonitor: MonitorStrategy {
    var intervalNanos: UInt64 = 1_000_000_000

    static let info = StrategyInfo(
        name: "process", summary: "the component's process tree from procfs",
        keys: [
            KeySpec(
                "interval", "duration", default: "1s",
                "between readings of the component's process tree (procfs: CPU user/system, RSS, threads, open files, context switches)"
            )
        ])

    /// CPU user + system and RSS of the whole process tree.
    static let resources: ResourceFields? = ResourceFields(
        precedence: 1,
        cpuSeconds: { s in (s["cpu_user_s"]?.number ?? 0) + (s["cpu_system_s"]?.number ?? 0) },
        memoryBytes: { $0["rss_bytes"]?.number })

    static func read(_ o: ObjectReader, context: ReadContext) -> ProcessMonitor? {
        ProcessMonitor(intervalNanos: monitorInterval(o, context) ?? 1_000_000_000)
    }

    func problem(with deployment: any DeploymentStrategy) -> String? {
        deployment is ExternalDeployment
            ? "an external component has no process to monitor; use component: or prometheus:" : nil
    }

    func source(
        component: Component, deployed: (any LiveDeployment)?, in run: RunContext
    ) throws(PipeperfError) -> (any SampleSource)? {
        guard let pid = deployed?.rootPID else {
            run.log("pipeperf: \(component.name): process monitoring is off: no process of it on this host")
            return nil
        }
        return ProcessTreeSource(root: pid)
    }
}

/// `interval` of any monitor: at least 50 ms.
func monitorInterval(_ o: ObjectReader, _ context: ReadContext) -> UInt64? {
    guard let i = o.duration("interval", allowZero: false) else { return nil }
    if i < 50_000_000 {
        context.diags.add(o.location("interval"), o.sub("interval"), "the interval must be at least 50ms")
    }
    return i
}

final class ProcessTreeSource: SampleSource {
    let root: Int32
    init(root: Int32) { self.root = root }
    var name: String { "process" }

    func read() -> SampleReading? {
        guard let r = Procfs.reading(tree: root) else { return nil }
        let cpu = Double(r.userTicks + r.systemTicks) / Procfs.ticksPerSecond
        return SampleReading(cpuSeconds: cpu) { w in
            w.field("cpu_user_s", Double(r.userTicks) / Procfs.ticksPerSecond, decimals: 3)
            w.field("cpu_system_s", Double(r.systemTicks) / Procfs.ticksPerSecond, decimals: 3)
            w.field("rss_bytes", r.rssBytes)
            w.field("threads", r.threads)
            w.field("open_files", r.openFiles)
            w.field("ctx_voluntary", r.voluntarySwitches)
            w.field("ctx_involuntary", r.involuntarySwitches)
            w.field("processes", r.processes)
        }
    }
}
