// gRPC "Length-Prefixed-Message" framing: 1 byte compressed flag, 4 bytes big-endian message length,
// then the message. Source: grpc/grpc doc/PROTOCOL-HTTP2.md.

/// Why a gRPC message stream could not be deframed.
public enum GRPCFramingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The compressed flag is neither 0 nor 1.
    case invalidCompressedFlag(offset: Int, value: UInt8)
    /// The declared length exceeds the receiver's limit (answer RESOURCE_EXHAUSTED).
    case messageTooLarge(offset: Int, length: Int, limit: Int)
    /// The stream ended inside a header or message.
    case truncated(offset: Int, missing: Int)

    public var description: String {
        switch self {
        case .invalidCompressedFlag(let o, let v):
            return "gRPC message at byte \(o) has compressed flag \(v) (must be 0 or 1)"
        case .messageTooLarge(let o, let l, let limit):
            return "gRPC message at byte \(o) is \(l) bytes, over the limit of \(limit)"
        case .truncated(let o, let m):
            return "gRPC stream ends \(m) bytes short of the message that starts at byte \(o)"
        }
    }
}

/// Writing the 5-byte message header.
public enum GRPCFrame {
    /// Size of the header.
    public static let headerSize = 5

    /// Writes the header for a message of `length` bytes at `p`.
    @inlinable
    public static func storeHeader(_ p: UnsafeMutableRawPointer, compressed: Bool, length: Int) {
        p.storeBytes(of: compressed ? 1 : 0, as: UInt8.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: length).bigEndian, toByteOffset: 1, as: UInt32.self)
    }

    /// Parses one complete framed message (as written by `loadgen payload`): the flag and the message.
    public static func parseSingle(
        _ bytes: UnsafeRawBufferPointer
    ) throws(GRPCFramingError) -> (compressed: Bool, message: UnsafeRawBufferPointer) {
        var decoder = GRPCMessageDecoder(maxMessageSize: Int(Int32.max))
        var result: (Bool, UnsafeRawBufferPointer)? = nil
        var extra = false
        try decoder.feed(bytes) { compressed, message in
            if result == nil { result = (compressed, message) } else { extra = true }
        }
        try decoder.finish()
        guard let result, !extra else {
            throw .truncated(offset: 0, missing: result == nil ? max(0, headerSize - bytes.count) : 0)
        }
        return result
    }
}

/// Splits a byte stream (HTTP/2 DATA frames of any size) into gRPC messages.
///
/// A message that lies whole inside one chunk is handed over without copying; one split over chunks is
/// gathered in an internal buffer that is reused for the life of the decoder.
public struct GRPCMessageDecoder {
    /// Largest message accepted (gRPC's default receive limit is 4 MiB).
    public let maxMessageSize: Int
    var header: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
    var headerFilled = 0
    var compressed = false
    var expected = -1  // message length being gathered, -1 while reading a header
    let gather = WireBuffer(capacity: 64)
    /// Bytes consumed so far (for error offsets).
    public private(set) var consumed = 0
    var messageStart = 0

    public init(maxMessageSize: Int = 4 * 1024 * 1024) { self.maxMessageSize = maxMessageSize }

    /// True between messages (nothing partial is buffered).
    public var isIdle: Bool { headerFilled == 0 && expected < 0 }

    /// Feeds the next chunk; calls `onMessage(compressed, message)` for every completed message. The
    /// message bytes are valid only during the call.
    public mutating func feed(
        _ chunk: UnsafeRawBufferPointer, _ onMessage: (Bool, UnsafeRawBufferPointer) -> Void
    ) throws(GRPCFramingError) {
        guard let base = chunk.baseAddress else { return }
        var p = 0
        let n = chunk.count
        do throws(GRPCFramingError) {
            while p < n {
                if expected < 0 {
                    // Fast path: a whole header and message inside this chunk, nothing buffered.
                    if headerFilled == 0 && n - p >= 5 {
                        let flag = base.load(fromByteOffset: p, as: UInt8.self)
                        let len = Int(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: p + 1, as: UInt32.self)))
                        try check(flag: flag, length: len, at: consumed + p)
                        if n - p - 5 >= len {
                            onMessage(flag == 1, UnsafeRawBufferPointer(start: base + p + 5, count: len))
                            p += 5 + len
                            continue
                        }
                        compressed = flag == 1
                        expected = len
                        messageStart = consumed + p
                        gather.removeAll()
                        p += 5
                        continue
                    }
                    // Gather the header byte by byte across chunks.
                    if headerFilled == 0 { messageStart = consumed + p }
                    let b = base.load(fromByteOffset: p, as: UInt8.self)
                    withUnsafeMutableBytes(of: &header) { $0[headerFilled] = b }
                    headerFilled += 1
                    p += 1
                    if headerFilled == 5 {
                        headerFilled = 0
                        let len = withUnsafeBytes(of: &header) { h in
                            Int(h[1]) << 24 | Int(h[2]) << 16 | Int(h[3]) << 8 | Int(h[4])
                        }
                        try check(flag: header.0, length: len, at: messageStart)
                        compressed = header.0 == 1
                        expected = len
                        gather.removeAll()
                        if len == 0 {
                            expected = -1
                            onMessage(compressed, UnsafeRawBufferPointer(start: base, count: 0))
                        }
                    }
                } else {
                    let take = min(expected - gather.count, n - p)
                    gather.append(UnsafeRawBufferPointer(start: base + p, count: take))
                    p += take
                    if gather.count == expected {
                        expected = -1
                        let c = compressed
                        gather.withUnsafeBytes { onMessage(c, $0) }
                    }
                }
            }
        } catch {
            consumed += p
            throw error
        }
        consumed += n
    }

    /// Call at the end of the stream: throws when a message is incomplete.
    public func finish() throws(GRPCFramingError) {
        if headerFilled > 0 { throw .truncated(offset: messageStart, missing: 5 - headerFilled) }
        if expected >= 0 { throw .truncated(offset: messageStart, missing: expected - gather.count) }
    }

    func check(flag: UInt8, length: Int, at offset: Int) throws(GRPCFramingError) {
        guard flag <= 1 else { throw .invalidCompressedFlag(offset: offset, value: flag) }
        guard length <= maxMessageSize else {
            throw .messageTooLarge(offset: offset, length: length, limit: maxMessageSize)
        }
    }
}
