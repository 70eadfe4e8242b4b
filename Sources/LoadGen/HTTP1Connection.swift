// One OTLP/HTTP connection (HTTP/1.1 with keep-alive, optionally over TLS): export requests are
// pipelined up to --max-in-flight and answered in order (RFC 9112 §9.3.2). OTLP/HTTP
// (opentelemetry-proto docs/specification.md, "OTLP/HTTP"): POST of the binary protobuf
// Export*ServiceRequest to /v1/logs, /v1/traces or /v1/metrics with Content-Type
// application/x-protobuf; 200 carries an Export*ServiceResponse (partial success), other statuses fail
// the batch (429/502/503/504 are the retryable ones, with an optional Retry-After).

import PipeperfBase
import H2Transport
import OTLPWire

final class HTTP1Connection: PipelinedConnection {
    /// Bytes received and not yet consumed as responses.
    let input = WireBuffer(capacity: 16 * 1024)
    var inputStart = 0
    /// The body of the latest response (reused).
    let responseBody = WireBuffer(capacity: 256)

    override func writePrefix(_ prefix: WireBuffer, bodyCount: Int) {
        // The request head is precomputed up to the Content-Length value; only the digits vary.
        worker.httpRequestHead.withUnsafeBytes { prefix.assign($0) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { d in
            var v = bodyCount
            var i = 23
            repeat {
                d[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v % 10)
                v /= 10
                i -= 1
            } while v > 0
            prefix.append(UnsafeRawBufferPointer(rebasing: d[(i + 1)...]))
        }
        withUnsafeBytes(of: (UInt8(13), UInt8(10), UInt8(13), UInt8(10))) { prefix.append($0) }
    }

    override func requestWritten(_ s: Int, now: UInt64) {
        // The body is on the wire: its template can be patched for another batch.
        worker.releaseTemplate(slots[s].template)
        slots[s].template = -1
    }

    override func resetProtocol() {
        super.resetProtocol()
        input.removeAll()
        inputStart = 0
    }

    override func received(_ bytes: UnsafeRawBufferPointer, now: UInt64) throws {
        if inputStart > 0 && inputStart == input.count {
            input.removeAll()
            inputStart = 0
        }
        input.append(bytes)
        try consumeResponses(atEOF: false, now: now)
    }

    override func peerClosed(now: UInt64) {
        // A response without length framing ends with the connection.
        do { try consumeResponses(atEOF: true, now: now) } catch {
            fail("\(error)", now: now)
            return
        }
        if fd >= 0 { fail("connection closed by the server", now: now, quiet: inFlight == 0) }
    }

    func consumeResponses(atEOF: Bool, now: UInt64) throws {
        while fd >= 0, inputStart < input.count {
            let parsed = try input.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(HTTP1Error) -> HTTP1Response? in
                try HTTP1ResponseParser.parse(
                    UnsafeRawBufferPointer(rebasing: b[inputStart...]), atEOF: atEOF, body: responseBody)
            }
            guard let r = parsed else { return }
            inputStart += r.consumed
            guard inFlight > 0 else { throw HTTP1Error(message: "a response to no request (status \(r.status))") }
            let early = written == 0  // answered before its body was all written (e.g. 413): the stream is unusable
            let outcome: Worker.Outcome
            if (200..<300).contains(r.status) {
                outcome = .ok(
                    rejected: r.encoded ? 0 : responseBody.withUnsafeBytes { partialSuccessRejected(message: $0) })
            } else {
                outcome = .httpError(r.status)
            }
            finishHead(now: now, outcome: outcome)
            if r.close || early {
                // Requests pipelined behind this one were not processed (RFC 9112 §9.6).
                fail("server closed the connection after status \(r.status)", now: now, quiet: true)
                return
            }
        }
        if inputStart == input.count {
            input.removeAll()
            inputStart = 0
        }
    }
}
