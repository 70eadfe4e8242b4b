import Histogram
import OTLPWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why a batch failed; each has a stable name used in the summary's `failed_by_status`.
public enum FailureKind: Int, CaseIterable, Sendable {
    // gRPC status codes 1...16 keep their numeric value (grpc/grpc doc/statuscodes.md).
    case cancelled = 1, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists, permissionDenied,
        resourceExhausted, failedPrecondition, aborted, outOfRange, unimplemented, internalError, unavailable,
        dataLoss, unauthenticated
    /// An HTTP status other than 200 without a grpc-status.
    case httpError = 17
    /// The connection broke with the request in flight.
    case connectionLost
    /// The server reset the stream (RST_STREAM) without a gRPC status.
    case streamReset
    /// The server refused the stream (GOAWAY above its last stream id, or REFUSED_STREAM).
    case refused
    /// A 200 response closed without grpc-status.
    case missingStatus
    /// Still in flight when the run's drain time ran out.
    case timedOut

    public var name: String {
        switch self {
        case .cancelled, .unknown, .invalidArgument, .deadlineExceeded, .notFound, .alreadyExists, .permissionDenied,
            .resourceExhausted,
            .failedPrecondition, .aborted, .outOfRange, .unimplemented, .internalError, .unavailable, .dataLoss,
            .unauthenticated:
            // gRPC codes keep their numbers (above), so the name is the status code's.
            return GRPCStatusCode(rawValue: rawValue)?.name ?? "UNKNOWN"
        case .httpError: return "HTTP_ERROR"
        case .connectionLost: return "CONNECTION_LOST"
        case .streamReset: return "STREAM_RESET"
        case .refused: return "REFUSED_STREAM"
        case .missingStatus: return "MISSING_GRPC_STATUS"
        case .timedOut: return "TIMED_OUT"
        }
    }
}

/// Counters and histograms of one worker thread. Owned by that thread; merged at the end.
public struct WorkerStats: Sendable {
    public var plannedItems = 0
    /// Planned items never handed to the transport (the run ended first).
    public var unsent = 0
    /// A stop request ended the run before its plan did (planned/unsent then cover what was due by then).
    public var stopped = false
    public var sent = 0
    public var acked = 0
    public var rejected = 0
    public var batches = 0
    public var bytesWire = 0
    public var bytesUncompressed = 0
    public var lateBatches = 0
    public var failed = [Int](repeating: 0, count: FailureKind.allCases.count + 1)
    public var httpStatuses: [Int: Int] = [:]
    public var connectFailures = 0
    public var reconnects = 0
    public var goaways = 0
    /// Replies read at a planned send rather than on arrival (gRPC at a fixed rate; see H2Connection).
    public var repliesReadParked = 0
    public var firstError: String? = nil
    public var firstGRPCMessage: String? = nil
    /// Latency from the planned send time to the reply, microseconds (corrected for coordinated omission).
    public var latency = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    /// Latency from the actual send to the reply, microseconds.
    public var latencyUncorrected = Histogram<UInt64>(
        highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    /// Send lag: actual send time minus planned send time, microseconds.
    public var sendLag = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    /// Monotonic time of the last batch handed to the transport.
    public var lastSendNanos: UInt64 = 0

    public init() {}

    public var failedTotal: Int { failed.reduce(0, +) }

    public mutating func fail(_ kind: FailureKind, items: Int) { failed[kind.rawValue] += items }

    public mutating func merge(_ o: WorkerStats) {
        plannedItems += o.plannedItems
        unsent += o.unsent
        stopped = stopped || o.stopped
        sent += o.sent
        acked += o.acked
        rejected += o.rejected
        batches += o.batches
        bytesWire += o.bytesWire
        bytesUncompressed += o.bytesUncompressed
        lateBatches += o.lateBatches
        for i in failed.indices { failed[i] += o.failed[i] }
        for (k, v) in o.httpStatuses { httpStatuses[k, default: 0] += v }
        connectFailures += o.connectFailures
        reconnects += o.reconnects
        goaways += o.goaways
        repliesReadParked += o.repliesReadParked
        firstError = firstError ?? o.firstError
        firstGRPCMessage = firstGRPCMessage ?? o.firstGRPCMessage
        latency.add(o.latency)
        latencyUncorrected.add(o.latencyUncorrected)
        sendLag.add(o.sendLag)
        lastSendNanos = Swift.max(lastSendNanos, o.lastSendNanos)
    }
}

/// Counters the workers publish for the live progress line and `/status` (relaxed atomics, one update
/// per batch, never per item).
public final class LiveCounters: Sendable {
    public let sent = Atomic<Int>(0)
    public let acked = Atomic<Int>(0)
    public let failed = Atomic<Int>(0)
    public let inFlight = Atomic<Int>(0)
    public let late = Atomic<Int>(0)
    /// Set to stop sending: workers drain briefly and finish.
    public let stop = Atomic<Bool>(false)
    /// Whether a transport error has been printed already (errors print once per run).
    public let errorReported = Atomic<Bool>(false)
    public init() {}
}

/// CPU time of this process (user + system), seconds.
public func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}
