// Fault injection: what the fake backend does to exports instead of accepting them, set by flags at
// start and replaced at run time by POST /faults (the same names, as JSON). The receiving threads
// read the settings with one relaxed atomic load per request and copy them only when they changed.

import ArgumentParser
import PipeperfBase
import H2Transport
import OTLPWire
import SinkCore
import Synchronization

/// The fault settings, validated.
public struct FaultConfig: Sendable, Equatable {
    /// Fraction of requests answered with `errorCode` (0 = none).
    public var errorFraction = 0.0
    /// gRPC status code of injected errors (1-16).
    public var errorCode = GRPCStatusCode.unavailable.rawValue
    /// HTTP status of injected errors on OTLP/HTTP.
    public var httpStatus = 503
    /// Retry delay to advertise with injected errors and outages (gRPC RetryInfo, HTTP Retry-After).
    public var retryAfterSeconds: Int? = nil
    /// Added to every answer.
    public var latencyNanos: UInt64 = 0
    /// Fraction of each request's items rejected through OTLP partial success.
    public var rejectFraction = 0.0
    /// Outage window, monotonic nanoseconds: every export is answered UNAVAILABLE (HTTP 503) inside it.
    public var outageStartNanos: UInt64 = 0
    public var outageEndNanos: UInt64 = 0
    /// During the outage: answer UNAVAILABLE, or refuse connections (listeners closed, connections dropped).
    public var outageRefuses = false
    /// Read each gRPC connection at most this fast (0: as fast as it comes), so TCP and HTTP/2 flow control
    /// push back on the sender.
    public var slowReadBytesPerSecond = 0
    public init() {}

    /// Whether `now` (monotonic) is inside the outage window.
    public func inOutage(_ now: UInt64) -> Bool {
        outageEndNanos > 0 && now >= outageStartNanos && now < outageEndNanos
    }

    public var isNone: Bool { self == FaultConfig() }
}

/// The fault flags (and the keys of POST /faults).
public struct FaultOptions: ParsableArguments, Sendable {
    @Option(help: "Fraction of export requests answered with --error-code (0-1).")
    public var errorFraction: Double = 0

    @Option(help: "gRPC status of injected errors: a name such as UNAVAILABLE or RESOURCE_EXHAUSTED, or 1-16.")
    public var errorCode: String = "UNAVAILABLE"

    @Option(
        help:
            "HTTP status of injected errors on OTLP/HTTP (400-599; default: mapped from --error-code as OTLP/HTTP does)."
    )
    public var httpErrorStatus: Int?

    @Option(
        help: "Retry delay in whole seconds sent with injected errors and outages (gRPC RetryInfo, HTTP Retry-After).")
    public var retryAfter: Int?

    @Option(help: "Latency added to every answer, e.g. 5ms (0 for none).")
    public var latency: String = "0"

    @Option(help: "Fraction of each request's items rejected through OTLP partial success (0-1).")
    public var rejectFraction: Double = 0

    @Option(help: "Start an outage this long after the faults are set, e.g. 10s (with --outage-for).")
    public var outageAfter: String = "0"

    @Option(help: "Length of the outage: every export is answered UNAVAILABLE (HTTP 503) meanwhile, e.g. 5s.")
    public var outageFor: String?

    @Option(
        help:
            "What the outage does: unavailable (answer UNAVAILABLE / 503) or refuse (close the listeners and connections: connection refused)."
    )
    public var outageMode: String = "unavailable"

    @Option(
        help:
            "Read each gRPC connection at most this many bytes per second (0: no limit), so flow control pushes back on the sender."
    )
    public var slowRead: Int = 0

    public init() {}

    public func validate() throws { _ = try config(now: 0) }

    /// The settings, with the outage window placed relative to `now` (monotonic nanoseconds).
    public func config(now: UInt64) throws -> FaultConfig {
        var c = FaultConfig()
        guard (0...1).contains(errorFraction) else {
            throw ValidationError("--error-fraction must be between 0 and 1 (got \(errorFraction))")
        }
        guard (0...1).contains(rejectFraction) else {
            throw ValidationError("--reject-fraction must be between 0 and 1 (got \(rejectFraction))")
        }
        guard let code = FaultOptions.grpcCode(errorCode) else {
            throw ValidationError(
                "--error-code must be a gRPC status name (UNAVAILABLE, RESOURCE_EXHAUSTED, ...) or a number 1-16 (got '\(errorCode)')"
            )
        }
        c.errorFraction = errorFraction
        c.errorCode = code
        c.rejectFraction = rejectFraction
        if let s = httpErrorStatus {
            guard (400...599).contains(s) else {
                throw ValidationError("--http-error-status must be between 400 and 599 (got \(s))")
            }
            c.httpStatus = s
        } else {
            c.httpStatus = ExportReply.httpStatus(forGRPC: code)
        }
        if let r = retryAfter {
            guard (0...86_400).contains(r) else {
                throw ValidationError("--retry-after must be between 0 and 86400 seconds (got \(r))")
            }
            c.retryAfterSeconds = r
        }
        c.latencyNanos = try FaultOptions.duration(latency, flag: "--latency")
        if let outageFor {
            let length = try FaultOptions.duration(outageFor, flag: "--outage-for")
            let after = try FaultOptions.duration(outageAfter, flag: "--outage-after")
            c.outageStartNanos = now &+ after
            c.outageEndNanos = now &+ after &+ length
        } else if outageAfter != "0" {
            throw ValidationError("--outage-after needs --outage-for")
        }
        switch outageMode {
        case "unavailable": c.outageRefuses = false
        case "refuse": c.outageRefuses = true
        default: throw ValidationError("--outage-mode must be unavailable or refuse (got '\(outageMode)')")
        }
        guard slowRead >= 0 else {
            throw ValidationError("--slow-read must be 0 (no limit) or a number of bytes per second (got \(slowRead))")
        }
        if slowRead > 0 && slowRead < 1024 {
            throw ValidationError("--slow-read must be at least 1024 bytes per second (got \(slowRead))")
        }
        c.slowReadBytesPerSecond = slowRead
        return c
    }

    static func duration(_ text: String, flag: String) throws -> UInt64 {
        if text.trimmingSpaces == "0" { return 0 }
        guard let n = DurationSpec.parseNanos(text) else {
            throw ValidationError("\(flag) must be a duration such as 5ms, 2s or 0 (got '\(text)')")
        }
        return n
    }

    /// An error code to inject: a gRPC status name or number, OK excluded.
    static func grpcCode(_ text: String) -> Int? {
        guard let c = GRPCStatusCode(name: text), c != .ok else { return nil }
        return c.rawValue
    }
}

/// The current settings, shared by the receiving threads.
public final class FaultState: Sendable {
    let config = Mutex(FaultConfig())
    let generation = Atomic<Int>(0)
    public init() {}

    public func set(_ c: FaultConfig) {
        config.withLock { $0 = c }
        generation.wrappingAdd(1, ordering: .releasing)
    }

    public var current: FaultConfig { config.withLock { $0 } }
}

/// One thread's view of the faults: decides per request with its own random numbers.
struct FaultDecider {
    let state: FaultState
    var seen = -1
    var config = FaultConfig()
    var rng: SplitMix64

    init(state: FaultState, seed: UInt64) {
        self.state = state
        rng = SplitMix64(seed: seed)
    }

    /// The current settings (copied when they changed: one atomic load otherwise).
    @inline(__always)
    mutating func refresh() {
        let g = state.generation.load(ordering: .acquiring)
        if g != seen {
            config = state.current
            seen = g
        }
    }

    /// Before the payload is read: an injected error or outage answer (nil: go on and count).
    mutating func error(now: UInt64) -> ExportReply? {
        refresh()
        if config.isNone { return nil }
        if config.inOutage(now) {
            return ExportReply(
                kind: .error(
                    grpcCode: GRPCStatusCode.unavailable.rawValue, httpStatus: GRPCStatusCode.unavailable.httpStatus),
                message: "outage injected by pipeperf fake-backend",
                retryAfterSeconds: config.retryAfterSeconds, delayNanos: config.latencyNanos)
        }
        if config.errorFraction > 0 && Double(rng.next() >> 11) / Double(1 << 53) < config.errorFraction {
            return ExportReply(
                kind: .error(grpcCode: config.errorCode, httpStatus: config.httpStatus),
                message: "error injected by pipeperf fake-backend", retryAfterSeconds: config.retryAfterSeconds,
                delayNanos: config.latencyNanos)
        }
        return nil
    }

    /// After the payload was counted: success, possibly partial (rejecting a fraction of `items`) and delayed.
    func success(items: Int) -> ExportReply {
        var reply = ExportReply.success
        if config.isNone { return reply }
        reply.delayNanos = config.latencyNanos
        let rejected = Int((Double(items) * config.rejectFraction).rounded())
        if rejected > 0 {
            reply.kind = .ok(rejected: rejected)
            reply.message = "partial success injected by pipeperf fake-backend"
        }
        return reply
    }
}
