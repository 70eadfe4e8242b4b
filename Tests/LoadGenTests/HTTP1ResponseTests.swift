import OTLPWire
import Testing

@testable import LoadGen

@Suite("HTTP/1.1 response parsing (pipelined OTLP/HTTP replies)")
struct HTTP1ResponseTests {
    func parse(_ text: String, atEOF: Bool = false) throws(HTTP1Error) -> (HTTP1Response?, String) {
        let body = WireBuffer()
        let bytes = WireBuffer()
        Array(text.utf8).withUnsafeBytes { bytes.append($0) }
        let r = try bytes.withUnsafeBytes { (u: UnsafeRawBufferPointer) throws(HTTP1Error) -> HTTP1Response? in
            try HTTP1ResponseParser.parse(u, atEOF: atEOF, body: body)
        }
        return (r, String(decoding: body.bytes, as: UTF8.self))
    }

    static let responses: [(String, Int, String, Bool)] = [
        ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 200, "abc", false),
        ("HTTP/1.1 200 OK\r\ncontent-length:  5 \r\nConnection: close\r\n\r\nhello", 200, "hello", true),
        (
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n",
            200, "abc0123456789", false
        ),
        (
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n",
            503, "", false
        ),
        ("HTTP/1.1 204 No Content\r\n\r\n", 204, "", false),
        ("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", true),
    ]

    @Test("complete responses parse with their body and framing; every prefix asks for more")
    func responses() throws {
        for (text, status, body, close) in HTTP1ResponseTests.responses {
            let (r, b) = try parse(text + "HTTP/1.1 200 OK\r\n")
            let response = try #require(r, "\(text)")
            #expect(response.status == status)
            #expect(b == body)
            #expect(response.close == close)
            #expect(response.consumed == text.utf8.count, "the next pipelined response is left alone")
            for cut in 0..<text.utf8.count {
                let prefix = String(decoding: Array(text.utf8)[..<cut], as: UTF8.self)
                #expect(try parse(prefix).0 == nil, "prefix of \(cut) bytes")
            }
        }
    }

    @Test("a body without framing ends with the connection")
    func unframed() throws {
        #expect(try parse("HTTP/1.1 200 OK\r\n\r\nabc").0 == nil)
        let (r, b) = try parse("HTTP/1.1 200 OK\r\n\r\nabc", atEOF: true)
        #expect(r?.close == true)
        #expect(b == "abc")
    }

    @Test("malformed responses are errors that say what was wrong")
    func malformed() {
        let cases = [
            ("HTTP/2 200\r\n\r\n", "status line"),
            ("HTTP/1.1 2x0 OK\r\n\r\n", "status line"),
            ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "Content-Length"),
            ("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "header line"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "Transfer-Encoding"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n", "not followed by CRLF"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n", "more than"),
        ]
        for (text, message) in cases {
            #expect(throws: HTTP1Error.self, "\(text)") { _ = try parse(text) }
            do { _ = try parse(text) } catch { #expect(error.description.contains(message), "\(text): \(error)") }
        }
    }
}
