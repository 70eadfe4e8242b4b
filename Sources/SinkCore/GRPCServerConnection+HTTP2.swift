// The HTTP/2 session glue of a sink connection: request headers and data per stream (gRPC framing
// checked, the message kept only when the policy needs it), the policy's reply, errors as gRPC
// statuses, stream bookkeeping; and the signal of an export path.

import PipeperfBase
import H2Transport
import OTLPWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension GRPCServerConnection {

    func h2Header(stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard name.count == 5, name[0] == UInt8(ascii: ":"), name[1] == UInt8(ascii: "p") else {
            if streams[stream] == nil { streams[stream] = StreamState() }
            return
        }
        var state = streams[stream] ?? StreamState()
        state.signal = signalFor(grpcPath: value)
        state.known = state.signal != nil
        if state.signal != nil && worker.policy.needsMessage {
            let b = freeBuffers.popLast() ?? WireBuffer(capacity: 64 * 1024)
            b.removeAll()
            state.message = b
        }
        streams[stream] = state
    }

    func h2Data(stream: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard var s = streams[stream] else { return }
        // Keep the first five bytes: the gRPC message header.
        var i = 0
        while s.bytes + i < 5 && i < bytes.count {
            withUnsafeMutableBytes(of: &s.header) { $0[s.bytes + i] = bytes[i] }
            i += 1
        }
        // Collect the message while it stays within the limit (an oversized one is refused below).
        if let m = s.message, i < bytes.count, m.count + bytes.count - i <= worker.options.maxMessageBytes {
            m.append(UnsafeRawBufferPointer(rebasing: bytes[i...]))
        }
        s.bytes += bytes.count
        streams[stream] = s
    }

    func h2RequestComplete(stream: Int32) {
        let s = streams.removeValue(forKey: stream) ?? StreamState()
        defer { if let m = s.message { responseBuffers[stream] = m } }
        guard let signal = s.signal else {
            worker.counters.unknownPath.wrappingAdd(1, ordering: .relaxed)
            respondError(
                stream, GRPCStatusCode.unimplemented.rawValue,
                "unknown method: pipeperf \(worker.options.name) serves the OTLP export methods only")
            return
        }
        let c = worker.counters.forSignal(signal)
        c.requests.wrappingAdd(1, ordering: .relaxed)
        c.bytes.wrappingAdd(s.bytes, ordering: .relaxed)
        // gRPC framing (grpc doc/PROTOCOL-HTTP2.md): one message, flag 0 or 1, length = the rest.
        let length = Int(s.header.1) << 24 | Int(s.header.2) << 16 | Int(s.header.3) << 8 | Int(s.header.4)
        if s.bytes >= 5 && s.header.0 <= 1 && length > worker.options.maxMessageBytes {
            c.malformed.wrappingAdd(1, ordering: .relaxed)
            respondError(
                stream, GRPCStatusCode.resourceExhausted.rawValue,
                "message of \(length) bytes is over the limit of \(worker.options.maxMessageBytes)")
            return
        }
        guard s.bytes >= 5, s.header.0 <= 1, length == s.bytes - 5 else {
            c.malformed.wrappingAdd(1, ordering: .relaxed)
            respondError(stream, GRPCStatusCode.invalidArgument.rawValue, "malformed gRPC message framing")
            return
        }
        let reply: ExportReply
        if let m = s.message {
            reply = m.withUnsafeBytes {
                worker.policy.handle(
                    ExportRequestInfo(signal: signal, wireBytes: s.bytes, message: $0, gzip: s.header.0 == 1))
            }
        } else {
            reply = worker.policy.handle(
                ExportRequestInfo(signal: signal, wireBytes: s.bytes, message: nil, gzip: s.header.0 == 1))
        }
        if reply.delayNanos > 0 {
            worker.hold(
                DelayedReply(
                    due: SystemClock.monotonicNanos() &+ reply.delayNanos, connection: self, stream: stream,
                    reply: reply))
            return
        }
        send(reply, stream: stream)
    }

    /// Sends `reply` on `stream`.
    func send(_ reply: ExportReply, stream: Int32) {
        switch reply.kind {
        case .error(let code, _):
            respondError(
                stream, code, reply.message ?? "injected by pipeperf \(worker.options.name)",
                retryAfterSeconds: reply.retryAfterSeconds)
        case .ok(let rejected):
            let body = freeBodies.popLast() ?? UnsafeMutablePointer<H2Body>.allocate(capacity: 1)
            body.initialize(to: H2Body())
            if rejected > 0 {
                // An OTLP partial success: a gRPC-framed Export*ServiceResponse.
                let out = responseBuffers[stream] ?? freeBuffers.popLast() ?? WireBuffer(capacity: 128)
                responseBuffers[stream] = out
                out.resize(to: 5)
                encodePartialSuccess(
                    rejected: rejected, message: reply.message ?? "rejected by pipeperf \(worker.options.name)",
                    into: out)
                out.withUnsafeMutableBytes {
                    GRPCFrame.storeHeader($0.baseAddress!, compressed: false, length: $0.count - 5)
                }
                body.pointee.base = out.withUnsafeBytes { UnsafeRawPointer($0.baseAddress) }
                body.pointee.count = out.count
            } else {
                body.pointee.base = UnsafeRawPointer(worker.emptyResponse)
                body.pointee.count = 5
            }
            body.pointee.trailers = Unmanaged.passUnretained(worker.okTrailers)
            bodies[stream] = body
            do { try session.submitResponse(stream: stream, headers: worker.okHeaders, body: body) } catch {
                bodies[stream] = nil
                freeBodies.append(body)
            }
        }
    }

    func respondError(_ stream: Int32, _ code: Int, _ message: String, retryAfterSeconds: Int? = nil) {
        try? session.submitHeadersOnly(
            stream: stream, headers: worker.errorHeaders(code, message, retryAfterSeconds: retryAfterSeconds))
    }

    func h2BodySent(stream: Int32) {}

    func h2StreamClosed(stream: Int32, errorCode: UInt32) {
        if let s = streams.removeValue(forKey: stream), let m = s.message { freeBuffers.append(m) }
        if let b = bodies.removeValue(forKey: stream) { freeBodies.append(b) }
        if let m = responseBuffers.removeValue(forKey: stream) { freeBuffers.append(m) }
    }

    func h2GoAway(lastStreamID: Int32, errorCode: UInt32) {}
}

/// The signal of an OTLP gRPC export path, or nil.
public func signalFor(grpcPath path: UnsafeRawBufferPointer) -> Signal? {
    for s in Signal.allCases {
        var p = s.grpcPath
        let match = p.withUTF8 { u in
            guard u.count == path.count, let a = u.baseAddress, let b = path.baseAddress else { return false }
            return memcmp(a, b, u.count) == 0
        }
        if match { return s }
    }
    return nil
}
