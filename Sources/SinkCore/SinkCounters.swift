// Counters shared by a sink's threads: relaxed atomics, updated once per request, never per item.

import OTLPWire
import Synchronization

/// Per-signal counters.
public final class SignalCounters: Sendable {
    /// Export requests handled (whatever the answer).
    public let requests = Atomic<Int>(0)
    /// Bytes of request bodies as received (gRPC framing included; compressed when compressed).
    public let bytes = Atomic<Int>(0)
    /// Requests refused as malformed (bad framing, undecodable payload) or oversized.
    public let malformed = Atomic<Int>(0)
    /// Items counted in the payloads (fake-backend; the null sink does not decode).
    public let items = Atomic<Int>(0)
    /// Items refused through OTLP partial success (fault injection).
    public let rejected = Atomic<Int>(0)
    /// Requests answered with an injected error status.
    public let injectedErrors = Atomic<Int>(0)
    public init() {}

    func reset() {
        requests.store(0, ordering: .relaxed)
        bytes.store(0, ordering: .relaxed)
        malformed.store(0, ordering: .relaxed)
        items.store(0, ordering: .relaxed)
        rejected.store(0, ordering: .relaxed)
        injectedErrors.store(0, ordering: .relaxed)
    }
}

/// Counters of a whole sink.
public final class SinkCounters: Sendable {
    public let logs = SignalCounters()
    public let traces = SignalCounters()
    public let metrics = SignalCounters()
    /// Requests for a path that is not an OTLP export method.
    public let unknownPath = Atomic<Int>(0)
    /// Requests that could not be read at all (broken HTTP/1.1 or HTTP/2), so their signal is unknown.
    public let unparseable = Atomic<Int>(0)
    /// Open connections (gRPC and OTLP/HTTP).
    public let connections = Atomic<Int>(0)
    public init() {}

    public func forSignal(_ s: Signal) -> SignalCounters {
        switch s {
        case .logs: return logs
        case .traces: return traces
        case .metrics: return metrics
        }
    }

    public func reset() {
        for s in Signal.allCases { forSignal(s).reset() }
        unknownPath.store(0, ordering: .relaxed)
        unparseable.store(0, ordering: .relaxed)
    }
}

/// A failure to start a sink.
public struct SinkError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
