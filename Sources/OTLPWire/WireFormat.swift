// Protobuf wire-format constants and size arithmetic.
// Source: https://protobuf.dev/programming-guides/encoding/ ("Message Structure", "Base 128 Varints").

/// The protobuf wire types that OTLP uses, plus the deprecated group markers the scanner must skip.
public enum WireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// Size arithmetic for size-first encoding: every encoder computes its exact length before writing.
public enum ProtoSize {
    /// Bytes needed for `value` as a minimal base-128 varint (1 to 10).
    @inlinable @inline(__always)
    public static func varint(_ value: UInt64) -> Int {
        // Each byte carries 7 bits; (bits + 6) / 7 with at least one byte. `| 1` keeps zero at one byte.
        let bits = 64 &- (value | 1).leadingZeroBitCount
        return (bits &+ 6) / 7
    }

    /// Bytes for the tag of `field` (field numbers in OTLP are all below 2^29).
    @inlinable @inline(__always)
    public static func tag(_ field: Int) -> Int {
        varint(UInt64(truncatingIfNeeded: field) << 3)
    }

    /// Bytes for a whole length-delimited field whose payload is `length` bytes long.
    @inlinable @inline(__always)
    public static func lengthDelimited(_ field: Int, _ length: Int) -> Int {
        tag(field) &+ varint(UInt64(truncatingIfNeeded: length)) &+ length
    }

    /// Bytes for a whole varint field.
    @inlinable @inline(__always)
    public static func varintField(_ field: Int, _ value: UInt64) -> Int {
        tag(field) &+ varint(value)
    }

    /// Bytes for a whole fixed64 / double field.
    @inlinable @inline(__always)
    public static func fixed64Field(_ field: Int) -> Int { tag(field) &+ 8 }

    /// Bytes for a whole fixed32 / float field.
    @inlinable @inline(__always)
    public static func fixed32Field(_ field: Int) -> Int { tag(field) &+ 4 }
}

/// Width of the padded varints that hold patchable integers (sequence numbers, send times).
///
/// A varint may legally carry redundant continuation bytes (protobuf decoders read up to 10 bytes;
/// see the encoding guide on varints). Nine bytes carry 63 bits, so every non-negative int64 fits,
/// and a template can rewrite the value in place without moving any byte after it.
public let paddedVarintWidth = 9
