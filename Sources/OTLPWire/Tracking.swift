// The tracking attributes: what every generated item carries so that a backend can measure loss,
// duplicates and end-to-end latency without coordinating with the sender. Documented in
// docs/tracking.md; the backends and users' tools read these names, so they are a stable contract.

/// A run id: 64 bits, carried on the wire as 16 lowercase hexadecimal digits.
public struct RunID: Sendable, Hashable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }

    /// Parses 16 hexadecimal digits (either case); nil for anything else.
    public init?(hex: String) {
        var s = hex
        guard let v = s.withUTF8({ RunID.parseHex(UnsafeRawBufferPointer($0)) }) else { return nil }
        value = v
    }

    /// Parses exactly 16 hexadecimal digits from raw bytes; nil for anything else.
    @inlinable
    public static func parseHex(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count == 16 else { return nil }
        var v: UInt64 = 0
        for b in bytes {
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b &- UInt8(ascii: "A") &+ 10
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v
    }

    /// Writes the 16 lowercase hex digits at `p`.
    @inlinable
    public func storeHex(_ p: UnsafeMutableRawPointer) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { d in
            for i in 0..<16 {
                let nibble = Int((value >> UInt64(60 - 4 * i)) & 0xf)
                p.storeBytes(of: d[nibble], toByteOffset: i, as: UInt8.self)
            }
        }
    }

    public var description: String {
        var out = [UInt8](repeating: 0, count: 16)
        out.withUnsafeMutableBytes { storeHex($0.baseAddress!) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The per-item tracking values: a sequence number unique within the run, the send time, and the time
/// the batch was due by the load's schedule.
public struct ItemTracking: Sendable, Equatable {
    /// Sequence number within the run, from 0 (must stay below 2^63).
    public var seq: UInt64
    /// Unix time in nanoseconds when the batch was handed to the transport (below 2^63).
    public var sentUnixNano: UInt64
    /// Unix time in nanoseconds at which the schedule meant the batch to go (at or before the send time;
    /// the send time itself for a load without a rate). Latency from it is free of coordinated omission.
    public var intendedUnixNano: UInt64
    public init(seq: UInt64, sentUnixNano: UInt64, intendedUnixNano: UInt64? = nil) {
        self.seq = seq
        self.sentUnixNano = sentUnixNano
        self.intendedUnixNano = intendedUnixNano ?? sentUnixNano
    }
}

/// Names, sizes and encoders of the tracking attributes.
public enum Tracking {
    /// Resource attribute, string of 16 hex digits: the run (one load generator run).
    public static let runIDKey = "pipeperf.run_id"
    /// Item attribute, int: sequence number of the item within its run, from 0.
    public static let seqKey = "pipeperf.seq"
    /// Item attribute, int: Unix nanoseconds at which the sender handed the batch to the transport.
    public static let sentKey = "pipeperf.sent_ns"
    /// Item attribute, int: Unix nanoseconds at which the load's schedule meant the batch to be sent.
    public static let intendedKey = "pipeperf.intended_ns"

    // KeyValue sizes: key field (tag, length, bytes) + value field (tag, length, AnyValue).
    // AnyValue{int_value} with a padded varint: tag (1) + 9 bytes = 10.
    // AnyValue{string_value} with 16 hex digits: tag (1) + length (1) + 16 = 18.
    @usableFromInline static let runIDKeyValueSize = 2 + 15 + 2 + 18  // 37
    @usableFromInline static let seqKeyValueSize = 2 + 12 + 2 + 10  // 26
    @usableFromInline static let sentKeyValueSize = 2 + 16 + 2 + 10  // 30
    @usableFromInline static let intendedKeyValueSize = 2 + 20 + 2 + 10  // 34

    /// Bytes the three item attributes add to an item (with their attribute tags and lengths).
    @inlinable
    public static func itemAttributesSize(field: Int) -> Int {
        ProtoSize.lengthDelimited(field, seqKeyValueSize) &+ ProtoSize.lengthDelimited(field, sentKeyValueSize)
            &+ ProtoSize.lengthDelimited(field, intendedKeyValueSize)
    }

    @inlinable
    static func encodeRunID<P: PatchRecorder>(_ id: RunID, _ w: inout ProtoWriter, _ patches: inout P) {
        w.staticStringField(1, "pipeperf.run_id")
        w.lengthPrefix(field: 2, length: 18)
        w.lengthPrefix(field: 1, length: 16)
        patches.record(.runID, w.offset)
        var hex = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &hex) { id.storeHex($0.baseAddress!) }
        withUnsafeBytes(of: &hex) { w.raw($0) }
    }

    /// Writes the three item attributes as repeated field `field` (the item's attributes field) and
    /// reports the offsets of their padded varints.
    @inlinable
    static func encodeItem<P: PatchRecorder>(_ t: ItemTracking, field: Int, _ w: inout ProtoWriter, _ patches: inout P)
    {
        w.lengthPrefix(field: field, length: seqKeyValueSize)
        w.staticStringField(1, "pipeperf.seq")
        w.lengthPrefix(field: 2, length: 10)
        w.tag(3, .varint)
        patches.record(.seq, w.paddedVarint(t.seq))

        w.lengthPrefix(field: field, length: sentKeyValueSize)
        w.staticStringField(1, "pipeperf.sent_ns")
        w.lengthPrefix(field: 2, length: 10)
        w.tag(3, .varint)
        patches.record(.sent, w.paddedVarint(t.sentUnixNano))

        w.lengthPrefix(field: field, length: intendedKeyValueSize)
        w.staticStringField(1, "pipeperf.intended_ns")
        w.lengthPrefix(field: 2, length: 10)
        w.tag(3, .varint)
        patches.record(.intended, w.paddedVarint(t.intendedUnixNano))
    }
}

/// The fields a batch template rewrites in place.
public enum PatchKind: Sendable {
    /// The earlier timestamp of an item (log time, span start, point start); rewritten to send time
    /// minus the signal's offset.
    case timeStart
    /// The later timestamp (log observed time, span end, point time); rewritten to the send time.
    case timeEnd
    /// The `pipeperf.seq` padded varint.
    case seq
    /// The `pipeperf.sent_ns` padded varint.
    case sent
    /// The `pipeperf.intended_ns` padded varint.
    case intended
    /// The 16 hex digits of `pipeperf.run_id`.
    case runID
}

/// Receives the offsets of patchable fields while a request is encoded.
public protocol PatchRecorder {
    /// A patchable field of the current item (or of the request, for `.runID`) starts at `offset`.
    mutating func record(_ kind: PatchKind, _ offset: Int)
    /// The current item is complete.
    mutating func endItem()
    /// Bytes from `offset` on moved by `delta` (a backpatched length prefix needed more or fewer bytes
    /// than reserved): offsets recorded at or after `offset` must move too.
    mutating func shift(from offset: Int, by delta: Int)
}

/// A recorder that keeps nothing: plain encoding.
public struct NoPatches: PatchRecorder {
    public init() {}
    @inlinable @inline(__always) public mutating func record(_ kind: PatchKind, _ offset: Int) {}
    @inlinable @inline(__always) public mutating func endItem() {}
    @inlinable @inline(__always) public mutating func shift(from offset: Int, by delta: Int) {}
}
