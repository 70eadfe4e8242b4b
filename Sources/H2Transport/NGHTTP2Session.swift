// The one file that owns nghttp2 pointers (STYLE.md). Everything else talks to `H2Session`.
// Callbacks recover their owner with `Unmanaged`, guard every pointer, and never let a Swift error
// cross into C: they return NGHTTP2_ERR_CALLBACK_FAILURE instead.
// nghttp2 API reference: https://nghttp2.org/documentation/apiref.html

import CNGHTTP2

/// An HTTP/2 failure reported by nghttp2, with its library error code and message.
public struct H2Error: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let operation: String
    public var description: String {
        "\(operation): \(String(cString: nghttp2_strerror(code))) (nghttp2 error \(code))"
    }
}

/// Receives the events of one HTTP/2 session. Called on the session's own thread, from inside
/// `H2Session.receive` or `H2Session.flush`.
public protocol H2SessionDelegate: AnyObject {
    /// A header field of a HEADERS frame (response headers or trailers) on `stream`.
    func h2Header(stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
    /// A chunk of DATA on `stream`.
    func h2Data(stream: Int32, _ bytes: UnsafeRawBufferPointer)
    /// `stream` is closed; `errorCode` is 0 (NO_ERROR) or the RST_STREAM / GOAWAY error code.
    func h2StreamClosed(stream: Int32, errorCode: UInt32)
    /// The peer sent GOAWAY: streams above `lastStreamID` were not processed.
    func h2GoAway(lastStreamID: Int32, errorCode: UInt32)
    /// All bytes of the body of `stream` have been handed to the session (its buffer may be reused).
    func h2BodySent(stream: Int32)
    /// Server side: the peer finished sending the request on `stream` (END_STREAM seen).
    func h2RequestComplete(stream: Int32)
}

extension H2SessionDelegate {
    public func h2RequestComplete(stream: Int32) {}
}

/// A request body that the session reads in place. Its address must stay valid until
/// `h2BodySent` (allocate it once per in-flight slot).
public struct H2Body {
    public var base: UnsafeRawPointer?
    public var count: Int
    public var offset: Int
    public var stream: Int32
    /// Trailers to send after the body (gRPC status); the block must outlive the stream.
    public var trailers: Unmanaged<H2HeaderBlock>?
    public init() {
        base = nil
        count = 0
        offset = 0
        stream = 0
        trailers = nil
    }
}

/// Header fields encoded once and sent with every request (nghttp2 copies nothing: NO_COPY flags).
public final class H2HeaderBlock {
    let nva: UnsafeMutablePointer<nghttp2_nv>
    let count: Int
    let storage: UnsafeMutableRawPointer

    /// `fields` are (name, value); names must be lowercase (HTTP/2), pseudo-headers first.
    public init(_ fields: [(String, String)]) {
        count = fields.count
        let bytes = fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 }
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 8)
        nva = UnsafeMutablePointer<nghttp2_nv>.allocate(capacity: max(count, 1))
        var at = 0
        for (i, (name, value)) in fields.enumerated() {
            let n = H2HeaderBlock.copy(name, storage + at)
            let namePtr = (storage + at).assumingMemoryBound(to: UInt8.self)
            at += n + 1
            let v = H2HeaderBlock.copy(value, storage + at)
            let valuePtr = (storage + at).assumingMemoryBound(to: UInt8.self)
            at += v + 1
            nva[i] = nghttp2_nv(
                name: namePtr, value: valuePtr, namelen: n, valuelen: v,
                flags: UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue))
        }
    }

    private static func copy(_ s: String, _ to: UnsafeMutableRawPointer) -> Int {
        var n = 0
        for b in s.utf8 {
            to.storeBytes(of: b, toByteOffset: n, as: UInt8.self)
            n += 1
        }
        to.storeBytes(of: 0, toByteOffset: n, as: UInt8.self)
        return n
    }

    deinit {
        nva.deallocate()
        storage.deallocate()
    }
}

/// Settings this side announces.
public struct H2Settings: Sendable {
    /// Streams the peer may open towards us (servers) / we accept (clients: pushes are disabled anyway).
    public var maxConcurrentStreams: UInt32 = 1024
    /// Our receive window per stream; large so that responses (or request bodies, on a server) never
    /// wait for WINDOW_UPDATE on loopback.
    public var initialWindowSize: UInt32 = 16 * 1024 * 1024
    /// Our connection-level receive window.
    public var connectionWindowSize: Int32 = 64 * 1024 * 1024
    public init() {}
}

/// One HTTP/2 session (client or server) driven by memory buffers: bytes read from the socket go to
/// `receive`, bytes to write come out of `flush`.
public final class H2Session {
    public enum Role: Sendable { case client, server }

    let session: OpaquePointer
    public unowned let delegate: H2SessionDelegate
    public let role: Role

    public init(role: Role, delegate: H2SessionDelegate, settings: H2Settings = H2Settings()) throws(H2Error) {
        self.role = role
        self.delegate = delegate
        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let cb = callbacks else {
            throw H2Error(code: NGHTTP2_ERR_NOMEM.rawValue, operation: "nghttp2_session_callbacks_new")
        }
        defer { nghttp2_session_callbacks_del(cb) }
        nghttp2_session_callbacks_set_on_header_callback(cb, onHeader)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, onFrameRecv)

        var options: OpaquePointer?
        nghttp2_option_new(&options)
        defer { nghttp2_option_del(options) }
        // Until the peer's SETTINGS arrive, assume it accepts 100 concurrent streams (RFC 9113 recommends
        // at least 100); nghttp2's default would be unlimited.
        nghttp2_option_set_peer_max_concurrent_streams(options, 100)

        var s: OpaquePointer?
        // No callback runs during creation; the user data (an unretained self: self owns the session
        // and outlives it) is set right after.
        let rc: Int32 =
            role == .client
            ? nghttp2_session_client_new2(&s, cb, nil, options)
            : nghttp2_session_server_new2(&s, cb, nil, options)
        guard rc == 0, let session = s else { throw H2Error(code: rc, operation: "nghttp2_session_new") }
        self.session = session
        nghttp2_session_set_user_data(session, Unmanaged.passUnretained(self).toOpaque())

        var iv = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: settings.maxConcurrentStreams),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: settings.initialWindowSize),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
        ]
        let src = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &iv, role == .client ? 3 : 2)
        guard src == 0 else { throw H2Error(code: src, operation: "nghttp2_submit_settings") }
        let wrc = nghttp2_session_set_local_window_size(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, settings.connectionWindowSize)
        guard wrc == 0 else { throw H2Error(code: wrc, operation: "nghttp2_session_set_local_window_size") }
    }

    deinit { nghttp2_session_del(session) }

    /// Feeds bytes read from the socket. Events are delivered to the delegate before it returns.
    public func receive(_ bytes: UnsafeRawBufferPointer) throws(H2Error) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let n = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if n < 0 { throw H2Error(code: Int32(n), operation: "receiving HTTP/2 frames") }
    }

    /// Produces pending output, handing each chunk to `write`, which returns how many bytes it took.
    /// When `write` takes fewer bytes than offered, the rest is returned so the caller can keep it
    /// (nghttp2's buffer is only valid until the next call) and wait for the socket to drain.
    public func flush(
        _ write: (UnsafeRawBufferPointer) -> Int, until full: () -> Bool = { false }
    ) throws(H2Error) -> UnsafeRawBufferPointer? {
        while !full() {
            var data: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &data)
            if n < 0 { throw H2Error(code: Int32(n), operation: "producing HTTP/2 frames") }
            if n == 0 { return nil }
            guard let data else { return nil }
            let chunk = UnsafeRawBufferPointer(start: data, count: n)
            let written = write(chunk)
            if written < n { return UnsafeRawBufferPointer(rebasing: chunk[written...]) }
        }
        return nil
    }

    /// True while the session has frames to send or expects to read (false after GOAWAY exchange).
    public var isAlive: Bool { nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0 }
    /// Frames received so far (every type): tells a reader whether frames followed a stream's close.
    public internal(set) var framesReceived = 0
    /// True when frames are waiting to be produced by `flush`.
    public var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    /// Streams the peer allows us to open concurrently (its SETTINGS_MAX_CONCURRENT_STREAMS).
    public var peerMaxConcurrentStreams: Int {
        Int(nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS))
    }

    /// Opens a request stream with `headers` and `body` (read in place). Returns the stream id.
    public func submitRequest(headers: H2HeaderBlock, body: UnsafeMutablePointer<H2Body>) throws(H2Error) -> Int32 {
        var provider = nghttp2_data_provider(
            source: nghttp2_data_source(ptr: UnsafeMutableRawPointer(body)), read_callback: readBody)
        let id = nghttp2_submit_request(session, nil, headers.nva, headers.count, &provider, nil)
        if id < 0 { throw H2Error(code: id, operation: "submitting a request") }
        body.pointee.stream = id
        return id
    }

    /// Server side: answers `stream` with `headers`, then `body` (read in place), then the body's
    /// trailers when it has some (gRPC sends its status in trailers).
    public func submitResponse(
        stream: Int32, headers: H2HeaderBlock, body: UnsafeMutablePointer<H2Body>
    ) throws(H2Error) {
        body.pointee.stream = stream
        var provider = nghttp2_data_provider(
            source: nghttp2_data_source(ptr: UnsafeMutableRawPointer(body)), read_callback: readBody)
        let rc = nghttp2_submit_response(session, stream, headers.nva, headers.count, &provider)
        if rc != 0 { throw H2Error(code: rc, operation: "submitting a response") }
    }

    /// Server side: answers `stream` with headers only (a trailers-only gRPC response, END_STREAM set).
    public func submitHeadersOnly(stream: Int32, headers: H2HeaderBlock) throws(H2Error) {
        let rc = nghttp2_submit_response(session, stream, headers.nva, headers.count, nil)
        if rc != 0 { throw H2Error(code: rc, operation: "submitting a response") }
    }

    static func from(_ user: UnsafeMutableRawPointer?) -> H2Session? {
        guard let user else { return nil }
        return Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
    }
}

private let callbackFailure = Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)

private func onHeader(
    _ session: OpaquePointer?, _ frame: UnsafePointer<nghttp2_frame>?, _ name: UnsafePointer<UInt8>?, _ namelen: Int,
    _ value: UnsafePointer<UInt8>?, _ valuelen: Int, _ flags: UInt8, _ user: UnsafeMutableRawPointer?
) -> Int32 {
    guard let s = H2Session.from(user), let frame, let name, let value else { return callbackFailure }
    s.delegate.h2Header(
        stream: frame.pointee.hd.stream_id, name: UnsafeRawBufferPointer(start: name, count: namelen),
        value: UnsafeRawBufferPointer(start: value, count: valuelen))
    return 0
}

private func onDataChunk(
    _ session: OpaquePointer?, _ flags: UInt8, _ stream: Int32, _ data: UnsafePointer<UInt8>?, _ len: Int,
    _ user: UnsafeMutableRawPointer?
) -> Int32 {
    guard let s = H2Session.from(user) else { return callbackFailure }
    s.delegate.h2Data(stream: stream, UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : len))
    return 0
}

private func onStreamClose(
    _ session: OpaquePointer?, _ stream: Int32, _ errorCode: UInt32, _ user: UnsafeMutableRawPointer?
) -> Int32 {
    guard let s = H2Session.from(user) else { return callbackFailure }
    s.delegate.h2StreamClosed(stream: stream, errorCode: errorCode)
    return 0
}

private func onFrameRecv(
    _ session: OpaquePointer?, _ frame: UnsafePointer<nghttp2_frame>?, _ user: UnsafeMutableRawPointer?
) -> Int32 {
    guard let s = H2Session.from(user), let frame else { return callbackFailure }
    s.framesReceived &+= 1
    let type = frame.pointee.hd.type
    if type == UInt8(NGHTTP2_GOAWAY.rawValue) {
        s.delegate.h2GoAway(
            lastStreamID: frame.pointee.goaway.last_stream_id, errorCode: frame.pointee.goaway.error_code)
    } else if s.role == .server, type == UInt8(NGHTTP2_DATA.rawValue) || type == UInt8(NGHTTP2_HEADERS.rawValue),
        frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
    {
        s.delegate.h2RequestComplete(stream: frame.pointee.hd.stream_id)
    }
    return 0
}

private func readBody(
    _ session: OpaquePointer?, _ stream: Int32, _ buf: UnsafeMutablePointer<UInt8>?, _ length: Int,
    _ flags: UnsafeMutablePointer<UInt32>?, _ source: UnsafeMutablePointer<nghttp2_data_source>?,
    _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let s = H2Session.from(user), let buf, let flags, let bodyRaw = source?.pointee.ptr else {
        return Int(callbackFailure)
    }
    let body = bodyRaw.assumingMemoryBound(to: H2Body.self)
    let left = body.pointee.count - body.pointee.offset
    let n = min(left, length)
    if n > 0, let base = body.pointee.base {
        UnsafeMutableRawPointer(buf).copyMemory(from: base + body.pointee.offset, byteCount: n)
    }
    body.pointee.offset += n
    if body.pointee.offset == body.pointee.count {
        flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
        if let trailers = body.pointee.trailers?.takeUnretainedValue() {
            // gRPC: the status goes in trailers, so the DATA frame must not end the stream.
            flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
            let rc = nghttp2_submit_trailer(session, stream, trailers.nva, trailers.count)
            if rc != 0 { return Int(callbackFailure) }
        }
        s.delegate.h2BodySent(stream: stream)
    }
    return n
}
