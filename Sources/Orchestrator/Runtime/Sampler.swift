// The monitoring runtime: one sampler thread for every monitor of the run, each read at its own
// interval, every reading appended as one JSON line to the run folder's samples.jsonl (raw and
// versioned: the report is computed from these later). What a monitor reads is its strategy's
// `SampleSource`; the sampler only schedules, stamps and writes. It measures its own CPU time, and a
// line it cannot write is kept as the run's failure.

import AdminHTTP
import FoundationEssentials
import PipeperfBase
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct Monitor: Sendable {
    var component: String
    var source: any SampleSource
    var intervalNanos: UInt64
    var nextNanos: UInt64
}

final class Sampler: @unchecked Sendable {
    let fd: Int32
    let path: String
    let monitors = Mutex<[Monitor]>([])
    let stopFlag = Atomic<Bool>(false)
    let cpuNanos = Atomic<UInt64>(0)
    /// The HTTP client's event-loop CPU when the sampler started (its share is counted as the sampler's).
    let loopCPUAtStart = HTTPExchange.loopCPUNanos()
    let samples = Atomic<Int>(0)
    /// The first line that could not be written (a full disk): the run fails with it.
    let writeFailure = Mutex<String?>(nil)
    var thread: pthread_t?
    /// The latest reading per component and source since it was added (the live progress line; a
    /// monitor without one has read nothing).
    let latest = Mutex<[String: (t: UInt64, status: String?, cpuSeconds: Double?)]>([:])

    /// Appends to `path` (created when missing).
    init(path: String) throws(PipeperfError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PipeperfError(.results, "cannot open \(path): \(String(cString: strerror(errno)))") }
        do {
            thread = try spawnThread { [self] in loop() }
        } catch {
            throw PipeperfError(.process, "\(error)", cause: error)
        }
    }

    deinit { close(fd) }

    func add(component: String, source: any SampleSource, intervalNanos: UInt64) {
        latest.withLock { $0["\(component)|\(source.name)"] = nil }
        monitors.withLock {
            $0.append(Monitor(component: component, source: source, intervalNanos: intervalNanos, nextNanos: 0))
        }
    }

    /// The monitors of `component` that have given no reading since they were added, and why.
    func silent(component: String) -> [(source: String, reason: String)] {
        let read = latest.withLock { $0 }
        return monitors.withLock { $0 }.filter { $0.component == component }.compactMap { m in
            read["\(component)|\(m.source.name)"] != nil ? nil : (m.source.name, m.source.silence)
        }
    }

    func remove(component: String) {
        let removed = monitors.withLock { list in
            defer { list.removeAll { $0.component == component } }
            return list.filter { $0.component == component }
        }
        for m in removed { m.source.close() }
    }

    /// Takes one reading of `component`'s monitors now, synchronously; at a window's edge the line
    /// carries `edge` and `test`, and the report computes the window's rates from these readings.
    func sampleNow(component: String, edge: WindowEdge? = nil, test: String? = nil) {
        for m in monitors.withLock({ $0 }) where m.component == component { sample(m, edge: edge, test: test) }
    }

    /// Stops the thread; records the sampler's own cost.
    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        if let thread { pthread_join(thread, nil) }
        thread = nil
        for m in monitors.withLock({ $0 }) { m.source.close() }
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

    func sample(_ m: Monitor, edge: WindowEdge? = nil, test: String? = nil) {
        let before = SystemClock.unixNanos()
        guard let reading = edge.map({ m.source.read(edge: $0) }) ?? m.source.read() else { return }
        // Stamped with the time the component says it read its counters, else the middle of the exchange.
        let taken = before / 2 + SystemClock.unixNanos() / 2
        latest.withLock {
            $0["\(m.component)|\(m.source.name)"] = (SystemClock.monotonicNanos(), reading.status, reading.cpuSeconds)
        }
        var w = JSONWriter()
        w.beginObject()
        w.field("v", 1)
        w.field("t", reading.unixNanos ?? taken)
        w.field("component", m.component)
        w.field("source", m.source.name)
        if let edge {
            w.field("edge", edge.rawValue)
            if let test { w.field("test", test) }
        }
        reading.fields(&w)
        w.endObject()
        var line = w.text
        if let raw = reading.status {
            // Embed the status document as is (it is JSON already).
            line.removeLast()
            line += ",\"status\":" + raw + "}"
        }
        append(line)
        samples.wrappingAdd(1, ordering: .relaxed)
    }

    func append(_ line: String) {
        var l = line.replacingOccurrences(of: "\n", with: " ") + "\n"
        let n = l.withUTF8 { write(fd, $0.baseAddress, $0.count) }
        if n != l.utf8.count {
            let reason = n < 0 ? String(cString: strerror(errno)) : "short write"
            writeFailure.withLock { if $0 == nil { $0 = "cannot write \(path): \(reason)" } }
        }
    }
}
