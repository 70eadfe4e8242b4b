import Foundation
import OTLPGzip
import OTLPWire
import TestSupport
import Testing

@Suite("gzip over zlib")
struct GzipTests {
    func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        let c = try GzipCompressor()
        let out = WireBuffer()
        bytes.withUnsafeBytes { _ = c.compress($0, appendingTo: out) }
        return out.bytes
    }

    func decompress(_ bytes: [UInt8], limit: Int = 1 << 26) throws(GzipError) -> [UInt8] {
        let d = try GzipDecompressor()
        let out = WireBuffer()
        let copy = bytes
        var failure: GzipError? = nil
        copy.withUnsafeBytes { raw in
            do throws(GzipError) { _ = try d.decompress(raw, appendingTo: out, limit: limit) } catch { failure = error }
        }
        if let failure { throw failure }
        return out.bytes
    }

    @Test("round trips, with reused streams")
    func roundTrip() throws {
        let c = try GzipCompressor()
        let d = try GzipDecompressor()
        var rng = SplitMix64(seed: 1)
        for n in [0, 1, 100, 65_536, 1_000_000] {
            let data = n == 1_000_000 ? [UInt8](repeating: 7, count: n) : rng.bytes(n)
            let z = WireBuffer(), back = WireBuffer()
            data.withUnsafeBytes { _ = c.compress($0, appendingTo: z) }
            var failure: GzipError? = nil
            z.withUnsafeBytes { raw in
                do throws(GzipError) { _ = try d.decompress(raw, appendingTo: back, limit: 2_000_000) } catch {
                    failure = error
                }
            }
            #expect(failure == nil)
            #expect(back.bytes == data)
        }
    }

    @Test("the system gunzip reads what we write, and we read what gzip writes")
    func interop() throws {
        let shape = PayloadShape(signal: .logs, batchSize: 200)
        let message = BatchTemplate(shape: shape, seed: 1).withMessage { Array($0) }
        let ours = try compress(message)
        let gunzip = try runProcess(["gzip", "-dc"], stdin: ours)
        #expect(gunzip.status == 0 && gunzip.stdout == message)
        let theirs = try runProcess(["gzip", "-c", "-9"], stdin: message)
        #expect(try decompress(theirs.stdout) == message)
    }

    @Test("corrupt, truncated and oversized input")
    func errors() throws {
        let z = try compress(Array(repeating: 1, count: 100_000))
        #expect(throws: GzipError.truncated) { try decompress(Array(z.prefix(z.count / 2))) }
        #expect(throws: GzipError.tooLarge(limit: 50_000)) { try decompress(z, limit: 50_000) }
        guard
            case .corrupt? = { () -> GzipError? in
                do throws(GzipError) { _ = try decompress([0x1f, 0x8b, 9, 9, 9, 9, 9, 9, 9, 9]) } catch { return error }
                return nil
            }()
        else {
            Issue.record("expected .corrupt")
            return
        }
        var flipped = z
        flipped[flipped.count - 6] ^= 0xff  // CRC32 trailer
        #expect(throws: GzipError.self) { try decompress(flipped) }
        #expect(throws: GzipError.self) { try decompress([]) }
    }
}
