// A bounds-checked cursor over protobuf bytes. It never reads outside [position, end) and reports
// problems as `WireError` with absolute offsets (relative to `origin`, the start of the whole input).

/// Reads protobuf primitives from a byte range without copying.
public struct WireReader {
    /// Deepest group nesting accepted while skipping (protobuf's own parsers stop at 100).
    public static let maxDepth = 64

    @usableFromInline let origin: UnsafeRawPointer
    @usableFromInline var position: UnsafeRawPointer
    @usableFromInline let end: UnsafeRawPointer

    /// Reads all of `bytes`.
    public init(_ bytes: UnsafeRawBufferPointer) {
        // An empty buffer may have no base address; any non-null pointer with zero length will do.
        let start = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 0x10)!
        origin = start
        position = start
        end = start + bytes.count
    }

    @inlinable init(origin: UnsafeRawPointer, position: UnsafeRawPointer, end: UnsafeRawPointer) {
        self.origin = origin
        self.position = position
        self.end = end
    }

    /// True when every byte has been read.
    @inlinable public var isAtEnd: Bool { position >= end }
    /// Offset of the next byte from the start of the whole input.
    @inlinable public var offset: Int { position - origin }
    /// Bytes left.
    @inlinable public var remaining: Int { end - position }

    /// Reads a varint of up to 10 bytes.
    @inlinable @inline(__always)
    public mutating func varint() throws(WireError) -> UInt64 {
        guard position < end else { throw .truncated(offset: offset) }
        let b0 = position.load(as: UInt8.self)
        if b0 < 0x80 {
            position += 1
            return UInt64(b0)
        }
        return try varintSlow()
    }

    @usableFromInline
    mutating func varintSlow() throws(WireError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var p = position
        for _ in 0..<10 {
            guard p < end else { throw .truncated(offset: p - origin) }
            let b = p.load(as: UInt8.self)
            p += 1
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 {
                position = p
                return result
            }
            shift &+= 7
        }
        throw .varintTooLong(offset: start)
    }

    /// Reads a tag: the field number (1...2^29-1) and a defined wire type.
    @inlinable @inline(__always)
    public mutating func tag() throws(WireError) -> (field: Int, type: WireType) {
        let at = offset
        let t = try varint()
        let field = t >> 3
        guard field > 0, field < 1 << 29 else { throw .invalidFieldNumber(offset: at, field: field) }
        guard let type = WireType(rawValue: UInt8(t & 7)) else {
            throw .invalidWireType(offset: at, wireType: UInt8(t & 7))
        }
        return (Int(field), type)
    }

    /// Reads 8 little-endian bytes.
    @inlinable @inline(__always)
    public mutating func fixed64() throws(WireError) -> UInt64 {
        guard end - position >= 8 else { throw .truncated(offset: offset) }
        let v = position.loadUnaligned(as: UInt64.self)
        position += 8
        return UInt64(littleEndian: v)
    }

    /// Reads a length prefix and returns a reader over the payload, advancing past it.
    @inlinable @inline(__always)
    public mutating func lengthDelimited() throws(WireError) -> WireReader {
        let at = offset
        let n = try varint()
        guard n <= UInt64(end - position) else { throw .lengthOutOfBounds(offset: at, length: n) }
        let sub = WireReader(origin: origin, position: position, end: position + Int(n))
        position += Int(n)
        return sub
    }

    /// The unread bytes.
    @inlinable public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: position, count: end - position)
    }

    /// Skips the value of a field whose tag was just read.
    @inlinable
    public mutating func skip(_ type: WireType, field: Int) throws(WireError) {
        switch type {
        case .varint: _ = try varint()
        case .fixed64:
            guard end - position >= 8 else { throw .truncated(offset: offset) }
            position += 8
        case .fixed32:
            guard end - position >= 4 else { throw .truncated(offset: offset) }
            position += 4
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup: try skipGroup(field: field)
        case .endGroup: throw .unmatchedEndGroup(offset: offset)
        }
    }

    /// Skips a group (deprecated proto2 encoding) up to its matching end tag, bounding the nesting.
    @usableFromInline
    mutating func skipGroup(field: Int) throws(WireError) {
        var open: [Int] = [field]
        while let top = open.last {
            let at = offset
            guard !isAtEnd else { throw .truncated(offset: at) }
            let (f, t) = try tag()
            switch t {
            case .startGroup:
                guard open.count < WireReader.maxDepth else { throw .depthExceeded(offset: at) }
                open.append(f)
            case .endGroup:
                guard f == top else { throw .unmatchedEndGroup(offset: at) }
                open.removeLast()
            default: try skip(t, field: f)
            }
        }
    }
}
