/// Why a payload could not be read. Every case carries the byte offset (from the start of the input)
/// where the problem was found. Closed: callers can switch over it exhaustively.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ends inside a field (a tag, varint, fixed-width value or length-delimited payload).
    case truncated(offset: Int)
    /// A varint runs past 10 bytes.
    case varintTooLong(offset: Int)
    /// Wire type 6 or 7, which protobuf does not define.
    case invalidWireType(offset: Int, wireType: UInt8)
    /// Field number 0 or above 2^29 - 1.
    case invalidFieldNumber(offset: Int, field: UInt64)
    /// A length prefix points past the end of its enclosing message.
    case lengthOutOfBounds(offset: Int, length: UInt64)
    /// Groups nested deeper than `WireReader.maxDepth`.
    case depthExceeded(offset: Int)
    /// An end-group tag with no matching start group.
    case unmatchedEndGroup(offset: Int)

    /// The byte offset of the problem.
    public var offset: Int {
        switch self {
        case .truncated(let o), .varintTooLong(let o), .invalidWireType(let o, _), .invalidFieldNumber(let o, _),
            .lengthOutOfBounds(let o, _), .depthExceeded(let o), .unmatchedEndGroup(let o):
            return o
        }
    }

    public var description: String {
        switch self {
        case .truncated(let o): return "truncated protobuf input at byte \(o)"
        case .varintTooLong(let o): return "varint longer than 10 bytes at byte \(o)"
        case .invalidWireType(let o, let t): return "invalid wire type \(t) at byte \(o)"
        case .invalidFieldNumber(let o, let f): return "invalid field number \(f) at byte \(o)"
        case .lengthOutOfBounds(let o, let l): return "length \(l) at byte \(o) runs past the end of its message"
        case .depthExceeded(let o): return "groups nested too deep at byte \(o)"
        case .unmatchedEndGroup(let o): return "end-group tag without a start group at byte \(o)"
        }
    }
}
