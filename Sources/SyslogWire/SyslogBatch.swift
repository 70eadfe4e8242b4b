// A batch of syslog messages built once and patched in place per send, like OTLPWire's BatchTemplate:
// the timestamp, sequence number and send time are fixed-width text, so patching moves no byte and
// allocates nothing.
//
// Formats: RFC 5424 (§6: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`) and RFC 3164
// (§4.1: `<PRI>TIMESTAMP HOSTNAME TAG: MSG`). Framing on TCP (RFC 6587 §3.4): octet counting
// (`LEN SP MSG`) or a trailing newline; on UDP (RFC 5426) one message per datagram, unframed.
//
// Tracking (docs/tracking.md): RFC 5424 messages carry the structured-data element
// `[pipeperf@32473 run="…" seq="…" sent="…"]` (32473 is the enterprise number RFC 5612 reserves for
// documentation); RFC 3164 messages, which have no structured data, start their text with
// `pipeperf run=… seq=… sent=… `. The sequence number is 20 digits and the send time (Unix ns) 19,
// both zero-padded decimal.

import OTLPWire

/// Which syslog header format.
public enum SyslogFormat: String, Sendable, CaseIterable {
    case rfc5424, rfc3164
}

/// How messages are delimited on a stream transport.
public enum SyslogFraming: String, Sendable, CaseIterable {
    /// RFC 6587 §3.4.1: the message length in decimal, a space, then the message.
    case octetCounting = "octet-counting"
    /// RFC 6587 §3.4.2: the message followed by a line feed.
    case newline
    /// One message per datagram (UDP, RFC 5426).
    case datagram
}

/// What the messages of a batch look like.
public struct SyslogShape: Sendable {
    public var format: SyslogFormat = .rfc5424
    public var framing: SyslogFraming = .octetCounting
    public var batchSize = 1000
    public var bodySize = 64
    public var hostname = "localhost"
    public var appName = "pipeperf"
    /// Facility × 8 + severity (RFC 5424 §6.2.1); 134 is local0.info.
    public var priority = 134
    public var tracking = true
    public init() {}

    /// Bytes of one message (without framing).
    public var messageSize: Int {
        let pri = 2 + String(priority).utf8.count
        switch format {
        case .rfc5424:
            // <PRI>1 TS HOST APP - load SD[ BODY]
            let sd = tracking ? SyslogShape.sdWidth : 1
            return pri + 2 + SyslogTime.rfc5424Width + 1 + hostname.utf8.count + 1 + appName.utf8.count + 3 + 5 + sd
                + (bodySize > 0 ? 1 + bodySize : 0)
        case .rfc3164:
            // <PRI>TS HOST TAG: [tracking ]BODY
            return pri + SyslogTime.rfc3164Width + 1 + hostname.utf8.count + 1 + appName.utf8.count + 2
                + (tracking ? SyslogShape.textTrackingWidth : 0) + bodySize
        }
    }

    /// `[pipeperf@32473 run="<16>" seq="<20>" sent="<19>"]`
    static let sdWidth = 15 + 6 + 16 + 1 + 6 + 20 + 1 + 7 + 19 + 2
    /// `pipeperf run=<16> seq=<20> sent=<19> `
    static let textTrackingWidth = 9 + 4 + 16 + 5 + 20 + 6 + 19 + 1

    /// Everything wrong with the shape, each naming its option.
    public func problems() -> [String] {
        var p: [String] = []
        if !(1...1_000_000).contains(batchSize) {
            p.append("batch-size must be between 1 and 1000000 (got \(batchSize))")
        }
        if !(0...1_048_576).contains(bodySize) { p.append("body-size must be between 0 and 1048576 (got \(bodySize))") }
        // RFC 5424 §6.2.4 and §6.2.5: printable US-ASCII without spaces, at most 255 and 48 bytes.
        if hostname.isEmpty || hostname.utf8.count > 255 || !hostname.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) {
            p.append("syslog-hostname must be 1-255 printable ASCII characters without spaces (got '\(hostname)')")
        }
        if appName.isEmpty || appName.utf8.count > 48
            || !appName.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: "[") })
        {
            p.append(
                "syslog-app-name must be 1-48 printable ASCII characters without spaces, ':' or '[' (got '\(appName)')")
        }
        if !(0...191).contains(priority) { p.append("syslog-priority must be between 0 and 191 (got \(priority))") }
        // RFC 768 / IPv4: at most 65,507 bytes of UDP payload.
        if framing == .datagram && messageSize > 65_507 {
            p.append(
                "body-size \(bodySize) makes \(messageSize)-byte syslog messages, more than a UDP datagram holds (65507)"
            )
        }
        return p
    }
}

/// A batch of syslog messages with per-send fields patched in place. Owned by one thread at a time.
public final class SyslogBatch: @unchecked Sendable {
    public let shape: SyslogShape
    /// The batch's bytes (allocated once; patched in place).
    let storage: UnsafeMutableRawBufferPointer
    /// Per message: start offset of the message (after framing), of its timestamp, its seq digits
    /// and its sent digits (-1 without tracking).
    let messageStart: [Int32]
    let timeOffset: [Int32]
    let seqOffset: [Int32]
    let sentOffset: [Int32]
    public let messageSize: Int

    /// Builds a batch for `shape`; message bodies are random printable ASCII from `seed`.
    public init(shape: SyslogShape, seed: UInt64, runID: RunID) {
        self.shape = shape
        let size = shape.messageSize
        messageSize = size
        let lengthPrefix = shape.framing == .octetCounting ? String(size) + " " : ""
        let perMessage = lengthPrefix.utf8.count + size + (shape.framing == .newline ? 1 : 0)
        var buf = [UInt8]()
        buf.reserveCapacity(perMessage * shape.batchSize)
        var starts: [Int32] = [], times: [Int32] = [], seqs: [Int32] = [], sents: [Int32] = []
        var rng = SplitMix64(seed: seed)
        var runHex = [UInt8](repeating: 0, count: 16)
        runHex.withUnsafeMutableBytes { runID.storeHex($0.baseAddress!) }
        let zeros20 = [UInt8](repeating: UInt8(ascii: "0"), count: 20)
        // run="…" seq="…" sent="…" (quoted in RFC 5424 structured data, bare in RFC 3164 text), with the
        // digits zeroed and their offsets recorded for patching.
        func appendTracking(open: String, quote: String, close: String) {
            buf += "\(open)run=\(quote)".utf8
            buf += runHex
            buf += "\(quote) seq=\(quote)".utf8
            seqs.append(Int32(buf.count))
            buf += zeros20
            buf += "\(quote) sent=\(quote)".utf8
            sents.append(Int32(buf.count))
            buf += zeros20[..<19]
            buf += "\(quote)\(close)".utf8
        }
        for _ in 0..<shape.batchSize {
            buf += lengthPrefix.utf8
            let start = buf.count
            starts.append(Int32(start))
            buf += "<\(shape.priority)>".utf8
            if shape.format == .rfc5424 { buf += "1 ".utf8 }
            times.append(Int32(buf.count))
            buf += repeatElement(
                UInt8(ascii: "0"), count: shape.format == .rfc5424 ? SyslogTime.rfc5424Width : SyslogTime.rfc3164Width)
            buf += " \(shape.hostname) \(shape.appName)".utf8
            if shape.format == .rfc5424 {
                buf += " - load ".utf8
                if shape.tracking {
                    appendTracking(open: "[pipeperf@32473 ", quote: "\"", close: "]")
                } else {
                    buf += "-".utf8
                }
                if shape.bodySize > 0 { buf += " ".utf8 }
            } else {
                buf += ": ".utf8
                if shape.tracking { appendTracking(open: "pipeperf ", quote: "", close: " ") }
            }
            for _ in 0..<shape.bodySize {
                // Printable ASCII letters and digits: no framing byte (newline) and nothing a parser escapes.
                let alphabet: StaticString = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                buf.append(alphabet.utf8Start[Int(rng.below(62))])
            }
            if shape.framing == .newline { buf.append(UInt8(ascii: "\n")) }
            precondition(buf.count - start == size + (shape.framing == .newline ? 1 : 0), "syslog message size")
        }
        if !shape.tracking {
            seqs = Array(repeating: -1, count: shape.batchSize)
            sents = seqs
        }
        storage = .allocate(byteCount: Swift.max(buf.count, 1), alignment: 16)
        storage.copyBytes(from: buf)
        byteCount = buf.count
        offsets = .allocate(capacity: Swift.max(starts.count, 1))
        offsets.initialize(from: starts, count: starts.count)
        messageStart = starts
        timeOffset = times
        seqOffset = seqs
        sentOffset = sents
    }

    /// Messages in the batch.
    public var count: Int { shape.batchSize }

    /// Bytes of the whole batch, framing included.
    public let byteCount: Int

    let offsets: UnsafeMutablePointer<Int32>

    deinit {
        storage.deallocate()
        offsets.deallocate()
    }

    /// Rewrites the timestamp of every message to `sentUnixNano` and numbers them `firstSeq`,
    /// `firstSeq + 1`, ...; no allocation.
    public func patch(firstSeq: UInt64, sentUnixNano: UInt64) {
        let base = storage.baseAddress!
        // The timestamp and send time are the same for the whole batch: format once, copy per message.
        var stamp: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var seq: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &stamp) { s in
            withUnsafeMutableBytes(of: &digits) { d in
                withUnsafeMutableBytes(of: &seq) { q in
                    let stampWidth: Int
                    if shape.format == .rfc5424 {
                        SyslogTime.storeRFC5424(s.baseAddress!, unixNanos: sentUnixNano)
                        stampWidth = SyslogTime.rfc5424Width
                    } else {
                        SyslogTime.storeRFC3164(s.baseAddress!, unixNanos: sentUnixNano)
                        stampWidth = SyslogTime.rfc3164Width
                    }
                    SyslogBatch.storeDecimal(d.baseAddress!, sentUnixNano, width: 19)
                    SyslogBatch.storeDecimal(q.baseAddress!, firstSeq, width: 20)
                    let tracked = shape.tracking
                    for i in 0..<shape.batchSize {
                        (base + Int(timeOffset[i])).copyMemory(from: s.baseAddress!, byteCount: stampWidth)
                        if tracked {
                            (base + Int(sentOffset[i])).copyMemory(from: d.baseAddress!, byteCount: 19)
                            (base + Int(seqOffset[i])).copyMemory(from: q.baseAddress!, byteCount: 20)
                            SyslogBatch.incrementDecimal(q.baseAddress!, width: 20)
                        }
                    }
                }
            }
        }
    }

    /// Writes `value` as `width` zero-padded decimal digits (values wider than `width` keep their low digits).
    @inlinable
    public static func storeDecimal(_ p: UnsafeMutableRawPointer, _ value: UInt64, width: Int) {
        var v = value
        var i = width - 1
        while i >= 0 {
            p.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10), toByteOffset: i, as: UInt8.self)
            v /= 10
            i -= 1
        }
    }

    /// Adds one to the decimal digits at `p`, carrying leftwards.
    @inline(__always)
    static func incrementDecimal(_ p: UnsafeMutableRawPointer, width: Int) {
        var i = width - 1
        while i >= 0 {
            let d = p.load(fromByteOffset: i, as: UInt8.self)
            if d < UInt8(ascii: "9") {
                p.storeBytes(of: d &+ 1, toByteOffset: i, as: UInt8.self)
                return
            }
            p.storeBytes(of: UInt8(ascii: "0"), toByteOffset: i, as: UInt8.self)
            i -= 1
        }
    }

    /// Calls `body` with the whole batch (framing included), for a stream transport.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.baseAddress, count: byteCount))
    }

    /// The batch's first byte, for a datagram transport (valid while the batch lives).
    public var base: UnsafeRawPointer { UnsafeRawPointer(storage.baseAddress!) }
    /// Offset from `base` of each message (no framing), for a datagram transport: one message per datagram.
    public var messageOffsets: UnsafePointer<Int32> { UnsafePointer(offsets) }

    /// Calls `body` with message `i` alone (no framing), for a datagram transport.
    public func withMessage<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.baseAddress! + Int(messageStart[i]), count: messageSize))
    }
}
