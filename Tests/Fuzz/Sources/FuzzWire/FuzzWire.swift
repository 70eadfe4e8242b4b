// libFuzzer entry point over everything that reads bytes from the network: the OTLP scanner (all
// three signals, counting and tracking walks), the gRPC message decoder fed in chunks, gzip
// decompression, and the run-id parser. Any crash, sanitizer report or broken invariant aborts.

import OTLPGzip
import OTLPWire

struct Checker: TrackingVisitor {
    var items = 0
    mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?) { items += 1 }
}

// libFuzzer calls the entry point from one thread.
nonisolated(unsafe) let gunzip = try! GzipDecompressor()
nonisolated(unsafe) let scratch = WireBuffer(capacity: 1 << 16)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    for signal in Signal.allCases {
        var v = Checker()
        let scanned: ScanCounts?
        do throws(WireError) {
            scanned = try OTLPScanner.scan(signal, bytes, visitor: &v)
        } catch {
            precondition(error.offset >= 0 && error.offset <= size, "error offset outside the input")
            scanned = nil
        }
        let counted: ScanCounts?
        do throws(WireError) { counted = try OTLPScanner.count(signal, bytes) } catch {
            precondition(error.offset >= 0 && error.offset <= size, "error offset outside the input")
            counted = nil
        }
        // The tracking walk validates more than the counting walk: whatever it accepts, counting accepts
        // with the same counts.
        if let s = scanned {
            guard let c = counted, c.items == s.items, c.resources == s.resources, c.scopes == s.scopes else {
                preconditionFailure("count and scan disagree")
            }
            precondition(v.items >= s.tracked, "visitor saw fewer items than were tracked")
        }
    }
    // gRPC deframing in chunks whose size comes from the first byte.
    if size > 0 {
        let chunk = Int(data[0] % 17) + 1
        var decoder = GRPCMessageDecoder(maxMessageSize: 1 << 20)
        var total = 0
        var offset = 1
        do throws(GRPCFramingError) {
            while offset < size {
                let n = min(chunk, size - offset)
                try decoder.feed(UnsafeRawBufferPointer(start: data + offset, count: n)) { _, m in total += m.count + 5 }
                offset += n
            }
            try decoder.finish()
            precondition(total == size - 1, "deframed bytes do not add up")
        } catch {}
    }
    scratch.removeAll()
    do throws(GzipError) { _ = try gunzip.decompress(bytes, appendingTo: scratch, limit: 1 << 20) } catch {}
    _ = RunID.parseHex(bytes)
    return 0
}
