// Threads and console output without Foundation (the component binaries stay off it).

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
    let rc = pthread_create(&t, nil, { arg in
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
