// gRPC status codes (grpc/grpc doc/statuscodes.md), named once for the load generator, the sinks and
// their fault injection, with the HTTP status OTLP/HTTP answers for each (opentelemetry-proto
// docs/specification.md, "Failures": retryable 429, 502, 503, 504; bad data 400).

/// A gRPC status code.
public enum GRPCStatusCode: Int, CaseIterable, Sendable {
    case ok = 0, cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists, permissionDenied,
        resourceExhausted, failedPrecondition, aborted, outOfRange, unimplemented, internalError, unavailable,
        dataLoss, unauthenticated

    /// The canonical name: `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, ...
    public var name: String {
        switch self {
        case .ok: return "OK"
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .aborted: return "ABORTED"
        case .outOfRange: return "OUT_OF_RANGE"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internalError: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        case .dataLoss: return "DATA_LOSS"
        case .unauthenticated: return "UNAUTHENTICATED"
        }
    }

    /// The code of a canonical name (any case), or of its number as text.
    public init?(name: String) {
        if let n = Int(name), let c = GRPCStatusCode(rawValue: n) {
            self = c
            return
        }
        let upper = name.uppercased()
        guard let c = GRPCStatusCode.allCases.first(where: { $0.name == upper }) else { return nil }
        self = c
    }

    /// The HTTP status an OTLP/HTTP server answers for this code.
    public var httpStatus: Int {
        switch self {
        case .ok: return 200
        case .invalidArgument, .failedPrecondition, .outOfRange: return 400
        case .notFound: return 404
        case .permissionDenied: return 403
        case .unauthenticated: return 401
        case .resourceExhausted: return 429
        case .unavailable: return 503
        case .deadlineExceeded: return 504
        case .unimplemented: return 501
        default: return 500
        }
    }
}
