import PipeperfBase
import AdminHTTP
import ArgumentParser
import H2Transport
import Histogram
import OTLPWire
import SinkCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `fake-backend`: an OTLP receiver that counts items, tracks loss, duplicates and end-to-end latency
/// from the tracking attributes, and injects faults on demand.
public struct FakeBackendCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fake-backend",
        abstract:
            "Receive OTLP (gRPC, OTLP/HTTP) and syslog, count items, track loss, duplicates and latency, and inject faults.",
        discussion: """
            Admin API: GET /healthz, GET /status (JSON), GET /metrics (Prometheus), POST /reset, GET /faults, \
            POST /faults (JSON with the fault option names, e.g. {"error_fraction": 0.1, "error_code": \
            "RESOURCE_EXHAUSTED", "retry_after": 2}; an empty object clears every fault). See docs/sinks.md.
            `fake-backend healthcheck [HOST:PORT]` exits 0 when the admin address (default 127.0.0.1:8081) answers \
            GET /healthz with 200 (the container image's health command).
            """)

    @OptionGroup public var listen: SinkListenOptions

    @Option(
        help: "syslog over TCP listen address, HOST:PORT (RFC 6587 octet counting or newline framing; default: off).")
    public var syslogTcp: String?

    @Option(help: "syslog over UDP listen address, HOST:PORT (RFC 5426; default: off).")
    public var syslogUdp: String?

    @Option(help: "Largest syslog message accepted on TCP (longer ones close the connection and count as malformed).")
    public var syslogMaxMessage: Int = 64 * 1024

    @Option(help: "Largest message after gunzip; larger ones are refused as malformed.")
    public var maxDecompressedBytes: Int = 64 * 1024 * 1024

    @Option(
        help:
            "Sequence numbers tracked per run id below the highest seen (loss window; memory is this / 8 bytes per run id)."
    )
    public var ledgerWindow: Int = 1 << 24

    @Option(help: "Run ids tracked at once (older ones are settled and kept as totals).")
    public var maxRuns: Int = 64

    @OptionGroup public var faults: FaultOptions

    public init() {}

    public func validate() throws {
        try listen.requireListener(besides: [syslogTcp, syslogUdp].compactMap { $0 })
        for (flag, value) in [("--syslog-tcp", syslogTcp), ("--syslog-udp", syslogUdp)] {
            if let value, case .failure = Endpoint.parse(value) {
                throw ValidationError("\(flag) must be HOST:PORT, e.g. 127.0.0.1:5514 (got '\(value)')")
            }
        }
        guard (480...16 * 1024 * 1024).contains(syslogMaxMessage) else {
            throw ValidationError(
                "--syslog-max-message must be between 480 (RFC 5424's minimum) and 16777216 (got \(syslogMaxMessage))")
        }
        guard maxDecompressedBytes >= 1024 else {
            throw ValidationError("--max-decompressed-bytes must be at least 1024 (got \(maxDecompressedBytes))")
        }
        guard (1024...(1 << 32)).contains(ledgerWindow) else {
            throw ValidationError("--ledger-window must be between 1024 and 4294967296 (got \(ledgerWindow))")
        }
        guard (1...100_000).contains(maxRuns) else {
            throw ValidationError("--max-runs must be between 1 and 100000 (got \(maxRuns))")
        }
    }

    public func run() throws {
        let backend = try FakeBackend(threads: listen.threads, ledgerWindow: ledgerWindow, maxRuns: maxRuns)
        backend.faults.set(try faults.config(now: SystemClock.monotonicNanos()))
        try backend.ledger.start()
        defer { backend.ledger.stop() }
        let maxInflated = maxDecompressedBytes
        let servers = try SinkServers(listen, name: "fake-backend", counters: backend.counters) {
            backend.policy(slot: $0, maxInflatedBytes: maxInflated)
        }
        defer { servers.stop() }
        backend.grpcPort = servers.grpcPort
        backend.httpPort = servers.httpPort
        var syslog: SyslogServer? = nil
        if syslogTcp != nil || syslogUdp != nil {
            let tcp = syslogTcp.flatMap { try? Endpoint.parse($0).get() }
            let udp = syslogUdp.flatMap { try? Endpoint.parse($0).get() }
            let n = listen.threads
            do {
                syslog = try SyslogServer(
                    tcp: tcp, udp: udp, threads: n, maxMessageBytes: syslogMaxMessage, counters: backend.syslog,
                    logs: backend.counters.logs
                ) { backend.policy(slot: 2 * n + $0, maxInflatedBytes: maxInflated) }
            } catch {
                throw ValidationError("--syslog-tcp/--syslog-udp: \(error)")
            }
            backend.syslogTCPPort = syslog?.tcpPort ?? 0
            backend.syslogUDPPort = syslog?.udpPort ?? 0
        }
        defer { syslog?.stop() }
        guard case .success(let a) = Endpoint.parse(listen.admin) else { return }
        let adminServer: AdminServer
        do {
            adminServer = try AdminServer.start(host: a.host, port: Int(a.port)) { [surface = backend.surface] r in
                surface.handle(r)
            }
        } catch {
            throw ValidationError("--admin \(listen.admin): cannot listen: \(error)")
        }
        defer { adminServer.shutdown() }
        var line = "fake-backend: " + servers.startLine(adminPort: adminServer.port)
        if let tcp = syslogTcp, case .success(let e) = Endpoint.parse(tcp) {
            line += ", syslog tcp on \(Endpoint(host: e.host, port: backend.syslogTCPPort))"
        }
        if let udp = syslogUdp, case .success(let e) = Endpoint.parse(udp) {
            line += ", syslog udp on \(Endpoint(host: e.host, port: backend.syslogUDPPort))"
        }
        printLine(line)
        Termination.install()
        Termination.wait()
    }
}

/// The fake backend's shared state: counters, ledger, latency board, faults, and its admin API.
public final class FakeBackend: @unchecked Sendable {
    public let counters = SinkCounters()
    public let ledger: Ledger
    public let board: LatencyBoard
    public let faults = FaultState()
    /// Set once at start, read by the admin API.
    public var grpcPort: UInt16 = 0
    public var httpPort: UInt16 = 0
    public var syslogTCPPort: UInt16 = 0
    public var syslogUDPPort: UInt16 = 0
    public let syslog = SyslogCounters()

    /// Policies 0..<threads serve gRPC, threads..<2×threads OTLP/HTTP, 2×threads..<3×threads syslog;
    /// each feeds its own ledger ring.
    public init(threads: Int, ledgerWindow: Int, maxRuns: Int) throws(ThreadError) {
        ledger = try Ledger(producers: 3 * threads, windowBits: ledgerWindow, maxRuns: maxRuns)
        board = LatencyBoard(threads: 3 * threads)
    }

    public func policy(slot: Int, maxInflatedBytes: Int) -> CountingPolicy {
        CountingPolicy(
            slot: slot, counters: counters, ledger: ledger, board: board, faults: faults,
            maxInflatedBytes: maxInflatedBytes)
    }

    /// The admin API: the shared control surface plus GET and POST /faults.
    public var surface: ControlSurface {
        ControlSurface(
            status: { [self] in status(query: $0) }, metrics: { [self] in metrics() },
            reset: { [self] in
                counters.reset()
                syslog.reset()
                ledger.reset()
                board.reset()
                return .json("{\"reset\":true}\n")
            },
            extra: [
                ControlRoute("GET", "/faults") { [self] _ in .json(faultsJSON(faults.current)) },
                ControlRoute("POST", "/faults") { [self] r in setFaults(r.body) },
            ])
    }

    func setFaults(_ body: [UInt8]) -> AdminResponse {
        do {
            let args = try jsonArguments(body, example: "{\"error_fraction\": 0.1, \"error_code\": \"UNAVAILABLE\"}")
            let options = try FaultOptions.parse(args)
            let c = try options.config(now: SystemClock.monotonicNanos())
            faults.set(c)
            return .json(faultsJSON(c))
        } catch let e as JSONArgumentsError {
            return .error(400, e.description)
        } catch {
            return .error(400, "faults: " + FaultOptions.message(for: error))
        }
    }

    func faultsJSON(_ c: FaultConfig) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("error_fraction", c.errorFraction, decimals: 6)
        w.field("error_code", GRPCStatusCode(rawValue: c.errorCode)?.name ?? String(c.errorCode))
        w.field("http_error_status", c.httpStatus)
        if let r = c.retryAfterSeconds { w.field("retry_after", r) } else { w.fieldNull("retry_after") }
        w.field("latency_ms", Double(c.latencyNanos) / 1e6)
        w.field("reject_fraction", c.rejectFraction, decimals: 6)
        let now = SystemClock.monotonicNanos()
        if c.outageEndNanos > 0 {
            w.field("outage_starts_in_s", c.outageStartNanos > now ? Double(c.outageStartNanos - now) / 1e9 : 0)
            w.field("outage_ends_in_s", c.outageEndNanos > now ? Double(c.outageEndNanos - now) / 1e9 : 0)
        } else {
            w.fieldNull("outage_starts_in_s")
            w.fieldNull("outage_ends_in_s")
        }
        w.endObject()
        return w.text + "\n"
    }

    /// Per-signal totals of the ledger.
    func ledgerTotals(_ runs: [RunTotals]) -> [Signal: RunTotals] {
        var out: [Signal: RunTotals] = [:]
        for r in runs {
            var t = out[r.signal] ?? RunTotals(signal: r.signal, runID: 0)
            t.received += r.received
            t.distinct += r.distinct
            t.missing += r.missing
            t.duplicates += r.duplicates
            t.late += r.late
            out[r.signal] = t
        }
        return out
    }

    /// The /status document. `window=start` in the query opens the latency window, `window=stop` closes
    /// it (the orchestrator reads these at its measurement window's edges); the document then holds the
    /// window's histograms as `window`. `seconds_after=T` (a unix second; 0 for the latest) adds
    /// `latency_seconds`: the per-second percentiles of the finished seconds after T (at most 120).
    public func status(query: String = "") -> String {
        let marks = query.split(separator: "&")
        if marks.contains("window=start") { board.startWindow() }
        if marks.contains("window=stop") { board.stopWindow() }
        let secondsAfter = marks.first { $0.hasPrefix("seconds_after=") }.flatMap {
            UInt64($0.dropFirst("seconds_after=".count))
        }
        let runs = ledger.snapshot()
        let totals = ledgerTotals(runs)
        let latency = board.snapshot()
        var w = JSONWriter()
        w.beginObject()
        // When the counters below were read (the orchestrator's window rates use it).
        w.field("time_unix_nano", SystemClock.unixNanos())
        w.field("counts_items", true)
        for s in Signal.allCases {
            let c = counters.forSignal(s)
            let t = totals[s] ?? RunTotals(signal: s, runID: 0)
            w.beginObject(s.rawValue)
            w.field("received", c.items.load(ordering: .relaxed))
            w.field("requests", c.requests.load(ordering: .relaxed))
            w.field("bytes", c.bytes.load(ordering: .relaxed))
            w.field("malformed", c.malformed.load(ordering: .relaxed))
            w.field("rejected", c.rejected.load(ordering: .relaxed))
            w.field("injected_errors", c.injectedErrors.load(ordering: .relaxed))
            w.field("tracked", t.received)
            w.field("distinct", t.distinct)
            w.field("missing", t.missing)
            w.field("duplicates", t.duplicates)
            w.field("late", t.late)
            w.endObject()
        }
        w.beginObject("syslog")
        w.field("messages", syslog.messages.load(ordering: .relaxed))
        w.field("bytes", syslog.bytes.load(ordering: .relaxed))
        w.field("malformed", syslog.malformed.load(ordering: .relaxed))
        w.field("connections", syslog.connections.load(ordering: .relaxed))
        w.endObject()
        FakeBackend.latencyFields(&w, "latency_ms", latency.latency)
        FakeBackend.latencyFields(&w, "latency_ms_uncorrected", latency.uncorrected)
        w.beginObject("window")
        w.field("open", latency.windowOpen)
        FakeBackend.latencyFields(&w, "latency_ms", latency.windowLatency)
        FakeBackend.latencyFields(&w, "latency_ms_uncorrected", latency.windowUncorrected)
        w.endObject()
        if let after = secondsAfter {
            w.beginArray("latency_seconds")
            for x in board.seconds.seconds(after: after, nowUnixNanos: SystemClock.unixNanos()) {
                w.beginObject()
                w.field("t", Int(x.second))
                FakeBackend.percentileFields(&w, "latency_ms", x.latency)
                FakeBackend.percentileFields(&w, "latency_ms_uncorrected", x.uncorrected)
                w.endObject()
            }
            w.endArray()
        }
        w.beginArray("runs")
        for r in runs {
            w.beginObject()
            w.field("signal", r.signal.rawValue)
            w.field("run_id", RunID(r.runID).description)
            w.field("received", r.received)
            w.field("distinct", r.distinct)
            w.field("missing", r.missing)
            w.field("duplicates", r.duplicates)
            w.field("late", r.late)
            w.field("highest_seq", r.highest)
            w.endObject()
        }
        w.endArray()
        w.field("unknown_path", counters.unknownPath.load(ordering: .relaxed))
        w.field("connections", counters.connections.load(ordering: .relaxed))
        w.field("unparseable", counters.unparseable.load(ordering: .relaxed))
        w.field("grpc_port", Int(grpcPort))
        w.field("http_port", Int(httpPort))
        w.field("syslog_tcp_port", Int(syslogTCPPort))
        w.field("syslog_udp_port", Int(syslogUDPPort))
        w.endObject()
        return w.text + "\n"
    }

    /// Percentiles (milliseconds) and count of a latency histogram (microseconds).
    static func latencyFields(_ w: inout JSONWriter, _ name: String, _ h: Histogram<UInt64>) {
        w.beginObject(name)
        let empty = h.totalCount == 0
        for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99_9", 99.9)] {
            w.field(name, empty ? 0 : Double(h.valueAtPercentile(p)) / 1000)
        }
        w.field("max", empty ? 0 : Double(h.max) / 1000)
        w.field("count", Int(h.totalCount))
        w.endObject()
    }

    /// The same fields from percentiles already taken (microseconds).
    static func percentileFields(_ w: inout JSONWriter, _ name: String, _ p: LatencyPercentiles) {
        w.beginObject(name)
        w.field("p50", Double(p.p50) / 1000)
        w.field("p90", Double(p.p90) / 1000)
        w.field("p99", Double(p.p99) / 1000)
        w.field("p99_9", Double(p.p99_9) / 1000)
        w.field("max", Double(p.max) / 1000)
        w.field("count", Int(p.count))
        w.endObject()
    }

    public func metrics() -> String {
        let totals = ledgerTotals(ledger.snapshot())
        let latency = board.snapshot()
        var out = ""
        func counter(_ name: String, _ help: String, _ value: (Signal) -> Int) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for s in Signal.allCases { out += "\(name){signal=\"\(s.rawValue)\"} \(value(s))\n" }
        }
        counter("pipeperf_backend_items_total", "Items received (log records, spans, metric data points), by signal.") {
            self.counters.forSignal($0).items.load(ordering: .relaxed)
        }
        counter("pipeperf_backend_requests_total", "Export requests received, by signal.") {
            self.counters.forSignal($0).requests.load(ordering: .relaxed)
        }
        counter("pipeperf_backend_bytes_total", "Bytes of request bodies received, by signal.") {
            self.counters.forSignal($0).bytes.load(ordering: .relaxed)
        }
        counter("pipeperf_backend_malformed_total", "Requests refused as malformed or oversized, by signal.") {
            self.counters.forSignal($0).malformed.load(ordering: .relaxed)
        }
        counter("pipeperf_backend_rejected_total", "Items rejected through injected partial success, by signal.") {
            self.counters.forSignal($0).rejected.load(ordering: .relaxed)
        }
        counter("pipeperf_backend_injected_errors_total", "Requests answered with an injected error, by signal.") {
            self.counters.forSignal($0).injectedErrors.load(ordering: .relaxed)
        }
        out +=
            "# HELP pipeperf_backend_missing Sequence numbers below the highest seen that never arrived, by signal.\n# TYPE pipeperf_backend_missing gauge\n"
        for s in Signal.allCases {
            out += "pipeperf_backend_missing{signal=\"\(s.rawValue)\"} \(totals[s]?.missing ?? 0)\n"
        }
        counter("pipeperf_backend_duplicates_total", "Items whose sequence number had already arrived, by signal.") {
            totals[$0]?.duplicates ?? 0
        }
        func summary(_ name: String, _ help: String, _ h: Histogram<UInt64>) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) summary\n"
            let empty = h.totalCount == 0
            for (q, p) in [("0.5", 50.0), ("0.9", 90.0), ("0.99", 99.0), ("0.999", 99.9)] {
                out +=
                    "\(name){quantile=\"\(q)\"} \(formatFixed(empty ? 0 : Double(h.valueAtPercentile(p)) / 1e6, 6))\n"
            }
            out += "\(name)_count \(h.totalCount)\n"
        }
        summary(
            "pipeperf_backend_latency_seconds",
            "End-to-end latency from pipeperf.intended_ns (the scheduled send) to arrival.",
            latency.latency)
        summary(
            "pipeperf_backend_latency_uncorrected_seconds",
            "End-to-end latency from pipeperf.sent_ns (the actual send) to arrival.",
            latency.uncorrected)
        out +=
            "# HELP pipeperf_backend_syslog_messages_total syslog messages received (TCP and UDP; also counted as logs).\n"
        out +=
            "# TYPE pipeperf_backend_syslog_messages_total counter\npipeperf_backend_syslog_messages_total \(syslog.messages.load(ordering: .relaxed))\n"
        out +=
            "# HELP pipeperf_backend_syslog_malformed_total syslog connections closed for broken framing or oversized messages.\n"
        out +=
            "# TYPE pipeperf_backend_syslog_malformed_total counter\npipeperf_backend_syslog_malformed_total \(syslog.malformed.load(ordering: .relaxed))\n"
        out += "# HELP pipeperf_backend_connections Open connections.\n# TYPE pipeperf_backend_connections gauge\n"
        out += "pipeperf_backend_connections \(counters.connections.load(ordering: .relaxed))\n"
        return out
    }
}
