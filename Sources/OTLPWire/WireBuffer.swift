// An owned, growable byte buffer. Encoders write into it through `ProtoWriter`, which keeps the
// write position in a local struct so the hot loop touches no class fields (no exclusivity checks).

/// A heap buffer of bytes owned by one thread at a time. Not thread-safe: hand it over, never share it.
public final class WireBuffer: @unchecked Sendable {
    @usableFromInline var base: UnsafeMutableRawPointer
    @usableFromInline var capacity: Int
    /// The number of valid bytes.
    public internal(set) var count: Int

    /// Creates an empty buffer able to hold `capacity` bytes before it grows.
    public init(capacity: Int = 256) {
        let c = max(capacity, 16)
        base = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 16)
        self.capacity = c
        count = 0
    }

    deinit { base.deallocate() }

    /// Grows the storage so that at least `minimum` bytes fit, keeping the content.
    @usableFromInline
    func grow(toAtLeast minimum: Int) {
        var c = capacity
        while c < minimum { c = c &* 2 }
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 16)
        fresh.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = fresh
        capacity = c
    }

    /// Empties the buffer, keeping its storage.
    public func removeAll() { count = 0 }

    /// Drops the first `n` bytes, moving the rest to the front (no allocation).
    public func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= count, "removeFirst beyond the content")
        if n < count { base.copyMemory(from: base + n, byteCount: count - n) }
        count -= n
    }

    /// Makes room for `n` bytes and sets `count` to `n`; the content is undefined until written.
    public func resize(to n: Int) {
        if n > capacity { grow(toAtLeast: n) }
        count = n
    }

    /// Replaces the content with `bytes`.
    public func assign(_ bytes: UnsafeRawBufferPointer) {
        resize(to: bytes.count)
        if let src = bytes.baseAddress, bytes.count > 0 { base.copyMemory(from: src, byteCount: bytes.count) }
    }

    /// Appends `bytes`.
    public func append(_ bytes: UnsafeRawBufferPointer) {
        let old = count
        resize(to: old + bytes.count)
        if let src = bytes.baseAddress, bytes.count > 0 {
            (base + old).copyMemory(from: src, byteCount: bytes.count)
        }
    }

    /// The valid bytes, for reading.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// The whole storage (valid bytes first), for writing in place.
    @inlinable
    public func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// A copy of the valid bytes (tests and tools; not for hot paths).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
