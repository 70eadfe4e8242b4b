import Foundation
import OTLPWire
import SyslogWire
import TestSupport
import Testing

@Suite("syslog timestamps and batches")
struct SyslogWireTests {
    func stamp(_ nanos: UInt64, _ format: SyslogFormat) -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeMutableBytes {
            if format == .rfc5424 {
                SyslogTime.storeRFC5424($0.baseAddress!, unixNanos: nanos)
            } else {
                SyslogTime.storeRFC3164($0.baseAddress!, unixNanos: nanos)
            }
        }
        return String(
            decoding: bytes.prefix(format == .rfc5424 ? SyslogTime.rfc5424Width : SyslogTime.rfc3164Width),
            as: UTF8.self)
    }

    @Test("timestamps agree with GNU date at leap days, year ends and random instants")
    func timestampsMatchDate() throws {
        var rng = SplitMix64(seed: 7)
        var seconds: [UInt64] = [
            0, 951_782_400, 951_868_799, 1_709_164_800, 4_102_444_799, 1_795_562_711, 2_000_000_000,
        ]
        for _ in 0..<20 { seconds.append(UInt64(rng.below(4_000_000_000))) }
        for s in seconds {
            let micros = UInt64(rng.below(1_000_000))
            let nanos = s * 1_000_000_000 + micros * 1000 + 999
            let r = try runProcess(["date", "-u", "-d", "@\(s)", "+%Y-%m-%dT%H:%M:%S|%b %e %H:%M:%S"])
            let parts = r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|")
            #expect(stamp(nanos, .rfc5424) == "\(parts[0]).\(String(format: "%06d", micros))Z")
            #expect(stamp(nanos, .rfc3164) == String(parts[1]), "\(s)")
        }
    }

    @Test(
        "every message has the promised size and framing; patching numbers them and moves nothing",
        arguments: [SyslogFormat.rfc5424, .rfc3164], [SyslogFraming.octetCounting, .newline, .datagram])
    func batchLayout(format: SyslogFormat, framing: SyslogFraming) throws {
        var shape = SyslogShape()
        shape.format = format
        shape.framing = framing
        shape.batchSize = 50
        shape.bodySize = 10
        shape.hostname = "h"
        #expect(shape.problems().isEmpty)
        let batch = SyslogBatch(shape: shape, seed: 3, runID: RunID(0xab))
        batch.patch(firstSeq: 9_998, sentUnixNano: 1_795_562_711_089_833_107)
        let all = batch.withBytes { Array($0) }
        #expect(all.count == batch.byteCount)
        var messages: [String] = []
        if framing == .datagram {
            for i in 0..<batch.count { messages.append(batch.withMessage(i) { String(decoding: $0, as: UTF8.self) }) }
            #expect(batch.messageOffsets[1] - batch.messageOffsets[0] == Int32(batch.messageSize))
        } else {
            var rest = all[...]
            while !rest.isEmpty {
                if framing == .octetCounting {
                    let space = try #require(rest.firstIndex(of: UInt8(ascii: " ")))
                    let n = try #require(Int(String(decoding: rest[..<space], as: UTF8.self)))
                    messages.append(String(decoding: rest[(space + 1)..<(space + 1 + n)], as: UTF8.self))
                    rest = rest[(space + 1 + n)...]
                } else {
                    let nl = try #require(rest.firstIndex(of: UInt8(ascii: "\n")))
                    messages.append(String(decoding: rest[..<nl], as: UTF8.self))
                    rest = rest[(nl + 1)...]
                }
            }
        }
        #expect(messages.count == 50)
        for (i, m) in messages.enumerated() {
            #expect(m.utf8.count == batch.messageSize)
            let seq = String(format: "%020d", 9_998 + i)
            if format == .rfc5424 {
                #expect(
                    m.hasPrefix(
                        "<134>1 2026-11-24T23:25:11.089833Z h pipeperf - load [pipeperf@32473 run=\"00000000000000ab\" seq=\"\(seq)\" sent=\"1795562711089833107\"] "
                    ), "\(m)")
            } else {
                #expect(
                    m.hasPrefix(
                        "<134>Nov 24 23:25:11 h pipeperf: pipeperf run=00000000000000ab seq=\(seq) sent=1795562711089833107 "
                    ), "\(m)")
            }
        }
    }

    @Test("bad shapes name the option")
    func problems() {
        var s = SyslogShape()
        s.hostname = "has space"
        s.appName = "a:b"
        s.framing = .datagram
        s.bodySize = 70_000
        let p = s.problems().joined(separator: "\n")
        #expect(p.contains("syslog-hostname must be"))
        #expect(p.contains("syslog-app-name must be"))
        #expect(p.contains("more than a UDP datagram holds"))
    }
}

@Suite("reading syslog: framing and tracking fields")
struct SyslogReaderTests {
    func frames(_ stream: [UInt8], chunk: Int, limit: Int = 1000) throws -> [String] {
        // Feed the stream in chunks, keeping the incomplete rest, as the receiver does.
        var pending: [UInt8] = []
        var out: [String] = []
        var i = 0
        while i < stream.count {
            pending += stream[i..<min(i + chunk, stream.count)]
            i += chunk
            var offset = 0
            try pending.withUnsafeBytes { b in
                while let (range, next) = try SyslogReader.nextFrame(b, from: offset, limit: limit) {
                    out.append(String(decoding: b[range], as: UTF8.self))
                    offset = next
                }
            }
            pending.removeFirst(offset)
        }
        #expect(pending.isEmpty)
        return out
    }

    @Test("octet-counted and newline frames, mixed on one stream, in every chunk size")
    func framing() throws {
        let stream = Array("11 <13>1 hello5 <13>x<13>plain line\n<13>crlf\r\n3 abc".utf8)
        for chunk in 1...stream.count {
            #expect(
                try frames(stream, chunk: chunk) == ["<13>1 hello", "<13>x", "<13>plain line", "<13>crlf", "abc"],
                "chunk \(chunk)")
        }
    }

    @Test("bad octet counts and oversized messages are errors with the offset")
    func badFrames() {
        for (text, error) in [
            ("12x <13>", SyslogFrameError.badLength(offset: 0)), ("0 ", .badLength(offset: 0)),
            ("1234567890 x", .badLength(offset: 0)), ("2000 x", .tooLong(length: 2000, limit: 1000)),
        ] {
            #expect(throws: error, "\(text)") {
                _ = try Array(text.utf8).withUnsafeBytes { try SyslogReader.nextFrame($0, from: 0, limit: 1000) }
            }
        }
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 1200)
        #expect(throws: SyslogFrameError.self) {
            _ = try long.withUnsafeBytes { try SyslogReader.nextFrame($0, from: 0, limit: 1000) }
        }
    }

    @Test(
        "tracking fields from both formats, from rewritten messages, and none from others",
        arguments: [
            (
                "<134>1 2026-11-24T23:25:11Z h pp - load [pipeperf@32473 run=\"00000000000000ab\" seq=\"00000000000000000042\" sent=\"1795562711089833107\"] body",
                SyslogTracking(runID: 0xab, seq: 42, sentUnixNano: 1_795_562_711_089_833_107)
            ),
            (
                "<134>Nov 24 23:25:11 h pp: pipeperf run=00000000000000ab seq=00000000000000000007 sent=1795562711089833107 body",
                SyslogTracking(runID: 0xab, seq: 7, sentUnixNano: 1_795_562_711_089_833_107)
            ),
            ("forwarded: pipeperf run=00000000000000AB seq=9", SyslogTracking(runID: 0xab, seq: 9, sentUnixNano: nil)),
            ("<13>no tracking here, reseq=5 unsent=3", SyslogTracking()),
            ("seq=99999999999999999999999 run=xyz", SyslogTracking()),
        ])
    func tracking(message: String, expected: SyslogTracking) {
        #expect(Array(message.utf8).withUnsafeBytes { SyslogReader.tracking($0) } == expected)
    }

    @Test("what the batch writer writes, the reader reads back", arguments: [SyslogFormat.rfc5424, .rfc3164])
    func roundTrip(format: SyslogFormat) {
        var shape = SyslogShape()
        shape.format = format
        shape.framing = .octetCounting
        shape.batchSize = 20
        let batch = SyslogBatch(shape: shape, seed: 1, runID: RunID(0x1234))
        batch.patch(firstSeq: 500, sentUnixNano: 1_795_562_711_000_000_000)
        var seqs: [UInt64] = []
        batch.withBytes { b in
            var offset = 0
            while let (range, next) = try? SyslogReader.nextFrame(b, from: offset, limit: 4096) {
                let t = SyslogReader.tracking(UnsafeRawBufferPointer(rebasing: b[range]))
                #expect(t.runID == 0x1234)
                #expect(t.sentUnixNano == 1_795_562_711_000_000_000)
                if let s = t.seq { seqs.append(s) }
                offset = next
            }
        }
        #expect(seqs == Array(500..<520))
    }
}
