// `loadgen serve`: the load generator driven over HTTP by the orchestrator (the load image's mode).
// POST /start takes the run options as JSON (the same names as the flags: {"rate": "100k",
// "duration": "30s", "batch_size": 1000, ...}), validated exactly like the command line.

import PipeperfBase
import AdminHTTP
import ArgumentParser
import H2Transport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `loadgen serve --admin HOST:PORT`.
public struct ServeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Wait for runs started over HTTP (POST /start, POST /stop, GET /status, GET /metrics, GET /healthz).",
        discussion: """
            POST /start takes a JSON object whose keys are run options without the leading dashes \
            ("rate", "duration", "batch-size" or "batch_size", "endpoint", ...): strings, numbers, true for \
            flags, arrays for repeatable options. It answers 202 with the run's settings, 400 naming a bad \
            option, or 409 while a run is going on. POST /stop answers 409 when idle. See docs/loadgen.md.
            """)

    @Option(help: "Address of the admin HTTP server, HOST:PORT (port 0 picks a free port, printed at start).")
    public var admin: String = "127.0.0.1:8080"

    public init() {}

    public func validate() throws {
        guard case .success = Endpoint.parse(admin) else {
            throw ValidationError("--admin must be HOST:PORT, e.g. 127.0.0.1:8080 (got '\(admin)')")
        }
    }

    public func run() throws {
        guard case .success(let ep) = Endpoint.parse(admin) else { return }
        if isDebugBuild { printError("loadgen serve: WARNING: this is a DEBUG build; do not measure with it.") }
        let controller = ServeController()
        let server: AdminServer
        do {
            server = try AdminServer.start(host: ep.host, port: Int(ep.port)) { [surface = controller.surface] in
                surface.handle($0)
            }
        } catch {
            throw ValidationError("--admin \(admin): cannot listen: \(error)")
        }
        // Unbuffered: supervisors and tests read the bound port from this line.
        printLine("loadgen serve: admin listening on \(Endpoint(host: ep.host, port: UInt16(server.port)))")
        Termination.install()
        Termination.wait()
        controller.stopAndWait()
        server.shutdown()
    }
}

/// The state behind the admin API. Requests arrive on the admin server's event loop.
final class ServeController: Sendable {
    enum Phase {
        case idle
        case running(LoadRun, startedNanos: UInt64)
        case finished(LoadSummary)
        case failed(String)
    }

    let phase = Mutex<Phase>(.idle)
    let totals = Mutex<(runs: Int, sent: Int, acked: Int, failed: Int, late: Int)>((0, 0, 0, 0, 0))

    /// The admin API: the shared control surface plus POST /start and POST /stop.
    var surface: ControlSurface {
        ControlSurface(
            status: { [self] _ in status() }, metrics: { [self] in metrics() },
            reset: { [self] in
                phase.withLock { p in
                    if case .running = p { return .error(409, "a run is in progress: POST /stop first") }
                    p = .idle
                    return .json("{\"state\":\"idle\"}\n")
                }
            },
            extra: [
                ControlRoute("POST", "/start") { [self] r in start(r.body) },
                ControlRoute("POST", "/stop") { [self] _ in stop() },
            ])
    }

    /// Turns the JSON body into command-line arguments (parsed by the run command itself).
    func arguments(_ body: [UInt8]) throws -> [String] {
        do { return try jsonArguments(body, example: "{\"rate\": \"100k\", \"duration\": \"30s\"}") } catch {
            throw ValidationError(error.description)
        }
    }

    func start(_ body: [UInt8]) -> AdminResponse {
        let config: LoadConfig
        do {
            let args = try arguments(body)
            let command = try RunCommand.parse(args)
            config = try command.makeConfig()
        } catch {
            return .error(400, RunCommand.message(for: error))
        }
        return phase.withLock { p -> AdminResponse in
            if case .running = p { return .error(409, "a run is already in progress: POST /stop first") }
            let load = LoadRun(config: config)
            p = .running(load, startedNanos: SystemClock.monotonicNanos())
            do {
                _ = try spawnThread { [self] in
                    let outcome: Phase
                    do { outcome = .finished(try load.run()) } catch { outcome = .failed("\(error)") }
                    if case .finished(let s) = outcome {
                        totals.withLock { t in
                            t.runs += 1
                            t.sent += s.stats.sent
                            t.acked += s.stats.acked
                            t.failed += s.stats.failedTotal
                            t.late += s.stats.lateBatches
                        }
                    }
                    phase.withLock { $0 = outcome }
                }
            } catch {
                p = .failed("\(error)")
                return .error(500, "cannot start the run: \(error)")
            }
            var w = JSONWriter()
            w.beginObject()
            w.field("state", "running")
            w.field("run_id", config.runID.description)
            w.field("endpoint", config.endpoint.description)
            w.field("target_rate", config.rate.description)
            w.endObject()
            return .json(w.text + "\n", status: 202)
        }
    }

    func stop() -> AdminResponse {
        let load: LoadRun? = phase.withLock { p in
            if case .running(let l, _) = p { return l }
            return nil
        }
        guard let load else { return .error(409, "no run in progress") }
        load.live.stop.store(true, ordering: .relaxed)
        // Wait (bounded) for the run to drain and publish its summary.
        for _ in 0..<300 {
            if case .running = phase.withLock({ $0 }) { usleep(10_000) } else { break }
        }
        return .json(status())
    }

    func stopAndWait() {
        if case .running(let l, _) = phase.withLock({ $0 }) {
            l.live.stop.store(true, ordering: .relaxed)
            for _ in 0..<1000 {
                if case .running = phase.withLock({ $0 }) { usleep(10_000) } else { break }
            }
        }
    }

    /// The summary object: live counters while running, the full summary when finished.
    func status() -> String {
        switch phase.withLock({ $0 }) {
        case .idle: return "{\"state\":\"idle\"}\n"
        case .failed(let e):
            var w = JSONWriter()
            w.beginObject()
            w.field("state", "failed")
            w.field("error", e)
            w.endObject()
            return w.text + "\n"
        case .finished(let s):
            var text = s.json
            // Prefix the finished summary with its state.
            text.removeFirst()
            return "{\"state\":\"finished\"," + text
        case .running(let load, let started):
            let live = load.live
            var w = JSONWriter()
            w.beginObject()
            w.field("state", "running")
            // When the counters below were read (the orchestrator's window rates use it).
            w.field("time_unix_nano", SystemClock.unixNanos())
            w.field("run_id", load.config.runID.description)
            w.field("endpoint", load.config.endpoint.description)
            w.field("elapsed_s", Double(SystemClock.monotonicNanos() - started) / 1e9, decimals: 3)
            w.field("sent", live.sent.load(ordering: .relaxed))
            w.field("acked", live.acked.load(ordering: .relaxed))
            w.field("failed", live.failed.load(ordering: .relaxed))
            w.field("in_flight", live.inFlight.load(ordering: .relaxed))
            w.field("late_batches", live.late.load(ordering: .relaxed))
            w.endObject()
            return w.text + "\n"
        }
    }

    /// Prometheus text exposition (names documented in docs/loadgen.md).
    func metrics() -> String {
        let t = totals.withLock { $0 }
        var sent = t.sent, acked = t.acked, failed = t.failed, late = t.late, inFlight = 0, running = 0
        if case .running(let load, _) = phase.withLock({ $0 }) {
            sent += load.live.sent.load(ordering: .relaxed)
            acked += load.live.acked.load(ordering: .relaxed)
            failed += load.live.failed.load(ordering: .relaxed)
            late += load.live.late.load(ordering: .relaxed)
            inFlight = load.live.inFlight.load(ordering: .relaxed)
            running = 1
        }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: Int) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("pipeperf_loadgen_sent_items_total", "counter", "Items handed to the transport, all runs.", sent)
        metric(
            "pipeperf_loadgen_acked_items_total", "counter",
            "Items acknowledged with gRPC OK (minus partial-success rejections).", acked)
        metric("pipeperf_loadgen_failed_items_total", "counter", "Items whose export failed.", failed)
        metric(
            "pipeperf_loadgen_late_batches_total", "counter",
            "Batches sent later than the late threshold after their planned time.", late)
        metric("pipeperf_loadgen_in_flight_requests", "gauge", "Export requests awaiting a reply.", inFlight)
        metric("pipeperf_loadgen_running", "gauge", "1 while a run is in progress.", running)
        metric("pipeperf_loadgen_runs_total", "counter", "Runs finished.", t.runs)
        return out
    }
}
