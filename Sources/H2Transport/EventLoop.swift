// A per-thread epoll loop. One thread owns a loop and everything registered on it: no locks.

import CLinux

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Something with a file descriptor that the loop watches.
public protocol EventHandler: AnyObject {
    /// The descriptor is readable (or hung up / in error: the read will tell).
    func readable()
    /// The descriptor is writable (or a non-blocking connect finished).
    func writable()
}

/// An epoll instance and the handlers registered on it.
public final class EventLoop {
    let epfd: Int32
    var handlers: [EventHandler?] = []
    var free: [Int] = []
    var events: UnsafeMutablePointer<epoll_event>
    let capacity = 256

    public init() throws(SystemError) {
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epfd >= 0 else { throw SystemError.errno("epoll_create1") }
        events = .allocate(capacity: capacity)
    }

    deinit {
        close(epfd)
        events.deallocate()
    }

    /// Interest in reading, writing or both.
    public struct Interest: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let read = Interest(rawValue: UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue))
        public static let write = Interest(rawValue: UInt32(EPOLLOUT.rawValue))
    }

    /// Watches `fd` for `interest`; returns the token for `modify` and `remove`.
    public func add(_ fd: Int32, _ interest: Interest, _ handler: EventHandler) throws(SystemError) -> Int {
        let token: Int
        if let t = free.popLast() {
            token = t
            handlers[t] = handler
        } else {
            token = handlers.count
            handlers.append(handler)
        }
        var ev = clinux_epoll_event(interest.rawValue, UInt64(token))
        guard epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 else {
            handlers[token] = nil
            free.append(token)
            throw SystemError.errno("epoll_ctl(ADD)")
        }
        return token
    }

    /// Changes what `fd` is watched for.
    public func modify(_ fd: Int32, token: Int, _ interest: Interest) {
        var ev = clinux_epoll_event(interest.rawValue, UInt64(token))
        _ = epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev)
    }

    /// Stops watching `fd` (call before closing it).
    public func remove(_ fd: Int32, token: Int) {
        var ev = epoll_event()
        _ = epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev)
        if token < handlers.count {
            handlers[token] = nil
            free.append(token)
        }
    }

    /// Waits up to `timeoutMillis` (-1: forever, 0: poll) and dispatches ready events.
    /// Returns the number of events handled.
    @discardableResult
    public func poll(timeoutMillis: Int32) -> Int {
        poll(timeoutNanos: timeoutMillis < 0 ? -1 : Int64(timeoutMillis) * 1_000_000)
    }

    /// Waits up to `timeoutNanos` (-1: forever, 0: poll), with nanosecond resolution where the kernel
    /// has epoll_pwait2, and dispatches ready events. Returns the number of events handled.
    @discardableResult
    public func poll(timeoutNanos: Int64) -> Int {
        let n = clinux_epoll_wait_ns(epfd, events, Int32(capacity), timeoutNanos)
        if n <= 0 { return 0 }
        for i in 0..<Int(n) {
            let bits = clinux_epoll_events(events + i)
            let token = Int(clinux_epoll_token(events + i))
            guard token < handlers.count, let h = handlers[token] else { continue }
            if bits & UInt32(EPOLLOUT.rawValue) != 0 { h.writable() }
            // The handler may have been removed by writable(); look it up again.
            guard token < handlers.count, let h2 = handlers[token], h2 === h else { continue }
            let readBits =
                UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) | UInt32(EPOLLHUP.rawValue)
                | UInt32(EPOLLERR.rawValue)
            if bits & readBits != 0 { h.readable() }
        }
        return Int(n)
    }
}

/// A failed system call: the call and errno's text.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public init(call: String, code: Int32) {
        self.call = call
        self.code = code
    }
    public var description: String { "\(call): \(String(cString: strerror(code)))" }
    public static func errno(_ call: String) -> SystemError { SystemError(call: call, code: Glibc.errno) }
}
