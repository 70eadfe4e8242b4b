// Reading syslog on the receiving side: splitting a TCP stream into messages (RFC 6587: octet counting
// when a frame starts with a digit, otherwise a line feed ends the message) and finding the tracking
// fields (docs/tracking.md: run=, seq=, sent=, quoted in RFC 5424 structured data or bare in text)
// wherever a pipeline left them in the message. No allocation; malformed input is an error with the
// byte offset, never a crash.

import OTLPWire

/// The tracking fields found in one message.
public struct SyslogTracking: Equatable, Sendable {
    public var runID: UInt64?
    public var seq: UInt64?
    public var sentUnixNano: UInt64?
    public init(runID: UInt64? = nil, seq: UInt64? = nil, sentUnixNano: UInt64? = nil) {
        self.runID = runID
        self.seq = seq
        self.sentUnixNano = sentUnixNano
    }
}

/// A stream that cannot be split into messages.
public enum SyslogFrameError: Error, Equatable, CustomStringConvertible {
    /// An octet count that is not a number, or not followed by a space, at this offset.
    case badLength(offset: Int)
    /// A message longer than the limit.
    case tooLong(length: Int, limit: Int)

    public var description: String {
        switch self {
        case .badLength(let o): return "octet count at byte \(o) is not digits followed by a space (RFC 6587 §3.4.1)"
        case .tooLong(let n, let limit): return "message of \(n) bytes is over the limit of \(limit)"
        }
    }
}

public enum SyslogReader {
    /// The next message of a TCP stream in `bytes` from `offset`: its range, and the offset after it.
    /// nil when the message is not complete yet.
    public static func nextFrame(
        _ bytes: UnsafeRawBufferPointer, from offset: Int, limit: Int
    ) throws(SyslogFrameError)
        -> (message: Range<Int>, next: Int)?
    {
        guard offset < bytes.count else { return nil }
        let first = bytes[offset]
        if first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") {
            // Octet counting: MSG-LEN SP SYSLOG-MSG, MSG-LEN without leading zeros (up to 9 digits here).
            var length = 0
            var i = offset
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                length = length * 10 + Int(bytes[i] - UInt8(ascii: "0"))
                i += 1
                if i - offset > 9 { throw .badLength(offset: offset) }
            }
            guard i < bytes.count else { return nil }
            guard bytes[i] == UInt8(ascii: " "), length > 0 else { throw .badLength(offset: offset) }
            guard length <= limit else { throw .tooLong(length: length, limit: limit) }
            let start = i + 1
            guard bytes.count - start >= length else { return nil }
            return (start..<(start + length), start + length)
        }
        // Non-transparent framing: up to a line feed (a CR before it is dropped).
        var i = offset
        while i < bytes.count && bytes[i] != 10 {
            i += 1
            if i - offset > limit { throw .tooLong(length: i - offset, limit: limit) }
        }
        guard i < bytes.count else {
            if bytes.count - offset > limit { throw .tooLong(length: bytes.count - offset, limit: limit) }
            return nil
        }
        var end = i
        if end > offset && bytes[end - 1] == 13 { end -= 1 }
        return (offset..<end, i + 1)
    }

    /// The tracking fields of a message, wherever they are (nil fields when absent or malformed).
    public static func tracking(_ m: UnsafeRawBufferPointer) -> SyslogTracking {
        var t = SyslogTracking()
        var i = 0
        let n = m.count
        while i + 4 < n {
            // Keys are preceded by a space (or '[pipeperf@32473 ' / 'pipeperf '), followed by '='.
            let b = m[i]
            if b == UInt8(ascii: "r"), i + 4 < n, m[i + 1] == UInt8(ascii: "u"), m[i + 2] == UInt8(ascii: "n"),
                m[i + 3] == UInt8(ascii: "="),
                i == 0 || m[i - 1] == UInt8(ascii: " ")
            {
                var p = i + 4
                if p < n && m[p] == UInt8(ascii: "\"") { p += 1 }
                if p + 16 <= n { t.runID = RunID.parseHex(UnsafeRawBufferPointer(rebasing: m[p..<(p + 16)])) }
                i = p
                continue
            }
            if b == UInt8(ascii: "s"), m[i + 1] == UInt8(ascii: "e"), m[i + 2] == UInt8(ascii: "q"),
                m[i + 3] == UInt8(ascii: "="),
                i == 0 || m[i - 1] == UInt8(ascii: " ")
            {
                let (v, next) = decimal(m, i + 4)
                t.seq = v
                i = next
                continue
            }
            if b == UInt8(ascii: "s"), i + 5 < n, m[i + 1] == UInt8(ascii: "e"), m[i + 2] == UInt8(ascii: "n"),
                m[i + 3] == UInt8(ascii: "t"),
                m[i + 4] == UInt8(ascii: "="), i == 0 || m[i - 1] == UInt8(ascii: " ")
            {
                let (v, next) = decimal(m, i + 5)
                t.sentUnixNano = v
                i = next
                if t.seq != nil && t.runID != nil { break }
                continue
            }
            i += 1
        }
        return t
    }

    /// A decimal number at `p` (optionally quoted), up to 20 digits; nil when there is none or it overflows.
    static func decimal(_ m: UnsafeRawBufferPointer, _ start: Int) -> (UInt64?, Int) {
        var p = start
        if p < m.count && m[p] == UInt8(ascii: "\"") { p += 1 }
        var v: UInt64 = 0
        var digits = 0
        while p < m.count, m[p] >= UInt8(ascii: "0"), m[p] <= UInt8(ascii: "9") {
            let (mul, o1) = v.multipliedReportingOverflow(by: 10)
            let (sum, o2) = mul.addingReportingOverflow(UInt64(m[p] - UInt8(ascii: "0")))
            if o1 || o2 { return (nil, p) }
            v = sum
            digits += 1
            p += 1
        }
        return (digits > 0 ? v : nil, p)
    }
}
