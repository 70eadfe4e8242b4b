// Threads, console output and termination signals without Foundation (the component binaries stay off it).

import Synchronization

#if canImport(Glibc)
import Glibc
#endif

final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// A failure to start a thread.
public struct ThreadError: Error, CustomStringConvertible {
    public let description: String
}

/// Starts a POSIX thread running `body`.
public func spawnThread(_ body: @escaping @Sendable () -> Void) throws(ThreadError) -> pthread_t {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var t = pthread_t()
    let rc = pthread_create(
        &t, nil,
        { arg in
            guard let arg else { return nil }
            Unmanaged<ThreadBody>.fromOpaque(arg).takeRetainedValue().body()
            return nil
        }, box)
    guard rc == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(box).release()
        throw ThreadError(description: "cannot start a thread: \(String(cString: strerror(rc)))")
    }
    return t
}

/// Threads that run until stopped (the servers' per-thread event loops): thread `i` runs
/// `body(i, stopping)` and should return once `stopping()` is true; `stop()` sets it and joins them.
public final class ThreadGroup: Sendable {
    let stopFlag = Atomic<Bool>(false)
    let threads = Mutex<[pthread_t]>([])

    public init() {}

    public func start(
        _ count: Int, _ body: @escaping @Sendable (_ index: Int, _ stopping: @escaping @Sendable () -> Bool) -> Void
    ) throws(ThreadError) {
        for i in 0..<count {
            let t = try spawnThread { [self] in body(i, { self.stopFlag.load(ordering: .relaxed) }) }
            threads.withLock { $0.append(t) }
        }
    }

    public func stop() {
        stopFlag.store(true, ordering: .relaxed)
        for t in threads.withLock({ $0 }) { pthread_join(t, nil) }
    }
}

/// Writes a line to standard output at once (no stdio buffering: supervisors read it live).
public func printLine(_ s: String) {
    var line = s + "\n"
    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
}

/// Writes a line to standard error.
public func printError(_ s: String) {
    var line = s + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// A wake-up one thread sleeps on, with a timeout, and others (or a signal handler) ring: a non-blocking
/// pipe, so a sleeper costs nothing until it is rung or its time is up. Sleeping on a bell rather than
/// polling a flag every few milliseconds is what keeps the harness cheap at low rates: on a virtual
/// machine every wake-up of an idle CPU costs tens of microseconds (docs/benchmarks.md).
public final class Doorbell: Sendable {
    let readFD: Int32
    let writeFD: Int32

    public init() throws(ThreadError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw ThreadError(description: "cannot make a wake-up pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// Wakes the sleeper (or the next wait returns at once). Async-signal-safe: one write(2).
    @inline(__always)
    public func ring() {
        var one: UInt8 = 1
        _ = write(writeFD, &one, 1)
    }

    /// Sleeps until rung or until `timeoutNanos` passed (negative: no limit); true when rung. Rings
    /// before the call count: they make it return at once.
    @discardableResult
    public func wait(timeoutNanos: Int64) -> Bool {
        var p = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        let ms = timeoutNanos < 0 ? Int32(-1) : Int32(clamping: (timeoutNanos + 999_999) / 1_000_000)
        let n = poll(&p, 1, ms)
        guard n > 0 else { return false }
        var sink = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &sink, { read(readFD, $0.baseAddress, $0.count) }) > 0 {}
        return true
    }
}

/// SIGINT / SIGTERM handling shared by the executables: the handler counts and rings a bell
/// (async-signal-safe); the program waits on the bell and shuts down in order. A second signal means
/// "stop now".
public enum Termination {
    static let signals = Atomic<Int>(0)
    /// Rung by the handler; made before the handler is installed (nil only when no pipe could be made:
    /// then waits poll the count).
    static let bell: Doorbell? = try? Doorbell()

    /// Installs the counting handler for SIGINT and SIGTERM.
    public static func install() {
        _ = bell  // made now, never first inside the handler
        // A parent may have started us with these blocked (some supervisors and test runners do).
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in Termination.counted() }
        signal(SIGTERM) { _ in Termination.counted() }
    }

    static func counted() {
        signals.wrappingAdd(1, ordering: .relaxed)
        bell?.ring()
    }

    /// Signals received so far.
    public static var received: Int { signals.load(ordering: .relaxed) }

    /// Blocks until the first signal.
    public static func wait() { wait(untilReceived: 1) }

    /// Blocks until `count` signals have been received. One thread at a time should wait (a bell has
    /// one sleeper); the count is checked again at least once a second all the same.
    public static func wait(untilReceived count: Int) {
        while received < count {
            if let bell { bell.wait(timeoutNanos: 1_000_000_000) } else { usleep(50_000) }
        }
    }
}
