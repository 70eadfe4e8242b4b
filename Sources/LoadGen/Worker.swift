// One load-generating thread: its own epoll loop, connections, payload templates, schedule and stats.
// Batches of the whole run are numbered k = 0, 1, 2, ...; worker w of W sends k = w, w+W, w+2W, ...
// Each batch's send time is planned from the start (open loop): start + k × interval, never from the
// last reply. A batch that cannot go out on time (no free stream) goes out as soon as one frees up
// and its lag is recorded; the rate is never silently lowered.

import PipeperfBase
import H2Transport
import Histogram
import OTLPGzip
import OTLPWire
import Synchronization
import SyslogWire

#if canImport(Glibc)
import Glibc
#endif

final class Worker {
    enum Outcome {
        case ok(rejected: Int)
        case failed(FailureKind, message: String?)
        case httpError(Int)
    }

    let index: Int
    let config: LoadConfig
    let live: LiveCounters
    let loop: EventLoop
    let address: SocketAddress
    let headers: H2HeaderBlock
    var connections: [Connection] = []
    var stats = WorkerStats()
    var rng: SplitMix64
    let readBuffer: UnsafeMutableRawBufferPointer
    let tlsContext: TLSClientContext?

    // Payload templates: each is patched for one batch and stays untouched until nghttp2 has read
    // the whole body; a ring large enough for every stream in flight plus the distinct pool.
    var templates: [BatchTemplate] = []
    var templateBusy: [Bool] = []
    /// syslog runs use these instead of `templates` (same ring, same busy flags).
    var syslogTemplates: [SyslogBatch] = []
    /// OTLP/HTTP: the request head up to the Content-Length value.
    let httpRequestHead = WireBuffer(capacity: 512)
    var nextTemplate = 0
    // gzip: the compressed body goes to a per-template buffer (so the template frees at once).
    let gzip: GzipCompressor?
    var compressed: [WireBuffer] = []

    let startNanos: UInt64
    let runStartUnixNanos: UInt64
    var nextBatch: Int
    let totalBatches: Int?
    let workers: Int
    let deadlineNanos: UInt64?
    /// Connections may park between planned sends (fixed-rate gRPC without TLS; see H2Connection).
    let parking: Bool
    /// The longest a connection stays parked: replies wait at most this long to be read.
    static let maxParkNanos: UInt64 = 50_000_000

    init(
        index: Int, workers: Int, config: LoadConfig, live: LiveCounters, address: SocketAddress, startNanos: UInt64,
        startUnixNanos: UInt64
    ) throws {
        self.index = index
        self.workers = workers
        self.config = config
        self.live = live
        self.address = address
        self.startNanos = startNanos
        runStartUnixNanos = startUnixNanos
        loop = try EventLoop()
        headers = H2HeaderBlock(config.grpcHeaders)
        rng = SplitMix64(seed: config.seed &+ UInt64(index) &* 0x9E37_79B9)
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        tlsContext = try config.tls.map { try TLSClientContext($0) }
        gzip = config.compression == .gzip ? try GzipCompressor(level: 1) : nil
        nextBatch = index
        parking = config.batchIntervalNanos != nil && config.transport == .grpc && config.tls == nil
        totalBatches = config.plannedBatches
        // The sending window: the duration, or for --count at a rate, the span of the planned batches.
        if let d = config.durationNanos {
            deadlineNanos = startNanos + d
        } else if let interval = config.batchIntervalNanos, let total = config.plannedBatches {
            deadlineNanos = startNanos + UInt64(Double(total) * interval)
        } else {
            deadlineNanos = nil
        }

        let ring = Swift.max(config.distinctPayloads, config.connections * config.maxInFlight + 1)
        var seeds = SplitMix64(seed: config.seed &+ UInt64(index))
        for _ in 0..<ring {
            if config.transport == .syslog {
                syslogTemplates.append(SyslogBatch(shape: config.syslogShape, seed: seeds.next(), runID: config.runID))
            } else {
                let t = BatchTemplate(shape: config.shape, seed: seeds.next(), runID: config.runID)
                templates.append(t)
                if gzip != nil { compressed.append(WireBuffer(capacity: t.messageSize / 2 + 64)) }
            }
            templateBusy.append(false)
        }
        var head = config.httpRequestHead
        head.withUTF8 { httpRequestHead.append(UnsafeRawBufferPointer($0)) }
        for c in 0..<config.connections {
            let conn: Connection
            switch config.transport {
            case .grpc: conn = H2Connection(worker: self, index: c, capacity: config.maxInFlight)
            case .http: conn = HTTP1Connection(worker: self, index: c, capacity: config.maxInFlight)
            case .syslog:
                conn =
                    config.syslogTransport == .udp
                    ? SyslogDatagramConnection(worker: self, index: c, capacity: config.maxInFlight)
                    : SyslogStreamConnection(worker: self, index: c, capacity: config.maxInFlight)
            }
            connections.append(conn)
        }
        if let total = totalBatches {
            stats.plannedItems = (index < total ? (total - index + workers - 1) / workers : 0) * config.shape.batchSize
        }
    }

    deinit { readBuffer.deallocate() }

    /// Planned monotonic send time of batch `k`, in nanoseconds (doubles: no truncation of the rate).
    @inline(__always)
    func plannedNanos(_ k: Int) -> UInt64 {
        guard let interval = config.batchIntervalNanos else { return 0 }
        return startNanos &+ UInt64(Double(k) * interval)
    }

    /// Last time the run made progress (a connection came up or a batch finished).
    var lastProgressNanos: UInt64 = 0

    var sendingDone: Bool {
        if let total = totalBatches, nextBatch >= total { return true }
        if deadlineNanos == nil {
            // Closed loop with --count has no window: give up when nothing has worked for the drain time
            // (e.g. an endpoint that never answers), so the run cannot hang forever.
            let now = SystemClock.monotonicNanos()
            if connections.allSatisfy({ $0.state != .active }),
                now > Swift.max(lastProgressNanos, startNanos) &+ config.drainNanos
            {
                return true
            }
        }
        if let deadline = deadlineNanos {
            let now = SystemClock.monotonicNanos()
            // Closed loop stops at the end of the window; open loop may still send late batches after it,
            // for at most the drain time (a dead pipeline must not keep the run alive forever).
            if totalBatches == nil ? now >= deadline : now >= deadline &+ config.drainNanos { return true }
        }
        if live.stop.load(ordering: .relaxed) {
            if stoppedNanos == nil { stoppedNanos = SystemClock.monotonicNanos() }
            return true
        }
        return false
    }

    /// When a stop request ended the sending (nil when the plan ran to its end).
    var stoppedNanos: UInt64? = nil

    /// A run stopped before its plan's end planned only what was due by then: the batches of this worker
    /// whose planned time had come (open loop), or what it sent (closed loop). An orchestrated load runs
    /// "until stopped" under a 24 h plan; its summary describes the run that happened.
    func truncatePlanAtStop() {
        guard let stop = stoppedNanos, let total = totalBatches else { return }
        let sentBatches = (nextBatch - index) / workers
        var due = sentBatches
        if let interval = config.batchIntervalNanos, stop > startNanos {
            // Batches 0 ..< k are due by the stop; this worker owns index, index + workers, ...
            let k = Swift.min(total, Int(Double(stop - startNanos) / interval) + 1)
            due = Swift.max(sentBatches, k > index ? (k - index + workers - 1) / workers : 0)
        }
        stats.plannedItems = due * config.shape.batchSize
        stats.unsent = (due - sentBatches) * config.shape.batchSize
        stats.stopped = true
    }

    /// Items planned but never sent (the run ended first): reported so that planned = sent + unsent.
    var unsentItems: Int {
        guard let total = totalBatches, nextBatch < total else { return 0 }
        return ((total - nextBatch + workers - 1) / workers) * config.shape.batchSize
    }

    var inFlight: Int { connections.reduce(0) { $0 + $1.inFlight } }

    /// Runs until every batch is sent and answered (or the drain time runs out, or `stop` is set).
    func run() {
        var drainDeadline: UInt64? = nil
        while true {
            var now = SystemClock.monotonicNanos()
            if parking {
                // The planned send first (the schedule comes before the replies, whose times are the
                // kernel's stamps whenever they are read), then what arrived while parked.
                if !sendingDone { sendDue(now: now) }
                for c in connections where c.parked { c.readParked(now: SystemClock.monotonicNanos()) }
                now = SystemClock.monotonicNanos()
            }
            for c in connections where c.state == .idle || c.state == .closed { c.connect(now: now) }
            if !sendingDone {
                sendDue(now: now)
            } else {
                if inFlight == 0 { break }
                if drainDeadline == nil { drainDeadline = now + config.drainNanos }
                if let d = drainDeadline, now >= d {
                    abandonInFlight(now: now)
                    break
                }
                if live.stop.load(ordering: .relaxed) && drainDeadline.map({ $0 > now + 2_000_000_000 }) == true {
                    drainDeadline = now + 2_000_000_000
                }
            }
            let wait = waitNanos(now: now)
            if parking {
                // Park only when the next wake-up is the timer of a planned send, and soon.
                let allow =
                    wait > 0 && !sendingDone && freeSlots() > 0
                    && plannedNanos(nextBatch) <= now &+ Self.maxParkNanos
                for c in connections { c.updateParking(allow) }
            }
            loop.poll(timeoutNanos: wait)
        }
        stats.unsent = unsentItems
        truncatePlanAtStop()
        for c in connections { c.closeSocket() }
    }

    /// How long to sleep: until the next planned batch, a reconnect, or at most 50 ms (stop checks).
    func waitNanos(now: UInt64) -> Int64 {
        var until = now + 50_000_000
        if !sendingDone, config.batchIntervalNanos != nil, freeSlots() > 0 {
            until = Swift.min(until, plannedNanos(nextBatch))
        }
        if !sendingDone, config.rate == .max, freeSlots() > 0 { return 0 }
        for c in connections where c.state == .closed { until = Swift.min(until, c.reconnectAtNanos) }
        if until <= now { return 0 }
        return Int64(until - now)
    }

    func freeSlots() -> Int { connections.reduce(0) { $0 + $1.available } }

    /// Sends every batch whose planned time has come, while streams are free.
    func sendDue(now: UInt64) {
        var now = now
        while !sendingDone {
            let planned = plannedNanos(nextBatch)
            if config.batchIntervalNanos != nil && planned > now { return }
            guard let conn = pickConnection() else { return }
            guard let t = acquireTemplate() else { return }
            let batch = nextBatch
            let items = config.shape.batchSize
            // Sequence numbers are global across workers: batch k holds k × batchSize ..< (k+1) × batchSize.
            let firstSeq = UInt64(batch) &* UInt64(items)
            let sentUnix = runStartUnixNanos &+ (now &- startNanos)
            // The time the schedule meant the batch to go (the send time without a rate): latency from it
            // includes the time a late generator made the batch wait (no coordinated omission).
            let intendedUnix =
                config.batchIntervalNanos == nil
                ? sentUnix : runStartUnixNanos &+ (Swift.min(planned, now) &- startNanos)
            let (body, wire, uncompressed) = prepareBody(
                t, firstSeq: firstSeq, sentUnixNano: sentUnix, intendedUnixNano: intendedUnix)
            guard conn.submit(template: t, body: body, items: items, planned: planned, now: now) else {
                templateBusy[t] = false
                return
            }
            let lag = config.batchIntervalNanos == nil ? 0 : now &- Swift.min(planned, now)
            stats.sendLag.record(lag / 1000)
            if lag > config.lateThresholdNanos {
                stats.lateBatches += 1
                live.late.wrappingAdd(1, ordering: .relaxed)
            }
            stats.sent += items
            stats.batches += 1
            stats.bytesWire += wire
            stats.bytesUncompressed += uncompressed
            stats.lastSendNanos = now
            live.sent.wrappingAdd(items, ordering: .relaxed)
            live.inFlight.wrappingAdd(1, ordering: .relaxed)
            nextBatch += workers
            now = SystemClock.monotonicNanos()
        }
    }

    /// Patches template `t` for a batch and returns the bytes to send (they stay valid while the template
    /// is busy), the bytes on the wire and the bytes before compression.
    func prepareBody(
        _ t: Int, firstSeq: UInt64, sentUnixNano: UInt64, intendedUnixNano: UInt64
    ) -> (UnsafeRawBufferPointer, Int, Int) {
        if config.transport == .syslog {
            let b = syslogTemplates[t]
            b.patch(firstSeq: firstSeq, sentUnixNano: sentUnixNano)
            let body = b.withBytes { $0 }
            return (body, body.count, body.count)
        }
        let template = templates[t]
        template.patch(firstSeq: firstSeq, sentUnixNano: sentUnixNano, intendedUnixNano: intendedUnixNano)
        // gRPC sends the length-prefixed message (5-byte header); OTLP/HTTP the bare message.
        let header = config.transport == .grpc ? GRPCFrame.headerSize : 0
        let uncompressed = template.messageSize + header
        if let gzip {
            // The compressed copy goes out; it belongs to template t, which stays busy until it is sent.
            let out = compressed[t]
            out.resize(to: header)
            let n = template.withMessage { gzip.compress($0, appendingTo: out) }
            if header > 0 {
                out.withUnsafeMutableBytes { GRPCFrame.storeHeader($0.baseAddress!, compressed: true, length: n) }
            }
            let body = out.withUnsafeBytes { $0 }
            return (body, body.count, uncompressed)
        }
        let body = header > 0 ? template.withFramed { $0 } : template.withMessage { $0 }
        return (body, body.count, uncompressed)
    }

    var roundRobin = 0

    func pickConnection() -> Connection? {
        for i in 0..<connections.count {
            let c = connections[(roundRobin + i) % connections.count]
            if c.available > 0 {
                roundRobin = (roundRobin + i + 1) % connections.count
                return c
            }
        }
        return nil
    }

    func acquireTemplate() -> Int? {
        for i in 0..<templateBusy.count {
            let t = (nextTemplate + i) % templateBusy.count
            if !templateBusy[t] {
                templateBusy[t] = true
                nextTemplate = (t + 1) % templateBusy.count
                return t
            }
        }
        return nil
    }

    func releaseTemplate(_ t: Int) {
        if t >= 0 && t < templateBusy.count { templateBusy[t] = false }
    }

    /// A batch finished (reply, error or connection loss).
    func completed(items: Int, planned: UInt64, sent: UInt64, now: UInt64, outcome: Outcome) {
        lastProgressNanos = now
        live.inFlight.wrappingAdd(-1, ordering: .relaxed)
        let from = config.batchIntervalNanos == nil ? sent : planned
        stats.latency.record((now &- Swift.min(from, now)) / 1000)
        stats.latencyUncorrected.record((now &- Swift.min(sent, now)) / 1000)
        switch outcome {
        case .ok(let rejected):
            let r = Swift.min(rejected, items)
            stats.acked += items - r
            stats.rejected += r
            live.acked.wrappingAdd(items - r, ordering: .relaxed)
        case .failed(let kind, let message):
            stats.fail(kind, items: items)
            if let message, stats.firstGRPCMessage == nil { stats.firstGRPCMessage = "\(kind.name): \(message)" }
            live.failed.wrappingAdd(items, ordering: .relaxed)
        case .httpError(let status):
            stats.fail(.httpError, items: items)
            stats.httpStatuses[status, default: 0] += items
            live.failed.wrappingAdd(items, ordering: .relaxed)
        }
    }

    /// The drain time ran out: what is still in flight counts as timed out.
    func abandonInFlight(now: UInt64) {
        for c in connections {
            for s in 0..<c.capacity where c.slots[s].active {
                c.slots[s].active = false
                stats.fail(.timedOut, items: c.slots[s].items)
                live.failed.wrappingAdd(c.slots[s].items, ordering: .relaxed)
                live.inFlight.wrappingAdd(-1, ordering: .relaxed)
            }
            c.inFlight = 0
        }
    }

    /// Prints a transport error once per run (the summary keeps the count); later ones stay quiet.
    func reportError(_ message: String) {
        if stats.firstError == nil { stats.firstError = message }
        if live.errorReported.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            printError("loadgen: \(message) (retrying with backoff; further errors are counted, not printed)")
        }
    }
}
