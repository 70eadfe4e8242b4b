// `monitoring: docker:` — a container's stats as the engine streams them (about one a second): CPU in
// cores from the usage deltas, memory without page cache, network rx/tx, block I/O, CPU throttling when
// limited, pids. Each reading is stamped with the time it arrived from the stream.

import AdminHTTP
import PipeperfBase

struct DockerMonitor: MonitorStrategy {
    var intervalNanos: UInt64 = 1_000_000_000

    static let info = StrategyInfo(
        name: "docker", summary: "a container's stats from the Docker engine",
        keys: [
            KeySpec(
                "interval", "duration", default: "1s",
                "between readings of the container's stats from the engine (CPU in cores from the usage deltas, memory without page cache, network rx/tx, block I/O, CPU throttling when limited); needs a `docker` deployment"
            )
        ])

    /// The container's cumulative CPU and memory without page cache; network rates and the CPU time lost
    /// to the limit over the window.
    static let resources: ResourceFields? = ResourceFields(
        precedence: 2,
        cpuSeconds: { $0["cpu_s"]?.number },
        memoryBytes: { $0["mem_bytes"]?.number },
        extras: { window, report in
            report.netRxBytesPerSecond = ReportBuilder.windowRate(window, "net_rx_bytes")
            report.netTxBytesPerSecond = ReportBuilder.windowRate(window, "net_tx_bytes")
            if let a = window.first?["throttled_s"]?.number, let b = window.last?["throttled_s"]?.number {
                report.throttledSeconds = Swift.max(0, b - a)
            }
        })

    static func read(_ o: ObjectReader, context: ReadContext) -> DockerMonitor? {
        DockerMonitor(intervalNanos: monitorInterval(o, context) ?? 1_000_000_000)
    }

    func problem(with deployment: any DeploymentStrategy) -> String? {
        deployment is DockerDeployment
            ? nil
            : "docker monitoring needs a docker deployment (this component's is \(type(of: deployment).info.name))"
    }

    func source(
        component: Component, deployed: (any LiveDeployment)?, in run: RunContext
    ) throws(PipeperfError) -> (any SampleSource)? {
        guard let container = deployed as? LiveContainer else { return nil }
        return DockerStatsSource(stream: try DockerStatsStream(engine: container.engine, id: container.id))
    }
}

final class DockerStatsSource: SampleSource {
    let stream: DockerStatsStream
    init(stream: DockerStatsStream) { self.stream = stream }
    var name: String { "docker" }

    func read() -> SampleReading? {
        // The engine's newest reading, if a new one came since the last.
        guard let new = stream.takeNew(), let reading = DockerStats(new.stats) else { return nil }
        return SampleReading(unixNanos: new.unixNanos, cpuSeconds: reading.cpuSeconds) { reading.write(into: &$0) }
    }

    func close() { stream.close() }
}

/// One reading of a container's stats (GET /containers/ID/stats?stream=false&one-shot=true), as
/// cumulative counters: the report turns them into rates over the window, so CPU is in cores used
/// (usage delta / wall time), whatever the CPU limit.
struct DockerStats {
    var cpuSeconds: Double
    var onlineCPUs: Int?
    /// Memory in use without the page cache (cgroup v1: usage − total_inactive_file; v2: − inactive_file),
    /// as `docker stats` shows it.
    var memoryBytes: Double
    var memoryLimit: Double?
    var netRx = 0.0, netTx = 0.0
    var blockRead = 0.0, blockWrite = 0.0
    var throttledSeconds: Double?
    var throttledPeriods: Double?
    var pids: Double?

    init?(_ s: JSON) {
        guard let total = s.at("cpu_stats.cpu_usage.total_usage")?.number,
            let usage = s.at("memory_stats.usage")?.number
        else { return nil }
        cpuSeconds = total / 1e9
        onlineCPUs = s.at("cpu_stats.online_cpus")?.number.map { Int($0) }
        let stats = s.at("memory_stats.stats")
        let inactive = stats?["total_inactive_file"]?.number ?? stats?["inactive_file"]?.number ?? 0
        memoryBytes = inactive < usage ? usage - inactive : usage
        memoryLimit = s.at("memory_stats.limit")?.number
        for (_, n) in s["networks"]?.object ?? [:] {
            netRx += n["rx_bytes"]?.number ?? 0
            netTx += n["tx_bytes"]?.number ?? 0
        }
        for e in s.at("blkio_stats.io_service_bytes_recursive")?.array ?? [] {
            switch e["op"]?.string?.lowercased() {
            case "read": blockRead += e["value"]?.number ?? 0
            case "write": blockWrite += e["value"]?.number ?? 0
            default: break
            }
        }
        throttledSeconds = s.at("cpu_stats.throttling_data.throttled_time")?.number.map { $0 / 1e9 }
        throttledPeriods = s.at("cpu_stats.throttling_data.throttled_periods")?.number
        pids = s.at("pids_stats.current")?.number
    }

    func write(into w: inout JSONWriter) {
        w.field("cpu_s", cpuSeconds, decimals: 6)
        if let c = onlineCPUs { w.field("online_cpus", c) }
        w.field("mem_bytes", Int(memoryBytes))
        if let l = memoryLimit { w.field("mem_limit_bytes", Int(l)) }
        w.field("net_rx_bytes", Int(netRx))
        w.field("net_tx_bytes", Int(netTx))
        w.field("blk_read_bytes", Int(blockRead))
        w.field("blk_write_bytes", Int(blockWrite))
        if let t = throttledSeconds { w.field("throttled_s", t, decimals: 6) }
        if let p = throttledPeriods { w.field("throttled_periods", Int(p)) }
        if let p = pids { w.field("pids", Int(p)) }
    }
}
