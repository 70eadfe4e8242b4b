import AdminHTTP
import ArgumentParser
import H2Transport
import OTLPWire
import SinkCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `null-sink`: accepts OTLP over gRPC and answers success at the least possible cost.
public struct NullSinkCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "null-sink",
        abstract: "Accept OTLP exports over gRPC and answer success without decoding them (counts requests and bytes).",
        discussion: "Admin API: GET /healthz, GET /status (JSON), GET /metrics (Prometheus), POST /reset. See docs/sinks.md.")

    @Option(help: "OTLP gRPC listen address, HOST:PORT (port 0 picks a free port, printed at start).")
    public var grpc: String = "127.0.0.1:4317"

    @Option(help: "Admin HTTP listen address, HOST:PORT (port 0 picks a free port).")
    public var admin: String = "127.0.0.1:8081"

    @Option(help: "Threads, each with its own event loop and listener on the same port (1-64).")
    public var threads: Int = 1

    @Option(help: "Largest gRPC message accepted; larger ones get RESOURCE_EXHAUSTED.")
    public var maxMessageBytes: Int = 4 * 1024 * 1024

    public init() {}

    public func validate() throws {
        guard case .success = Endpoint.parse(grpc) else { throw ValidationError("--grpc must be HOST:PORT, e.g. 127.0.0.1:4317 (got '\(grpc)')") }
        guard case .success = Endpoint.parse(admin) else { throw ValidationError("--admin must be HOST:PORT, e.g. 127.0.0.1:8081 (got '\(admin)')") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be between 1 and 64 (got \(threads))") }
        guard maxMessageBytes >= 5 else { throw ValidationError("--max-message-bytes must be at least 5 (got \(maxMessageBytes))") }
    }

    public func run() throws {
        guard case .success(let g) = Endpoint.parse(grpc), case .success(let a) = Endpoint.parse(admin) else { return }
        let counters = SinkCounters()
        let sink: GRPCServer
        do {
            sink = try GRPCServer(GRPCServerOptions(endpoint: g, threads: threads, maxMessageBytes: maxMessageBytes, name: "null-sink"),
                                  counters: counters, makePolicy: { _ in AcceptAll() })
        } catch {
            throw ValidationError("--grpc \(grpc): \(error)")
        }
        let grpcPort = sink.port
        let server: AdminServer
        do {
            server = try AdminServer.start(host: a.host, port: Int(a.port)) { r in
                nullSinkAdmin(r, counters: counters, grpcPort: grpcPort)
            }
        } catch {
            sink.stop()
            throw ValidationError("--admin \(admin): cannot listen: \(error)")
        }
        printLine("null-sink: grpc listening on \(Endpoint(host: g.host, port: grpcPort)), admin on \(Endpoint(host: a.host, port: UInt16(server.port)))")
        Termination.install()
        Termination.wait()
        sink.stop()
        server.shutdown()
    }
}

/// The null sink's admin API.
func nullSinkAdmin(_ r: AdminRequest, counters: SinkCounters, grpcPort: UInt16) -> AdminResponse {
    switch (r.method, r.path) {
    case ("GET", "/healthz"): return AdminResponse(body: "ok\n")
    case ("POST", "/reset"):
        counters.reset()
        return .json("{\"reset\":true}\n")
    case ("GET", "/status"):
        var s = "{"
        for sig in Signal.allCases {
            let c = counters.forSignal(sig)
            s += "\"\(sig.rawValue)\":{\"requests\":\(c.requests.load(ordering: .relaxed)),\"bytes\":\(c.bytes.load(ordering: .relaxed)),"
            s += "\"malformed\":\(c.malformed.load(ordering: .relaxed))},"
        }
        s += "\"unknown_path\":\(counters.unknownPath.load(ordering: .relaxed)),\"connections\":\(counters.connections.load(ordering: .relaxed)),"
        s += "\"grpc_port\":\(grpcPort)}\n"
        return .json(s)
    case ("GET", "/metrics"):
        var out = ""
        for (name, help, pick) in [
            ("pipeperf_sink_requests_total", "Export requests received, by signal.", { (c: SignalCounters) in c.requests.load(ordering: .relaxed) }),
            ("pipeperf_sink_bytes_total", "Bytes of gRPC request bodies received, by signal.", { (c: SignalCounters) in c.bytes.load(ordering: .relaxed) }),
            ("pipeperf_sink_malformed_total", "Requests answered INVALID_ARGUMENT or RESOURCE_EXHAUSTED, by signal.", { (c: SignalCounters) in c.malformed.load(ordering: .relaxed) }),
        ] {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for sig in Signal.allCases { out += "\(name){signal=\"\(sig.rawValue)\"} \(pick(counters.forSignal(sig)))\n" }
        }
        out += "# HELP pipeperf_sink_connections Open gRPC connections.\n# TYPE pipeperf_sink_connections gauge\n"
        out += "pipeperf_sink_connections \(counters.connections.load(ordering: .relaxed))\n"
        return AdminResponse(contentType: "text/plain; version=0.0.4", body: out)
    default:
        return .error(404, "no such endpoint \(r.method) \(r.path); try GET /healthz, /status, /metrics or POST /reset")
    }
}
