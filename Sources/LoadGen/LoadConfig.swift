import PipeperfBase
import H2Transport
import OTLPWire
import SyslogWire

/// The protocol a load run speaks.
public enum LoadProtocol: String, Sendable, CaseIterable {
    /// OTLP over gRPC on HTTP/2 (h2c or TLS with ALPN h2).
    case grpc
    /// OTLP/HTTP: binary protobuf POSTs on HTTP/1.1 keep-alive connections (pipelined).
    case http
    /// syslog messages (logs only) over TCP or UDP.
    case syslog

    /// The conventional port: OTLP gRPC 4317, OTLP/HTTP 4318, syslog 514.
    public var defaultPort: Int {
        switch self {
        case .grpc: return 4317
        case .http: return 4318
        case .syslog: return 514
        }
    }
}

/// The transport under syslog.
public enum SyslogTransport: String, Sendable, CaseIterable {
    case tcp, udp
}

/// Everything a load run needs, validated.
public struct LoadConfig: Sendable {
    public var endpoint: Endpoint
    public var rate: Rate
    /// Length of the sending window in nanoseconds (nil when `count` bounds the run).
    public var durationNanos: UInt64?
    /// Items to send (rounded up to whole batches); nil when the duration bounds the run.
    public var count: Int?
    public var shape: PayloadShape
    public var seed: UInt64
    public var compression: Compression
    public var threads: Int
    public var connections: Int
    public var maxInFlight: Int
    public var distinctPayloads: Int
    public var headers: [(String, String)]
    public var runID: RunID
    /// How long to wait for replies after the last send before counting the rest as timed out.
    public var drainNanos: UInt64
    /// A send lag above this marks a batch late.
    public var lateThresholdNanos: UInt64
    /// TLS settings; nil for HTTP/2 over cleartext TCP (h2c, prior knowledge).
    public var tls: TLSClientOptions?
    /// The protocol to speak.
    public var transport: LoadProtocol
    /// OTLP/HTTP request path (default: the signal's /v1/... path).
    public var httpPath: String?
    /// syslog: message format and framing (batch and body sizes follow `shape`).
    public var syslog: SyslogShape
    public var syslogTransport: SyslogTransport

    public init(endpoint: Endpoint, rate: Rate, durationNanos: UInt64?, count: Int?, shape: PayloadShape) {
        self.endpoint = endpoint
        self.rate = rate
        self.durationNanos = durationNanos
        self.count = count
        self.shape = shape
        seed = 1
        compression = .none
        threads = 1
        connections = 1
        maxInFlight = 16
        distinctPayloads = 16
        headers = []
        runID = RunID(0)
        drainNanos = 10_000_000_000
        lateThresholdNanos = 1_000_000
        tls = nil
        transport = .grpc
        httpPath = nil
        syslog = SyslogShape()
        syslogTransport = .tcp
    }

    /// The protocol as the summary names it: grpc, http, syslog-tcp or syslog-udp.
    public var protocolName: String {
        transport == .syslog ? "syslog-\(syslogTransport.rawValue)" : transport.rawValue
    }

    /// The syslog shape with the run's batch and body sizes and tracking setting.
    public var syslogShape: SyslogShape {
        var s = syslog
        s.batchSize = shape.batchSize
        s.bodySize = shape.bodySize
        s.tracking = shape.tracking
        if syslogTransport == .udp { s.framing = .datagram }
        return s
    }

    /// The OTLP/HTTP request head up to (not including) the Content-Length value.
    public var httpRequestHead: String {
        // OTLP/HTTP (opentelemetry-proto docs/specification.md): binary protobuf, Content-Type
        // application/x-protobuf, Content-Encoding gzip when compressed. Accept-Encoding identity keeps the
        // (tiny) response readable without a decompressor.
        var h = "POST \(httpPath ?? shape.signal.httpPath) HTTP/1.1\r\nHost: \(endpoint)\r\n"
        h += "Content-Type: application/x-protobuf\r\nUser-Agent: pipeperf-loadgen/1\r\nAccept-Encoding: identity\r\n"
        if compression == .gzip { h += "Content-Encoding: gzip\r\n" }
        for (k, v) in headers { h += "\(k): \(v)\r\n" }
        return h + "Content-Length: "
    }

    /// Batches in the run, or nil for an unbounded closed-loop (`--rate max --duration`) run.
    public var plannedBatches: Int? {
        let batch = shape.batchSize
        if let count { return (count + batch - 1) / batch }
        guard case .perSecond(let r) = rate, let d = durationNanos else { return nil }
        // Items planned: rate × duration, as whole batches, computed without integer truncation of the rate.
        return Int((r * Double(d) / 1e9 / Double(batch)).rounded(.down))
    }

    /// Nanoseconds between two consecutive batches of the whole run (open loop).
    public var batchIntervalNanos: Double? {
        guard case .perSecond(let r) = rate else { return nil }
        return Double(shape.batchSize) * 1e9 / r
    }

    /// The request headers of an OTLP gRPC export.
    public var grpcHeaders: [(String, String)] {
        // gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md): method, scheme, path, authority, then
        // content-type application/grpc and te: trailers; grpc-encoding names the message compression.
        var h: [(String, String)] = [
            (":method", "POST"), (":scheme", tls == nil ? "http" : "https"), (":path", shape.signal.grpcPath),
            (":authority", endpoint.description), ("content-type", "application/grpc"), ("te", "trailers"),
            ("user-agent", "pipeperf-loadgen/1"),
        ]
        if compression == .gzip { h.append(("grpc-encoding", "gzip")) }
        h.append(("grpc-accept-encoding", "identity,gzip"))
        for (k, v) in headers { h.append((k.lowercased(), v)) }
        return h
    }
}
