// The monitoring runtime: one sampler thread for every monitor of the run, each read at its own
// interval, every reading appended as one JSON line to the run folder's samples.jsonl (raw and
// versioned: the report is computed from these later). The sampler measures its own CPU time.

import PipeperfBase
import AdminHTTP
import FoundationEssentials

import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What a monitor reads.
public enum MonitorSource: Sendable {
    /// The component's process tree, from procfs.
    case process(root: Int32)
    /// A JSON status endpoint (our components' /status).
    case component(url: HTTPURL)
    /// A Prometheus text endpoint.
    case prometheus(url: HTTPURL, include: [String], exclude: [String])
    /// A container's stats, streamed by the Docker engine.
    case docker(stream: DockerStatsStream)

    var name: String {
        switch self {
        case .process: return "process"
        case .component: return "component"
        case .prometheus: return "prometheus"
        case .docker: return "docker"
        }
    }
}

struct Monitor: Sendable {
    var component: String
    var source: MonitorSource
    var intervalNanos: UInt64
    var nextNanos: UInt64
}

public final class Sampler: @unchecked Sendable {
    let fd: Int32
    let monitors = Mutex<[Monitor]>([])
    let stopFlag = Atomic<Bool>(false)
    let cpuNanos = Atomic<UInt64>(0)
    /// The HTTP client's event-loop CPU when the sampler started (its share is counted as the sampler's).
    let loopCPUAtStart = HTTPExchange.loopCPUNanos()
    let samples = Atomic<Int>(0)
    var thread: pthread_t?
    /// The latest reading per component and source (for the live progress line).
    let latest = Mutex<[String: (t: UInt64, status: String?, cpuSeconds: Double?)]>([:])

    /// Appends to `path` (created when missing).
    public init(path: String) throws(ProcessError) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ProcessError(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        do {
            thread = try spawnThread { [self] in loop() }
        } catch {
            throw ProcessError(description: "\(error)")
        }
    }

    deinit { close(fd) }

    public func add(component: String, source: MonitorSource, intervalNanos: UInt64) {
        monitors.withLock { $0.append(Monitor(component: component, source: source, intervalNanos: intervalNanos, nextNanos: 0)) }
    }

    public func remove(component: String) {
        let removed = monitors.withLock { list in
            defer { list.removeAll { $0.component == component } }
            return list.filter { $0.component == component }
        }
        for m in removed { if case .docker(let stream) = m.source { stream.close() } }
    }

    /// Takes one last reading of `component`'s monitors now (window edges), synchronously.
    public func sampleNow(component: String) {
        for m in monitors.withLock({ $0 }) where m.component == component { sample(m) }
    }

    /// Stops the thread; records the sampler's own cost.
    public func stop() {
        stopFlag.store(true, ordering: .relaxed)
        if let thread { pthread_join(thread, nil) }
        thread = nil
        var w = JSONWriter()
        w.beginObject()
        w.field("v", 1)
        w.field("t", SystemClock.unixNanos())
        w.field("source", "sampler")
        // The sampler thread plus the HTTP client's event loop since the start (which also carries the
        // run's other requests: ready probes, load start/stop, snapshots; an upper bound).
        let loop = HTTPExchange.loopCPUNanos() &- loopCPUAtStart
        w.field("cpu_s", Double(cpuNanos.load(ordering: .relaxed) &+ loop) / 1e9, decimals: 6)
        w.field("samples", samples.load(ordering: .relaxed))
        w.endObject()
        append(w.text)
    }

    func loop() {
        while !stopFlag.load(ordering: .relaxed) {
            let now = SystemClock.monotonicNanos()
            var due: [Monitor] = []
            monitors.withLock { list in
                for i in list.indices where list[i].nextNanos <= now {
                    due.append(list[i])
                    list[i].nextNanos = now + list[i].intervalNanos
                }
            }
            for m in due { sample(m) }
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            cpuNanos.store(UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec), ordering: .relaxed)
            usleep(20_000)
        }
    }

    func sample(_ m: Monitor) {
        // A docker reading is stamped with the time it arrived from the engine's stream; others now.
        var dockerReading: (unixNanos: UInt64, stats: JSON)? = nil
        if case .docker(let stream) = m.source {
            dockerReading = stream.takeNew()
            if dockerReading == nil { return }
        }
        var w = JSONWriter()
        w.beginObject()
        w.field("v", 1)
        w.field("t", dockerReading?.unixNanos ?? SystemClock.unixNanos())
        w.field("component", m.component)
        w.field("source", m.source.name)
        var raw: String? = nil
        switch m.source {
        case .process(let root):
            guard let r = Procfs.reading(tree: root) else { return }
            let cpu = Double(r.userTicks + r.systemTicks) / Procfs.ticksPerSecond
            latest.withLock { $0["\(m.component)|process"] = (SystemClock.monotonicNanos(), nil, cpu) }
            w.field("cpu_user_s", Double(r.userTicks) / Procfs.ticksPerSecond, decimals: 3)
            w.field("cpu_system_s", Double(r.systemTicks) / Procfs.ticksPerSecond, decimals: 3)
            w.field("rss_bytes", r.rssBytes)
            w.field("threads", r.threads)
            w.field("open_files", r.openFiles)
            w.field("ctx_voluntary", r.voluntarySwitches)
            w.field("ctx_involuntary", r.involuntarySwitches)
            w.field("processes", r.processes)
        case .component(let url):
            guard let res = try? HTTPClient.request("GET", url, timeoutNanos: 2_000_000_000), res.status == 200,
                  res.body.trimmingSpaces.hasPrefix("{") else { return }
            raw = res.body.trimmingSpaces
            let body = raw
            latest.withLock { $0["\(m.component)|component"] = (SystemClock.monotonicNanos(), body, nil) }
        case .docker:
            // The engine's newest reading (about one a second).
            guard let stats = dockerReading?.stats, let reading = DockerStats(stats) else { return }
            latest.withLock { $0["\(m.component)|docker"] = (SystemClock.monotonicNanos(), nil, reading.cpuSeconds) }
            reading.write(into: &w)
        case .prometheus(let url, let include, let exclude):
            guard let res = try? HTTPClient.request("GET", url, timeoutNanos: 2_000_000_000), res.status == 200 else { return }
            let parsed = PrometheusText.parse(res.body, include: include, exclude: exclude)
            w.beginObject("series")
            for s in parsed where s.value.isFinite { w.field(s.series, s.value, decimals: 6) }
            w.endObject()
            w.beginObject("types")
            var seen = Set<String>()
            for s in parsed where seen.insert(s.name).inserted { w.field(s.name, s.type) }
            w.endObject()
        }
        w.endObject()
        var line = w.text
        if let raw {
            // Embed the status document as is (it is JSON already).
            line.removeLast()
            line += ",\"status\":" + raw + "}"
        }
        append(line)
        samples.wrappingAdd(1, ordering: .relaxed)
    }

    func append(_ line: String) {
        var l = line.replacingOccurrences(of: "\n", with: " ") + "\n"
        l.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
    }
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
        guard let total = s.at("cpu_stats.cpu_usage.total_usage")?.number, let usage = s.at("memory_stats.usage")?.number else { return nil }
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
