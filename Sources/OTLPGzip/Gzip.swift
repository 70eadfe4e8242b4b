// gzip over zlib, both directions, with the zlib streams kept for the life of the object so that
// compressing or decompressing a batch allocates nothing (deflateReset / inflateReset per call).
// gzip framing is selected with windowBits 15 + 16 (zlib manual, deflateInit2 / inflateInit2).

import CZlib
import OTLPWire

/// A gzip failure, with zlib's own message when it gave one.
public enum GzipError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input is not valid gzip data (bad header, bad checksum, corrupt stream).
    case corrupt(String)
    /// The input ends before the gzip stream does.
    case truncated
    /// Decompressed data would exceed the caller's limit (a "zip bomb" or an oversized request).
    case tooLarge(limit: Int)
    /// zlib could not be initialised (out of memory).
    case initFailed(Int32)

    public var description: String {
        switch self {
        case .corrupt(let m): return "invalid gzip data: \(m)"
        case .truncated: return "gzip data ends before the end of the stream"
        case .tooLarge(let limit): return "gzip data expands beyond the limit of \(limit) bytes"
        case .initFailed(let code): return "zlib initialisation failed (code \(code))"
        }
    }
}

/// Compresses buffers to gzip. One per thread.
public final class GzipCompressor {
    private var stream = z_stream()
    /// zlib compression level, 1 (fastest) to 9 (smallest); 6 is zlib's default.
    public let level: Int32

    public init(level: Int32 = 6) throws(GzipError) {
        self.level = level
        let rc = deflateInit2_(
            &stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)
        )
        guard rc == Z_OK else { throw .initFailed(rc) }
    }

    deinit { deflateEnd(&stream) }

    /// Largest gzip output for `n` input bytes.
    public func bound(_ n: Int) -> Int { Int(deflateBound(&stream, UInt(n))) + 32 }

    /// Compresses `input` and appends the gzip stream to `output`. Returns the bytes appended.
    @discardableResult
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: WireBuffer) -> Int {
        deflateReset(&stream)
        let start = output.count
        output.resize(to: start + bound(input.count))
        let written: Int = output.withUnsafeMutableBytes { out in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = (out.baseAddress! + start).assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(out.count - start)
            // With avail_out >= deflateBound, one Z_FINISH call completes the stream (zlib manual).
            let rc = deflate(&stream, Z_FINISH)
            precondition(rc == Z_STREAM_END, "deflate with a deflateBound-sized output must finish")
            return out.count - start - Int(stream.avail_out)
        }
        output.resize(to: start + written)
        return written
    }
}

/// Decompresses gzip data with an output limit. One per thread.
public final class GzipDecompressor {
    private var stream = z_stream()

    public init() throws(GzipError) {
        let rc = inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw .initFailed(rc) }
    }

    deinit { inflateEnd(&stream) }

    /// Decompresses the whole gzip stream in `input`, appending to `output`, and returns the bytes appended.
    /// Throws `.tooLarge` as soon as the output would pass `limit` bytes.
    @discardableResult
    public func decompress(
        _ input: UnsafeRawBufferPointer, appendingTo output: WireBuffer, limit: Int
    ) throws(GzipError) -> Int {
        inflateReset(&stream)
        let start = output.count
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        var produced = 0
        var chunk = max(4096, min(limit + 1, input.count * 4))
        while true {
            output.resize(to: start + produced + chunk)
            let (rc, wrote) = output.withUnsafeMutableBytes { out -> (Int32, Int) in
                stream.next_out = (out.baseAddress! + start + produced).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(chunk)
                let rc = inflate(&stream, Z_NO_FLUSH)
                return (rc, chunk - Int(stream.avail_out))
            }
            produced += wrote
            if produced > limit {
                output.resize(to: start)
                throw .tooLarge(limit: limit)
            }
            switch rc {
            case Z_STREAM_END:
                output.resize(to: start + produced)
                return produced
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible: either the output is full (grow) or the input ran out (truncated).
                if stream.avail_in == 0 {
                    output.resize(to: start)
                    throw .truncated
                }
                chunk *= 2
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                output.resize(to: start)
                throw .corrupt(message)
            }
            if stream.avail_in == 0 && wrote == 0 {
                output.resize(to: start)
                throw .truncated
            }
            chunk = min(chunk * 2, max(4096, limit + 1 - produced))
        }
    }
}
