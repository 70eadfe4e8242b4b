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
            if format == .rfc5424 { SyslogTime.storeRFC5424($0.baseAddress!, unixNanos: nanos) } else { SyslogTime.storeRFC3164($0.baseAddress!, unixNanos: nanos) }
        }
        return String(decoding: bytes.prefix(format == .rfc5424 ? SyslogTime.rfc5424Width : SyslogTime.rfc3164Width), as: UTF8.self)
    }

    @Test("timestamps agree with GNU date at leap days, year ends and random instants")
    func timestampsMatchDate() throws {
        var rng = SplitMix64(seed: 7)
        var seconds: [UInt64] = [0, 951_782_400, 951_868_799, 1_709_164_800, 4_102_444_799, 1_795_562_711, 2_000_000_000]
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

    @Test("every message has the promised size and framing; patching numbers them and moves nothing",
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
                #expect(m.hasPrefix("<134>1 2026-11-24T23:25:11.089833Z h pipeperf - load [pipeperf@32473 run=\"00000000000000ab\" seq=\"\(seq)\" sent=\"1795562711089833107\"] "), "\(m)")
            } else {
                #expect(m.hasPrefix("<134>Nov 24 23:25:11 h pipeperf: pipeperf run=00000000000000ab seq=\(seq) sent=1795562711089833107 "), "\(m)")
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
