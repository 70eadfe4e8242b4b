// libFuzzer entry point over everything that reads bytes from the network: the OTLP scanner (all
// three signals, counting and tracking walks), the gRPC message decoder fed in chunks, gzip
// decompression, the run-id parser, the fake backend's request path (gunzip, scan, ledger, latency,
// faults), syslog framing and tracking, loadgen's HTTP/1.1 response parser, and the JSON reader behind
// every admin body (POST /start, POST /faults) and Docker Engine answer. Any crash, sanitizer report or
// broken invariant aborts.

import AdminHTTP
import FakeBackend
import LoadGen
import OTLPGzip
import OTLPWire
import SinkCore
import SyslogWire

struct Checker: TrackingVisitor {
    var items = 0
    mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?) { items += 1 }
}

// libFuzzer calls the entry point from one thread.
nonisolated(unsafe) let gunzip = try! GzipDecompressor()
nonisolated(unsafe) let scratch = WireBuffer(capacity: 1 << 16)

// The fake backend's request path, as its receiving threads run it (no ledger thread: drained here).
nonisolated(unsafe) let backend = try! FakeBackend(threads: 1, ledgerWindow: 4096, maxRuns: 4)
nonisolated(unsafe) let policy = backend.policy(slot: 0, maxInflatedBytes: 1 << 20)
nonisolated(unsafe) let responseBody = WireBuffer(capacity: 1 << 12)

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
                try decoder.feed(UnsafeRawBufferPointer(start: data + offset, count: n)) { _, m in total += m.count + 5
                }
                offset += n
            }
            try decoder.finish()
            precondition(total == size - 1, "deframed bytes do not add up")
        } catch {}
    }
    scratch.removeAll()
    do throws(GzipError) { _ = try gunzip.decompress(bytes, appendingTo: scratch, limit: 1 << 20) } catch {}
    _ = RunID.parseHex(bytes)

    // Request path: each signal, as plain and (when it looks like gzip) as compressed.
    for signal in Signal.allCases {
        for gz in [false, true] where !gz || (size > 2 && data[0] == 0x1f && data[1] == 0x8b) {
            let reply = policy.handle(ExportRequestInfo(signal: signal, wireBytes: size, message: bytes, gzip: gz))
            if case .error(let code, _) = reply.kind {
                precondition(code == 3, "only malformed input is refused without faults")
            }
        }
        for t in backend.ledger.drainNow() {
            precondition(
                t.distinct >= 0 && t.missing >= 0 && t.duplicates >= 0
                    && t.distinct + t.duplicates + t.late == t.received,
                "ledger totals do not add up")
        }
    }

    // syslog: frames in chunks, and the tracking fields of each.
    var offset = 0
    do throws(SyslogFrameError) {
        while let (range, next) = try SyslogReader.nextFrame(bytes, from: offset, limit: 4096) {
            precondition(
                range.lowerBound >= offset && range.upperBound <= size && next > offset, "frame outside the input")
            _ = SyslogReader.tracking(UnsafeRawBufferPointer(rebasing: bytes[range]))
            offset = next
        }
    } catch {}
    _ = SyslogReader.tracking(bytes)

    // loadgen's pipelined HTTP/1.1 response reader.
    for eof in [false, true] {
        do throws(HTTP1Error) {
            if let r = try HTTP1ResponseParser.parse(bytes, atEOF: eof, body: responseBody) {
                precondition(r.consumed > 0 && r.consumed <= size, "consumed outside the input")
            }
        } catch {}
    }
    // JSON: whatever the reader accepts, it writes back as text that reads back to the same value;
    // admin option bodies become arguments or a named error.
    if let value = JSON.parse(bytes: bytes) {
        precondition(
            JSON.parse(value.text) == value || value.text.contains("null"), "JSON written back does not read back")
    }
    _ = try? jsonArguments(Array(bytes), example: "{}")
    return 0
}
