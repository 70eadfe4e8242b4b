// Reading HTTP/1.1 responses (RFC 9112) to OTLP/HTTP exports off a pipelined connection: status line,
// the headers that frame the body (Content-Length, Transfer-Encoding: chunked), Connection: close,
// and the body itself (an Export*ServiceResponse, for partial success). Strict and bounded: anything
// malformed is an error that closes the connection, never a guess.

import OTLPWire

/// A malformed or oversized response.
public struct HTTP1Error: Error, CustomStringConvertible {
    let message: String
    public var description: String { "bad HTTP/1.1 response: \(message)" }
}

/// One complete response.
public struct HTTP1Response {
    public var status = 0
    /// Bytes of the response on the wire (head and body), to consume.
    public var consumed = 0
    /// The server will close the connection after this response.
    public var close = false
    /// Content-Encoding other than identity (then the body is not read for partial success).
    public var encoded = false
    /// Seconds from Retry-After (RFC 9110 §10.2.3), when given as a number.
    public var retryAfter: Int? = nil
}

/// The response parser (public for the fuzzer).
public enum HTTP1ResponseParser {
    static let maxHead = 64 * 1024
    static let maxBody = 4 * 1024 * 1024

    /// Parses the response at the start of `bytes`, copying its (de-chunked) body into `body`.
    /// Returns nil when more bytes are needed. 1xx responses are skipped (RFC 9110 §15.2). At end of
    /// stream (`atEOF`), a response without length framing ends there (RFC 9112 §6.3 rule 8).
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, atEOF: Bool, body: WireBuffer
    ) throws(HTTP1Error) -> HTTP1Response? {
        var offset = 0
        while true {
            guard let headEnd = find(bytes, from: offset, "\r\n\r\n") else {
                if bytes.count - offset > maxHead {
                    throw HTTP1Error(message: "response head longer than \(maxHead) bytes")
                }
                return nil
            }
            var r = HTTP1Response()
            var length: Int? = nil
            var chunked = false
            // Status line: HTTP/1.x SP 3DIGIT SP reason
            guard let lineEnd = find(bytes, from: offset, "\r\n") else { return nil }
            let line = UnsafeRawBufferPointer(rebasing: bytes[offset..<lineEnd])
            guard line.count >= 12, line.starts(with: "HTTP/1.".utf8), line[8] == UInt8(ascii: " "),
                let status = digits(UnsafeRawBufferPointer(rebasing: line[9..<12])), (100...599).contains(status)
            else {
                throw HTTP1Error(message: "status line '\(printable(line))'")
            }
            r.status = status
            if line[7] == UInt8(ascii: "0") { r.close = true }  // HTTP/1.0 closes unless keep-alive
            var p = lineEnd + 2
            while p < headEnd {
                guard let e = find(bytes, from: p, "\r\n") else { break }
                let field = UnsafeRawBufferPointer(rebasing: bytes[p..<e])
                p = e + 2
                guard let colon = field.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
                    throw HTTP1Error(message: "header line '\(printable(field))'")
                }
                let name = UnsafeRawBufferPointer(rebasing: field[..<colon])
                let value = trim(UnsafeRawBufferPointer(rebasing: field[(colon + 1)...]))
                if caseEquals(name, "content-length") {
                    guard let n = digits(value), length == nil || length == n else {
                        throw HTTP1Error(message: "Content-Length '\(printable(value))'")
                    }
                    length = n
                } else if caseEquals(name, "transfer-encoding") {
                    guard caseEquals(value, "chunked") else {
                        throw HTTP1Error(message: "Transfer-Encoding '\(printable(value))'")
                    }
                    chunked = true
                } else if caseEquals(name, "connection") {
                    if caseContains(value, "close") { r.close = true }
                    if caseContains(value, "keep-alive") && line[7] == UInt8(ascii: "0") { r.close = false }
                } else if caseEquals(name, "content-encoding") {
                    if !caseEquals(value, "identity") { r.encoded = true }
                } else if caseEquals(name, "retry-after") {
                    r.retryAfter = digits(value)
                }
            }
            let bodyStart = headEnd + 4
            body.removeAll()
            if status < 200 {
                offset = bodyStart
                continue
            }
            if status == 204 || status == 304 {
                r.consumed = bodyStart
                return r
            }
            if chunked {
                guard let end = try dechunk(bytes, from: bodyStart, into: body) else { return nil }
                r.consumed = end
                return r
            }
            if let length {
                guard length <= maxBody else {
                    throw HTTP1Error(message: "body of \(length) bytes, more than \(maxBody)")
                }
                guard bytes.count - bodyStart >= length else { return nil }
                body.append(UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<(bodyStart + length)]))
                r.consumed = bodyStart + length
                return r
            }
            // No framing: the body runs to the end of the connection.
            if bytes.count - bodyStart > maxBody {
                throw HTTP1Error(message: "unframed body longer than \(maxBody) bytes")
            }
            guard atEOF else { return nil }
            body.append(UnsafeRawBufferPointer(rebasing: bytes[bodyStart...]))
            r.consumed = bytes.count
            r.close = true
            return r
        }
    }

    /// RFC 9112 §7.1: chunk-size [ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF. Returns the end offset,
    /// or nil when incomplete.
    static func dechunk(
        _ bytes: UnsafeRawBufferPointer, from start: Int, into body: WireBuffer
    ) throws(HTTP1Error) -> Int? {
        var p = start
        while true {
            guard let e = find(bytes, from: p, "\r\n") else { return nil }
            var size = 0
            var q = p
            var sawDigit = false
            while q < e {
                let b = bytes[q]
                let d: Int
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = Int(b - UInt8(ascii: "a")) + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = Int(b - UInt8(ascii: "A")) + 10
                case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"): d = -1
                default:
                    throw HTTP1Error(
                        message: "chunk size line '\(printable(UnsafeRawBufferPointer(rebasing: bytes[p..<e])))'")
                }
                if d < 0 { break }
                size = size * 16 + d
                sawDigit = true
                guard size <= maxBody, body.count + size <= maxBody else {
                    throw HTTP1Error(message: "chunked body longer than \(maxBody) bytes")
                }
                q += 1
            }
            guard sawDigit else { throw HTTP1Error(message: "empty chunk size") }
            if size == 0 {
                // Trailer section: fields until an empty line.
                var t = e + 2
                while true {
                    guard let te = find(bytes, from: t, "\r\n") else { return nil }
                    if te == t { return te + 2 }
                    t = te + 2
                }
            }
            let dataStart = e + 2
            guard bytes.count >= dataStart + size + 2 else { return nil }
            guard bytes[dataStart + size] == 13, bytes[dataStart + size + 1] == 10 else {
                throw HTTP1Error(message: "chunk of \(size) bytes not followed by CRLF")
            }
            body.append(UnsafeRawBufferPointer(rebasing: bytes[dataStart..<(dataStart + size)]))
            p = dataStart + size + 2
        }
    }

    static func find(_ bytes: UnsafeRawBufferPointer, from: Int, _ needle: StaticString) -> Int? {
        let n = needle.utf8CodeUnitCount
        guard bytes.count - from >= n else { return nil }
        let first = needle.utf8Start[0]
        var i = from
        while i <= bytes.count - n {
            if bytes[i] == first {
                var j = 1
                while j < n && bytes[i + j] == needle.utf8Start[j] { j += 1 }
                if j == n { return i }
            }
            i += 1
        }
        return nil
    }

    static func digits(_ v: UnsafeRawBufferPointer) -> Int? {
        guard !v.isEmpty, v.count <= 15 else { return nil }
        var n = 0
        for b in v {
            guard b >= 48 && b <= 57 else { return nil }
            n = n * 10 + Int(b - 48)
        }
        return n
    }

    static func trim(_ v: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var s = 0, e = v.count
        while s < e && (v[s] == 32 || v[s] == 9) { s += 1 }
        while e > s && (v[e - 1] == 32 || v[e - 1] == 9) { e -= 1 }
        return UnsafeRawBufferPointer(rebasing: v[s..<e])
    }

    static func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }

    static func caseEquals(_ a: UnsafeRawBufferPointer, _ b: StaticString) -> Bool {
        guard a.count == b.utf8CodeUnitCount else { return false }
        for i in 0..<a.count where lower(a[i]) != b.utf8Start[i] { return false }
        return true
    }

    static func caseContains(_ a: UnsafeRawBufferPointer, _ b: StaticString) -> Bool {
        let n = b.utf8CodeUnitCount
        guard a.count >= n else { return false }
        for i in 0...(a.count - n) {
            var j = 0
            while j < n && lower(a[i + j]) == b.utf8Start[j] { j += 1 }
            if j == n { return true }
        }
        return false
    }

    static func printable(_ v: UnsafeRawBufferPointer) -> String {
        String(decoding: v.prefix(80).map { $0 >= 32 && $0 < 127 ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}
