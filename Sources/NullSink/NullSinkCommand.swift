import PipeperfBase
import AdminHTTP
import ArgumentParser
import H2Transport
import OTLPWire
import SinkCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `null-sink`: accepts OTLP (gRPC and OTLP/HTTP) and answers success at the least possible cost.
public struct NullSinkCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "null-sink",
        abstract:
            "Accept OTLP exports (gRPC and OTLP/HTTP) and answer success without decoding them (counts requests and bytes).",
        discussion:
            "Admin API: GET /healthz, GET /status (JSON), GET /metrics (Prometheus), POST /reset. See docs/sinks.md. `null-sink healthcheck [HOST:PORT]` exits 0 when the admin address (default 127.0.0.1:8081) answers GET /healthz with 200 (the container image's health command)."
    )

    @OptionGroup public var listen: SinkListenOptions

    public init() {}

    public func validate() throws { try listen.requireListener() }

    public func run() throws {
        let counters = SinkCounters()
        let servers = try SinkServers(listen, name: "null-sink", counters: counters) { _ in AcceptAll() }
        defer { servers.stop() }
        let ports = (servers.grpcPort, servers.httpPort)
        guard case .success(let a) = Endpoint.parse(listen.admin) else { return }
        let server: AdminServer
        do {
            let surface = nullSinkSurface(counters: counters, grpcPort: ports.0, httpPort: ports.1)
            server = try AdminServer.start(host: a.host, port: Int(a.port)) { r in surface.handle(r) }
        } catch {
            throw ValidationError("--admin \(listen.admin): cannot listen: \(error)")
        }
        defer { server.shutdown() }
        printLine("null-sink: " + servers.startLine(adminPort: server.port))
        Termination.install()
        Termination.wait()
    }
}

/// The null sink's admin API: the shared control surface over its counters.
func nullSinkSurface(counters: SinkCounters, grpcPort: UInt16, httpPort: UInt16) -> ControlSurface {
    ControlSurface(
        status: { _ in nullSinkStatus(counters, grpcPort: grpcPort, httpPort: httpPort) },
        metrics: { nullSinkMetrics(counters) },
        reset: {
            counters.reset()
            return .json("{\"reset\":true}\n")
        })
}

/// The /status document: requests, bytes and malformed requests per signal, connections, ports.
func nullSinkStatus(_ counters: SinkCounters, grpcPort: UInt16, httpPort: UInt16) -> String {
    var w = JSONWriter()
    w.beginObject()
    w.field("time_unix_nano", SystemClock.unixNanos())
    // The null sink counts requests and bytes; it never reads a message, so it cannot count items.
    w.field("counts_items", false)
    for sig in Signal.allCases {
        let c = counters.forSignal(sig)
        w.beginObject(sig.rawValue)
        w.field("requests", c.requests.load(ordering: .relaxed))
        w.field("bytes", c.bytes.load(ordering: .relaxed))
        w.field("malformed", c.malformed.load(ordering: .relaxed))
        w.endObject()
    }
    w.field("unknown_path", counters.unknownPath.load(ordering: .relaxed))
    w.field("connections", counters.connections.load(ordering: .relaxed))
    w.field("unparseable", counters.unparseable.load(ordering: .relaxed))
    w.field("grpc_port", Int(grpcPort))
    w.field("http_port", Int(httpPort))
    w.endObject()
    return w.text + "\n"
}

/// The Prometheus text: requests, bytes and malformed requests per signal, open connections.
func nullSinkMetrics(_ counters: SinkCounters) -> String {
    var out = ""
    for (name, help, pick) in [
        (
            "pipeperf_sink_requests_total", "Export requests received, by signal.",
            { (c: SignalCounters) in c.requests.load(ordering: .relaxed) }
        ),
        (
            "pipeperf_sink_bytes_total", "Bytes of request bodies received (gRPC framing included), by signal.",
            { (c: SignalCounters) in c.bytes.load(ordering: .relaxed) }
        ),
        (
            "pipeperf_sink_malformed_total", "Requests answered INVALID_ARGUMENT or RESOURCE_EXHAUSTED, by signal.",
            { (c: SignalCounters) in c.malformed.load(ordering: .relaxed) }
        ),
    ] {
        out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
        for sig in Signal.allCases { out += "\(name){signal=\"\(sig.rawValue)\"} \(pick(counters.forSignal(sig)))\n" }
    }
    out +=
        "# HELP pipeperf_sink_connections Open connections (gRPC and OTLP/HTTP).\n# TYPE pipeperf_sink_connections gauge\n"
    out += "pipeperf_sink_connections \(counters.connections.load(ordering: .relaxed))\n"
    return out
}
