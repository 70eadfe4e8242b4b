import PipeperfBase
import AdminHTTP
import ArgumentParser
import H2Transport
import OTLPWire
import Synchronization
import SyslogWire

#if canImport(Glibc)
import Glibc
#endif

/// `loadgen [run]`: sends OTLP export requests at a planned rate and reports what happened.
public struct RunCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Send OTLP (gRPC or HTTP) or syslog at a target rate (the default subcommand).",
        discussion: """
            Open loop: batch k is planned at start + k × batch-size / rate and is never delayed by \
            replies; when the pipeline pushes back, lateness and latency grow (and are reported) instead \
            of the rate silently dropping. --rate max is the closed-loop saturation mode. Every item \
            carries pipeperf.run_id, pipeperf.seq and pipeperf.sent_ns unless --no-tracking \
            (docs/tracking.md). The JSON summary is described in docs/loadgen.md.

            Protocols: --protocol grpc (OTLP over gRPC, HTTP/2), http (OTLP/HTTP protobuf on HTTP/1.1, \
            requests pipelined up to --max-in-flight per connection), syslog (logs as RFC 5424 or RFC 3164 \
            messages over TCP or UDP; there is no reply, so a batch counts as acked once written).
            """)

    @Option(name: .customLong("protocol"), help: "grpc, http (OTLP/HTTP) or syslog.")
    public var transport: String = "grpc"

    @Option(help: "Receiver endpoint, HOST:PORT (default 127.0.0.1 on 4317 for grpc, 4318 for http, 514 for syslog).")
    public var endpoint: String?

    @Option(help: "OTLP/HTTP request path (with --protocol http; default /v1/logs, /v1/traces or /v1/metrics).")
    public var httpPath: String?

    @Option(help: "syslog transport: tcp or udp (with --protocol syslog).")
    public var syslogTransport: String?

    @Option(help: "syslog format: rfc5424 or rfc3164 (with --protocol syslog; default rfc5424).")
    public var syslogFormat: String?

    @Option(help: "syslog framing on TCP: octet-counting or newline (RFC 6587; default octet-counting).")
    public var syslogFraming: String?

    @Option(help: "syslog HOSTNAME field (default: this machine's host name).")
    public var syslogHostname: String?

    @Option(help: "syslog APP-NAME / TAG field (default pipeperf).")
    public var syslogAppName: String?

    @Option(help: "Items per second: 250, 100k, 1.5M, or max (closed loop).")
    public var rate: String = "100k"

    @Option(help: "How long to send: 30s, 500ms, 2m, 1m30s (default 10s). Not with --count.")
    public var duration: String?

    @Option(help: "Items to send instead of a duration (rounded up to whole batches).")
    public var count: Int?

    @OptionGroup public var payload: PayloadOptions

    @Option(help: "Worker threads, each with its own event loop and connections (1-64).")
    public var threads: Int = 1

    @Option(help: "Connections per thread (1-1024).")
    public var connections: Int = 1

    @Option(help: "Requests in flight per connection, at most (1-1024).")
    public var maxInFlight: Int = 16

    @Option(help: "Distinct payloads per thread, rotated so compression and caches see varied content (1-4096).")
    public var distinctPayloads: Int = 16

    @Option(name: .customLong("header"), help: "Extra request header K=V (repeatable), e.g. authorization=Bearer x.")
    public var headers: [String] = []

    @Option(help: "Run id carried as pipeperf.run_id: 16 hex digits (default: random).")
    public var runId: String?

    @Option(help: "After the last send, wait this long for replies before counting the rest as timed out.")
    public var drain: String = "10s"

    @Option(help: "A batch sent later than this after its planned time counts as late.")
    public var lateThreshold: String = "1ms"

    @Flag(help: "Use TLS (HTTP/2 with ALPN h2); without it, HTTP/2 over cleartext TCP (h2c, prior knowledge).")
    public var tls = false

    @Option(help: "PEM file of the certificate authorities to trust (with --tls; default: the system's).")
    public var caFile: String?

    @Flag(help: "Do not verify the server's certificate or name (with --tls; for tests only).")
    public var insecureSkipVerify = false

    @Option(help: "PEM client certificate for mutual TLS (with --tls and --client-key).")
    public var clientCert: String?

    @Option(help: "PEM key of --client-cert.")
    public var clientKey: String?

    @Option(help: "Server name for SNI and certificate verification (with --tls; default: the endpoint's host).")
    public var serverName: String?

    @Option(help: "Write the JSON summary to this file.")
    public var summaryJson: String?

    @Flag(help: "Print a progress line every second even when standard error is not a terminal.")
    public var progress = false

    @Flag(help: "No progress line and no human summary (the JSON summary is still written).")
    public var quiet = false

    public init() {}

    public func validate() throws {
        _ = try makeConfig()
    }

    /// Builds the run's configuration, naming the flag and the accepted form on any bad value.
    public func makeConfig() throws -> LoadConfig {
        guard let proto = LoadProtocol(rawValue: transport) else {
            throw ValidationError("--protocol must be one of grpc, http, syslog (got '\(transport)')")
        }
        let ep: Endpoint
        switch Endpoint.parse(endpoint ?? "127.0.0.1:\(proto.defaultPort)") {
        case .success(let e): ep = e
        case .failure(let e): throw ValidationError("--endpoint: \(e)")
        }
        guard let r = Rate.parse(rate) else {
            throw ValidationError(
                "--rate must be a positive number with an optional k/M/G suffix, or max (got '\(rate)'); e.g. 250, 100k, 1.5M"
            )
        }
        if duration != nil && count != nil {
            throw ValidationError("--duration and --count exclude each other: give one")
        }
        var durationNanos: UInt64? = nil
        if count == nil {
            let text = duration ?? "10s"
            guard let d = DurationSpec.parseNanos(text) else {
                throw ValidationError(
                    "--duration must be a positive duration such as 30s, 500ms, 2m or 1m30s (got '\(text)')")
            }
            durationNanos = d
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1 (got \(count))") }
        guard (1...64).contains(threads) else {
            throw ValidationError("--threads must be between 1 and 64 (got \(threads))")
        }
        guard (1...1024).contains(connections) else {
            throw ValidationError("--connections must be between 1 and 1024 (got \(connections))")
        }
        guard (1...1024).contains(maxInFlight) else {
            throw ValidationError("--max-in-flight must be between 1 and 1024 (got \(maxInFlight))")
        }
        guard (1...4096).contains(distinctPayloads) else {
            throw ValidationError("--distinct-payloads must be between 1 and 4096 (got \(distinctPayloads))")
        }
        var parsedHeaders: [(String, String)] = []
        for h in headers {
            guard let eq = h.firstIndex(of: "="), eq != h.startIndex else {
                throw ValidationError("--header must be NAME=VALUE (got '\(h)')")
            }
            let name = h[..<eq].lowercased()
            guard !name.hasPrefix(":"), !["content-type", "te", "grpc-encoding"].contains(name),
                name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
            else {
                throw ValidationError(
                    "--header '\(name)' is not an allowed header name (pseudo-headers and gRPC framing headers are set by loadgen)"
                )
            }
            parsedHeaders.append((name, String(h[h.index(after: eq)...])))
        }
        guard let drainNanos = DurationSpec.parseNanos(drain) else {
            throw ValidationError("--drain must be a duration such as 10s (got '\(drain)')")
        }
        guard let late = DurationSpec.parseNanos(lateThreshold) else {
            throw ValidationError("--late-threshold must be a duration such as 1ms (got '\(lateThreshold)')")
        }
        var id = RunID(SystemClock.unixNanos() ^ (UInt64(getpid()) << 32))
        if let runId {
            guard let parsed = RunID(hex: runId) else {
                throw ValidationError("--run-id must be 16 hexadecimal digits (got '\(runId)')")
            }
            id = parsed
        }
        var config = LoadConfig(endpoint: ep, rate: r, durationNanos: durationNanos, count: count, shape: payload.shape)
        if case .perSecond(let perSecond) = r, let d = durationNanos, (config.plannedBatches ?? 0) < 1 {
            throw ValidationError(
                "--rate \(rate) for \(fixed(Double(d) / 1e9, 3)) s plans \(fixed(perSecond * Double(d) / 1e9, 1)) items, less than one batch of \(payload.batchSize): raise the rate or the duration, or lower --batch-size"
            )
        }
        config.transport = proto
        try applyProtocolOptions(&config)
        config.seed = payload.seed
        config.compression = payload.compression
        config.threads = threads
        config.connections = connections
        config.maxInFlight = maxInFlight
        config.distinctPayloads = distinctPayloads
        config.headers = parsedHeaders
        config.runID = id
        config.drainNanos = drainNanos
        config.lateThresholdNanos = late
        let tlsOnly: [(String, Bool)] = [
            ("--ca-file", caFile != nil), ("--insecure-skip-verify", insecureSkipVerify),
            ("--client-cert", clientCert != nil), ("--client-key", clientKey != nil),
            ("--server-name", serverName != nil),
        ]
        if !tls, let flag = tlsOnly.first(where: { $0.1 })?.0 { throw ValidationError("\(flag) needs --tls") }
        if (clientCert == nil) != (clientKey == nil) {
            throw ValidationError("--client-cert and --client-key go together")
        }
        for (flag, path) in [("--ca-file", caFile), ("--client-cert", clientCert), ("--client-key", clientKey)] {
            if let path, access(path, R_OK) != 0 { throw ValidationError("\(flag): cannot read \(path)") }
        }
        if tls {
            var options = TLSClientOptions()
            options.caFile = caFile
            options.insecureSkipVerify = insecureSkipVerify
            options.certFile = clientCert
            options.keyFile = clientKey
            options.serverName = serverName
            options.alpn = proto == .grpc ? "h2" : proto == .http ? "http/1.1" : nil
            if proto == .syslog && config.syslogTransport == .udp {
                throw ValidationError("--tls is not available with --syslog-transport udp")
            }
            config.tls = options
        }
        return config
    }

    /// Checks and applies --protocol's options (--http-path, --syslog-*), naming any that do not fit.
    func applyProtocolOptions(_ config: inout LoadConfig) throws {
        let proto = config.transport
        let syslogFlags: [(String, String?)] = [
            ("--syslog-transport", syslogTransport), ("--syslog-format", syslogFormat),
            ("--syslog-framing", syslogFraming), ("--syslog-hostname", syslogHostname),
            ("--syslog-app-name", syslogAppName),
        ]
        if proto != .syslog, let flag = syslogFlags.first(where: { $0.1 != nil })?.0 {
            throw ValidationError("\(flag) needs --protocol syslog")
        }
        if proto != .http, httpPath != nil { throw ValidationError("--http-path needs --protocol http") }
        if let httpPath {
            guard httpPath.hasPrefix("/"), httpPath.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                throw ValidationError(
                    "--http-path must start with / and hold no spaces or control characters (got '\(httpPath)')")
            }
            config.httpPath = httpPath
        }
        if proto == .http,
            let bad = headers.first(where: { h in
                let name = h.split(separator: "=", maxSplits: 1).first.map { $0.lowercased() } ?? ""
                return ["host", "content-length", "content-encoding", "transfer-encoding", "connection"].contains(name)
            })
        {
            throw ValidationError("--header '\(bad)': that header is set by loadgen for OTLP/HTTP")
        }
        guard proto == .syslog else { return }
        if payload.signal != .logs {
            throw ValidationError("--protocol syslog carries logs only (got --signal \(payload.signal.rawValue))")
        }
        if payload.compression != .none {
            throw ValidationError("--compression gzip is not available with --protocol syslog")
        }
        if !headers.isEmpty { throw ValidationError("--header is not available with --protocol syslog") }
        if let t = syslogTransport {
            guard let v = SyslogTransport(rawValue: t) else {
                throw ValidationError("--syslog-transport must be tcp or udp (got '\(t)')")
            }
            config.syslogTransport = v
        }
        if let f = syslogFormat {
            guard let v = SyslogFormat(rawValue: f) else {
                throw ValidationError("--syslog-format must be rfc5424 or rfc3164 (got '\(f)')")
            }
            config.syslog.format = v
        }
        if let f = syslogFraming {
            guard let v = SyslogFraming(rawValue: f), v != .datagram else {
                throw ValidationError("--syslog-framing must be octet-counting or newline (got '\(f)')")
            }
            if config.syslogTransport == .udp {
                throw ValidationError("--syslog-framing is for TCP: UDP sends one message per datagram")
            }
            config.syslog.framing = v
        }
        config.syslog.hostname = syslogHostname ?? localHostName()
        if let a = syslogAppName { config.syslog.appName = a }
        let problems = config.syslogShape.problems()
        if let first = problems.first { throw ValidationError("--" + first) }
    }

    public func run() throws {
        let config = try makeConfig()
        if isDebugBuild {
            printError(
                """
                loadgen: WARNING: this is a DEBUG build. Its numbers describe the debug build, not the \
                pipeline; build with `swift build -c release` before measuring anything.
                """)
        }
        let load = LoadRun(config: config)
        // First SIGINT/SIGTERM: stop sending, drain briefly, print what was measured; second: exit now.
        Termination.install()
        let showProgress = !quiet && (progress || isatty(2) != 0)
        // The watcher sleeps until a signal comes (no polling: it costs nothing during the run).
        let watcher = try spawnThread {
            Termination.wait(untilReceived: 1)
            load.live.stop.store(true, ordering: .relaxed)
            Termination.wait(untilReceived: 2)
            _exit(130)
        }
        _ = watcher
        var lastSent = 0
        let summary = try load.run(progress: { t in
            guard showProgress else { return }
            let sent = load.live.sent.load(ordering: .relaxed)
            let line =
                "t=\(fixed(t, 0))s sent \(sent) (\(formatRate(Double(sent - lastSent)))/s) acked \(load.live.acked.load(ordering: .relaxed)) "
                + "failed \(load.live.failed.load(ordering: .relaxed)) in-flight \(load.live.inFlight.load(ordering: .relaxed)) "
                + "late \(load.live.late.load(ordering: .relaxed))"
            lastSent = sent
            printError(line)
        })
        if let path = summaryJson {
            try FileOutput.writeAtomically(summary.json, to: path)
        }
        if !quiet { print(summary.text) }
        if summary.interrupted { throw ExitCode(130) }
    }
}

/// This machine's host name, for the syslog HOSTNAME field ("localhost" when it has none usable).
func localHostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
    let name = String(cString: buf)
    return name.isEmpty || !name.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) ? "localhost" : name
}
