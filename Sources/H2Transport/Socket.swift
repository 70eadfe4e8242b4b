// TCP endpoints and non-blocking sockets, without Foundation.

import CLinux
import PipeperfBase

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A resolved socket address.
public struct SocketAddress: @unchecked Sendable {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    public var family: Int32 { Int32(storage.ss_family) }

    /// Resolves `endpoint` (numeric addresses and names through getaddrinfo), first result.
    public static func resolve(_ endpoint: Endpoint) -> Result<SocketAddress, EndpointError> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &result)
        guard rc == 0, let first = result, let addr = first.pointee.ai_addr else {
            let reason = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            return .failure(
                EndpointError(text: endpoint.description, reason: "cannot resolve '\(endpoint.host)': \(reason)"))
        }
        defer { freeaddrinfo(result) }
        var out = SocketAddress()
        out.length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &out.storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: addr, count: Int(first.pointee.ai_addrlen)))
        }
        return .success(out)
    }
}

/// Non-blocking TCP socket calls.
public enum TCPSocket {
    /// Starts a non-blocking connect. Returns the descriptor; completion shows as writability, after
    /// which `connectResult` tells whether it worked.
    public static func connect(_ address: SocketAddress) throws(SystemError) -> Int32 {
        let fd = socket(
            address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0)
        guard fd >= 0 else { throw SystemError.errno("socket") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = address
        let rc = withUnsafePointer(to: &addr.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, addr.length) }
        }
        if rc != 0 && errno != EINPROGRESS {
            let e = SystemError.errno("connect")
            close(fd)
            throw e
        }
        return fd
    }

    /// The outcome of a non-blocking connect (0 on success, else the errno).
    public static func connectResult(_ fd: Int32) -> Int32 {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 { return errno }
        return err
    }

    /// Reads into `buffer`; returns bytes read, 0 at end of stream, -1 when it would block; throws on errors.
    @inline(__always)
    public static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return -1 }
            throw SystemError.errno("read")
        }
    }

    /// Turns on the kernel's receive timestamps (SO_TIMESTAMPNS) for `readStamped`.
    public static func enableReceiveTimestamps(_ fd: Int32) throws(SystemError) {
        guard clinux_enable_rx_timestamps(fd) == 0 else { throw SystemError.errno("setsockopt(SO_TIMESTAMPNS)") }
    }

    /// Reads like `read`, and gives the kernel's receive time (CLOCK_REALTIME nanoseconds) of the last
    /// packet the read consumed in `stamp`, or 0 when it carried none.
    @inline(__always)
    public static func readStamped(
        _ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, stamp: inout Int64
    ) throws(SystemError) -> Int {
        let n = clinux_recv_timestamped(fd, buffer.baseAddress, buffer.count, &stamp)
        if n >= 0 { return n }
        if errno == EAGAIN || errno == EWOULDBLOCK { return -1 }
        throw SystemError.errno("recvmsg")
    }

    /// Writes what it can; returns bytes written (0 when it would block); throws on errors.
    @inline(__always)
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        while true {
            let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
            throw SystemError.errno("write")
        }
    }
}

/// Connected non-blocking UDP sockets (syslog over UDP, RFC 5426).
public enum UDPSocket {
    /// A UDP socket connected to `address` (so ICMP errors come back as ECONNREFUSED on a later send).
    public static func connect(_ address: SocketAddress) throws(SystemError) -> Int32 {
        let fd = socket(
            address.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0
        )
        guard fd >= 0 else { throw SystemError.errno("socket") }
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var addr = address
        let rc = withUnsafePointer(to: &addr.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, addr.length) }
        }
        if rc != 0 {
            let e = SystemError.errno("connect")
            close(fd)
            throw e
        }
        return fd
    }

    /// A non-blocking UDP socket bound to `address` (SO_REUSEPORT with `reusePort`, so several threads
    /// can each bind one and the kernel spreads datagrams over them), with a large receive buffer.
    public static func bind(_ address: SocketAddress, reusePort: Bool) throws(SystemError) -> Int32 {
        let fd = socket(
            address.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0
        )
        guard fd >= 0 else { throw SystemError.errno("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        // 8 MiB, so a burst of datagrams waits in the kernel while the receiving thread is busy. SO_RCVBUF
        // is capped at net.core.rmem_max (about 208 KiB by default); SO_RCVBUFFORCE is not, and works
        // with CAP_NET_ADMIN (root, or a container given it) — else the capped size is what there is.
        var size: Int32 = 8 << 20
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = address
        let rc = withUnsafePointer(to: &addr.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, addr.length) }
        }
        guard rc == 0 else {
            let e = SystemError.errno("bind")
            close(fd)
            throw e
        }
        return fd
    }

    /// Sends `count` datagrams of `size` bytes, datagram i at `base + offsets[i]`, batched with sendmmsg.
    /// Returns how many went out (fewer when the socket buffer is full: wait for writability, then send
    /// the rest). Throws on errors such as ECONNREFUSED (an earlier datagram met a closed port).
    public static func send(
        _ fd: Int32, base: UnsafeRawPointer, offsets: UnsafePointer<Int32>, count: Int, size: Int
    ) throws(SystemError) -> Int {
        let n = clinux_send_datagrams(fd, base.assumingMemoryBound(to: UInt8.self), offsets, Int32(count), Int32(size))
        if n >= 0 { return Int(n) }
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS { return 0 }
        throw SystemError.errno("sendmmsg")
    }
}

/// Listening sockets.
public enum TCPListener {
    /// A non-blocking listening socket on `address`; with `reusePort`, several threads can each bind one
    /// to the same port and the kernel spreads connections over them (SO_REUSEPORT).
    public static func listen(
        _ address: SocketAddress, reusePort: Bool, backlog: Int32 = 1024
    ) throws(SystemError) -> Int32 {
        let fd = socket(
            address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0)
        guard fd >= 0 else { throw SystemError.errno("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var addr = address
        let rc = withUnsafePointer(to: &addr.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, addr.length) }
        }
        guard rc == 0 else {
            let e = SystemError.errno("bind")
            close(fd)
            throw e
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = SystemError.errno("listen")
            close(fd)
            throw e
        }
        return fd
    }

    /// The port a socket is bound to.
    public static func boundPort(_ fd: Int32) -> UInt16 {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        if Int32(storage.ss_family) == AF_INET6 {
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
        }
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    /// Accepts one connection (non-blocking, TCP_NODELAY); nil when none is waiting.
    public static func accept(_ fd: Int32) throws(SystemError) -> Int32? {
        while true {
            let c = clinux_accept4(fd, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if c >= 0 {
                var one: Int32 = 1
                setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return c
            }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED { return nil }
            throw SystemError.errno("accept")
        }
    }
}
