// Forward protobuf writer. Position and capacity live in this struct (a local in the encoder), so the
// per-field code is a bounds check, a store and an add; the owning `WireBuffer` is touched only on
// growth and at `finish()`.

/// Writes protobuf fields into a `WireBuffer`, appending after its current content.
///
/// Two ways to prefix nested messages with their length:
/// - size-first: compute the exact length (see `ProtoSize`), then `lengthPrefix(field:length:)`;
/// - reserve-and-backpatch: `beginNested(field:reserve:)`, write the body, `endNested(_:)`, which
///   writes the length into the reserved bytes and moves the body if the varint needed more or fewer.
public struct ProtoWriter {
    @usableFromInline let storage: WireBuffer
    @usableFromInline var base: UnsafeMutableRawPointer
    @usableFromInline var position: Int
    @usableFromInline var capacity: Int

    /// Starts writing at the end of `storage`'s content; `reserving` bytes are made available at once.
    public init(appendingTo storage: WireBuffer, reserving: Int = 0) {
        if storage.count + reserving > storage.capacity { storage.grow(toAtLeast: storage.count + reserving) }
        self.storage = storage
        base = storage.base
        position = storage.count
        capacity = storage.capacity
    }

    /// The offset of the next byte, from the start of the buffer.
    @inlinable public var offset: Int { position }

    /// Publishes what was written: sets the buffer's count. Call once, after the last write.
    public func finish() { storage.count = position }

    @inlinable @inline(__always)
    mutating func ensure(_ n: Int) {
        if _slowPath(position &+ n > capacity) { growSlow(n) }
    }

    @usableFromInline
    mutating func growSlow(_ n: Int) {
        storage.count = position
        storage.grow(toAtLeast: position + n)
        base = storage.base
        capacity = storage.capacity
    }

    /// Appends one byte.
    @inlinable @inline(__always)
    public mutating func byte(_ b: UInt8) {
        ensure(1)
        base.storeBytes(of: b, toByteOffset: position, as: UInt8.self)
        position &+= 1
    }

    /// Appends a minimal base-128 varint.
    @inlinable @inline(__always)
    public mutating func varint(_ value: UInt64) {
        ensure(10)
        var v = value
        while v >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: position, as: UInt8.self)
            position &+= 1
            v >>= 7
        }
        base.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: position, as: UInt8.self)
        position &+= 1
    }

    /// Appends a field tag.
    @inlinable @inline(__always)
    public mutating func tag(_ field: Int, _ type: WireType) {
        varint(UInt64(truncatingIfNeeded: field) << 3 | UInt64(type.rawValue))
    }

    /// Appends 8 little-endian bytes.
    @inlinable @inline(__always)
    public mutating func fixed64(_ value: UInt64) {
        ensure(8)
        base.storeBytes(of: value.littleEndian, toByteOffset: position, as: UInt64.self)
        position &+= 8
    }

    /// Appends 4 little-endian bytes.
    @inlinable @inline(__always)
    public mutating func fixed32(_ value: UInt32) {
        ensure(4)
        base.storeBytes(of: value.littleEndian, toByteOffset: position, as: UInt32.self)
        position &+= 4
    }

    /// Appends raw bytes.
    @inlinable @inline(__always)
    public mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0, let src = bytes.baseAddress else { return }
        ensure(n)
        let dst = base + position
        // Short strings (keys, small values) dominate; a call to memmove costs more than copying them.
        if n <= 16 {
            if n >= 8 {
                dst.storeBytes(of: src.loadUnaligned(as: UInt64.self), as: UInt64.self)
                dst.storeBytes(
                    of: src.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self), toByteOffset: n &- 8,
                    as: UInt64.self)
            } else {
                var i = 0
                while i < n {
                    dst.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self)
                    i &+= 1
                }
            }
        } else {
            dst.copyMemory(from: src, byteCount: n)
        }
        position &+= n
    }

    /// A string field whose value is a compile-time constant (no reference counting).
    @inlinable @inline(__always)
    public mutating func staticStringField(_ field: Int, _ value: StaticString) {
        lengthPrefix(field: field, length: value.utf8CodeUnitCount)
        raw(UnsafeRawBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }

    /// Appends the UTF-8 bytes of `string` (no prefix).
    @inlinable @inline(__always)
    public mutating func utf8(_ string: String) {
        if let done: Void = string.utf8.withContiguousStorageIfAvailable({ raw(UnsafeRawBufferPointer($0)) }) {
            return done
        }
        var s = string  // not contiguous (bridged): make it so, then write
        s.withUTF8 { raw(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `value` as a varint padded to `paddedVarintWidth` bytes and returns the offset of its first
    /// byte, so that a template can rewrite it later with `WirePatch.storePaddedVarint`.
    @inlinable @discardableResult
    public mutating func paddedVarint(_ value: UInt64) -> Int {
        ensure(paddedVarintWidth)
        let at = position
        WirePatch.storePaddedVarint(base + at, value)
        position &+= paddedVarintWidth
        return at
    }

    // MARK: Fields

    /// Tag and length of a length-delimited field whose payload (written next) is `length` bytes.
    @inlinable @inline(__always)
    public mutating func lengthPrefix(field: Int, length: Int) {
        tag(field, .lengthDelimited)
        varint(UInt64(truncatingIfNeeded: length))
    }

    /// A varint field (uint64, uint32, int64, int32 as two's complement, enum, bool).
    @inlinable @inline(__always)
    public mutating func varintField(_ field: Int, _ value: UInt64) {
        tag(field, .varint)
        varint(value)
    }

    /// A fixed64 field (fixed64, sfixed64 bit pattern, double bit pattern).
    @inlinable @inline(__always)
    public mutating func fixed64Field(_ field: Int, _ value: UInt64) {
        tag(field, .fixed64)
        fixed64(value)
    }

    /// A fixed32 field.
    @inlinable @inline(__always)
    public mutating func fixed32Field(_ field: Int, _ value: UInt32) {
        tag(field, .fixed32)
        fixed32(value)
    }

    /// A string field.
    @inlinable @inline(__always)
    public mutating func stringField(_ field: Int, _ value: String) {
        lengthPrefix(field: field, length: value.utf8.count)
        utf8(value)
    }

    /// A bytes field.
    @inlinable @inline(__always)
    public mutating func bytesField(_ field: Int, _ value: [UInt8]) {
        lengthPrefix(field: field, length: value.count)
        value.withUnsafeBytes { raw($0) }
    }

    // MARK: Reserve and backpatch

    /// Where a nested message started; returned by `beginNested` and consumed by `endNested`.
    public struct NestedMarker: Sendable {
        @usableFromInline let prefixAt: Int
        @usableFromInline let reserved: Int
        @usableFromInline init(prefixAt: Int, reserved: Int) {
            self.prefixAt = prefixAt
            self.reserved = reserved
        }
    }

    /// Writes the tag of a nested message and reserves `reserve` bytes (1...5) for its length.
    @inlinable
    public mutating func beginNested(field: Int, reserve: Int = 1) -> NestedMarker {
        precondition((1...5).contains(reserve), "a length prefix takes 1 to 5 bytes")
        tag(field, .lengthDelimited)
        ensure(reserve)
        let m = NestedMarker(prefixAt: position, reserved: reserve)
        position &+= reserve
        return m
    }

    /// Closes a nested message: writes its length into the reserved bytes, moving the body when the
    /// minimal varint of the length is longer or shorter than the reservation. Returns how far the body
    /// moved (0 when the reservation was right), so recorded offsets inside it can be corrected.
    @inlinable @discardableResult
    public mutating func endNested(_ marker: NestedMarker) -> Int {
        let bodyStart = marker.prefixAt &+ marker.reserved
        let length = position &- bodyStart
        let need = ProtoSize.varint(UInt64(length))
        let delta = need &- marker.reserved
        if _slowPath(delta != 0) {
            if need > marker.reserved { ensure(need &- marker.reserved) }
            let newStart = marker.prefixAt &+ need
            (base + newStart).copyMemory(from: base + bodyStart, byteCount: length)
            position = newStart &+ length
        }
        var v = UInt64(length)
        var at = marker.prefixAt
        while v >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: at, as: UInt8.self)
            at &+= 1
            v >>= 7
        }
        base.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: at, as: UInt8.self)
        return delta
    }

    /// Closes a nested message like `endNested(_:)` and tells `patches` when its body moved.
    @inlinable
    public mutating func endNested<P: PatchRecorder>(_ marker: NestedMarker, _ patches: inout P) {
        let delta = endNested(marker)
        if _slowPath(delta != 0) { patches.shift(from: marker.prefixAt &+ marker.reserved, by: delta) }
    }
}

/// In-place rewrites of fixed-width fields, used by batch templates.
public enum WirePatch {
    /// Stores `value` little-endian at `p` (8 bytes, any alignment).
    @inlinable @inline(__always)
    public static func storeFixed64(_ p: UnsafeMutableRawPointer, _ value: UInt64) {
        p.storeBytes(of: value.littleEndian, as: UInt64.self)
    }

    /// Stores `value` (below 2^63) as a varint of exactly `paddedVarintWidth` (9) bytes at `p`:
    /// eight bytes with the continuation bit set, then the top seven bits.
    @inlinable @inline(__always)
    public static func storePaddedVarint(_ p: UnsafeMutableRawPointer, _ value: UInt64) {
        // Spread the low 56 bits into eight 7-bit groups, one per byte, with the high bit of each set.
        var spread: UInt64 = 0
        var v = value
        var shift: UInt64 = 0
        while shift < 64 {
            spread |= ((v & 0x7f) | 0x80) << shift
            v >>= 7
            shift &+= 8
        }
        p.storeBytes(of: spread.littleEndian, as: UInt64.self)
        // The ninth byte holds bits 56...62; bit 63 would need a tenth byte, so values stay below 2^63.
        p.storeBytes(of: UInt8(truncatingIfNeeded: v & 0x7f), toByteOffset: 8, as: UInt8.self)
    }
}
