// The outgoing side of an HTTP/2 connection, shared by the client and server connections: frames
// nghttp2 produces are gathered into one buffer and written with as few system calls as possible.

import OTLPWire

/// Pending output of one connection.
public final class H2Output {
    let pending = WireBuffer(capacity: 64 * 1024)
    var offset = 0
    /// Gather at most this much before writing.
    let chunk: Int

    public init(chunk: Int = 256 * 1024) { self.chunk = chunk }

    /// Writes what is pending, then what `session` has to send, through `write` (which returns the
    /// bytes the socket took, 0 when full). Returns true when everything went out, false when the
    /// caller must wait for the socket to become writable and call again.
    public func flush(_ session: H2Session, write: (UnsafeRawBufferPointer) throws -> Int) throws -> Bool {
        while true {
            if offset < pending.count {
                let n = try pending.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws -> Int in
                    try write(UnsafeRawBufferPointer(rebasing: b[offset...]))
                }
                offset += n
                if offset < pending.count { return false }
            }
            pending.removeAll()
            offset = 0
            _ = try session.flush(
                { c in
                    pending.append(c)
                    return c.count
                }, until: { pending.count >= chunk })
            if pending.count == 0 { return true }
        }
    }

    /// Nothing is waiting for the socket.
    public var isEmpty: Bool { offset >= pending.count }

    /// Drops whatever was pending (the connection is gone).
    public func reset() {
        pending.removeAll()
        offset = 0
    }
}
