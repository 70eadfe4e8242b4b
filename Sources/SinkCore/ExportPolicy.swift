// What a sink does with an export request once the transport has it: the null sink answers success
// without looking; the fake backend decodes, counts, tracks and injects faults. One policy instance
// per server thread (it is not thread-safe and needs no locks); the transports (gRPC on the shared
// epoll loops, OTLP/HTTP on SwiftNIO) call it the same way.

import OTLPWire

/// The answer to one export.
public struct ExportReply: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Success; `rejected` > 0 makes it an OTLP partial success (with `message` as error_message).
        case ok(rejected: Int)
        /// Failure with a gRPC status code (1...16) and the HTTP status used for OTLP/HTTP.
        case error(grpcCode: Int, httpStatus: Int)
    }

    public var kind: Kind
    public var message: String?
    /// Seconds to advertise as retry delay (gRPC RetryInfo / HTTP Retry-After), when set.
    public var retryAfterSeconds: Int?
    /// Hold the answer this long (injected latency).
    public var delayNanos: UInt64

    public init(kind: Kind, message: String? = nil, retryAfterSeconds: Int? = nil, delayNanos: UInt64 = 0) {
        self.kind = kind
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
        self.delayNanos = delayNanos
    }

    public static let success = ExportReply(kind: .ok(rejected: 0))

    /// gRPC status → HTTP status, as OTLP/HTTP maps them (opentelemetry-proto docs/specification.md,
    /// "Failures": retryable 429, 502, 503, 504; bad data 400).
    public static func httpStatus(forGRPC code: Int) -> Int { GRPCStatusCode(rawValue: code)?.httpStatus ?? 500 }
}

/// A request as the transport hands it over.
public struct ExportRequestInfo {
    public var signal: Signal
    /// Bytes of the request body on the wire (gRPC framing included).
    public var wireBytes: Int
    /// The message (after gRPC framing), nil when the policy said it does not need it.
    public var message: UnsafeRawBufferPointer?
    /// The message is gzip-compressed (gRPC compressed flag with grpc-encoding gzip, or
    /// Content-Encoding: gzip).
    public var gzip: Bool
    public init(signal: Signal, wireBytes: Int, message: UnsafeRawBufferPointer?, gzip: Bool) {
        self.signal = signal
        self.wireBytes = wireBytes
        self.message = message
        self.gzip = gzip
    }
}

/// Per-thread request handling.
public protocol ExportPolicy: AnyObject {
    /// Whether the transport must collect the message bytes (false: only sizes and framing).
    var needsMessage: Bool { get }
    /// Handles one well-framed export request.
    func handle(_ request: ExportRequestInfo) -> ExportReply
    /// Called by the owning thread between events: a chance to publish per-thread state.
    func tick(now: UInt64)
    /// Transport faults: read each connection at most this fast (0: no limit).
    func slowReadBytesPerSecond() -> Int
    /// Transport faults: refuse connections now (close the listener and every connection).
    func refusingConnections(now: UInt64) -> Bool
}

extension ExportPolicy {
    public func slowReadBytesPerSecond() -> Int { 0 }
    public func refusingConnections(now: UInt64) -> Bool { false }
}

/// The null sink's policy: success, nothing decoded.
public final class AcceptAll: ExportPolicy {
    public init() {}
    public var needsMessage: Bool { false }
    public func handle(_ request: ExportRequestInfo) -> ExportReply { .success }
    public func tick(now: UInt64) {}
}

/// The protobuf body of an Export*ServiceResponse with a partial success (field 1: rejected count in
/// field 1, error_message in field 2; same numbers for all three signals), appended to `out`.
public func encodePartialSuccess(rejected: Int, message: String, into out: WireBuffer) {
    var w = ProtoWriter(appendingTo: out)
    let inner = ProtoSize.varintField(1, UInt64(rejected)) + ProtoSize.lengthDelimited(2, message.utf8.count)
    w.lengthPrefix(field: 1, length: inner)
    w.varintField(1, UInt64(rejected))
    w.stringField(2, message)
    w.finish()
}
