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

/// SIGINT / SIGTERM handling shared by the executables: the handler only counts (async-signal-safe);
/// the program polls the count and shuts down in order. A second signal means "stop now".
public enum Termination {
    static let signals = Atomic<Int>(0)

    /// Installs the counting handler for SIGINT and SIGTERM.
    public static func install() {
        // A parent may have started us with these blocked (some supervisors and test runners do).
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in Termination.signals.wrappingAdd(1, ordering: .relaxed) }
        signal(SIGTERM) { _ in Termination.signals.wrappingAdd(1, ordering: .relaxed) }
    }

    /// Signals received so far.
    public static var received: Int { signals.load(ordering: .relaxed) }

    /// Blocks until the first signal.
    public static func wait() {
        while received == 0 { usleep(50_000) }
    }
}
