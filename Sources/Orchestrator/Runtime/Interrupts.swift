// Interrupts that always answer. The first SIGINT/SIGTERM makes every interruptible wait of the run
// throw, so the run unwinds to its teardown (stop the load, destroy everything, record `aborted`). The
// second is answered by a watcher thread at any moment — in the middle of a teardown that waits out a
// component's stop_grace, inside an HTTP exchange, anywhere: it kills every live handle (processes,
// containers), every process group the run started, and exits with 130.

import PipeperfBase
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

enum Interrupts {
    /// What must die at once on the second signal, by identity.
    static let live = Mutex<[ObjectIdentifier: any Killable]>([:])
    static let watching = Atomic<Bool>(false)

    /// Signals received so far.
    static var received: Int { Termination.received }

    static func register(_ k: any Killable) { live.withLock { $0[ObjectIdentifier(k)] = k } }
    static func unregister(_ k: any Killable) { _ = live.withLock { $0.removeValue(forKey: ObjectIdentifier(k)) } }

    /// Starts the watcher (once per process); `log` says what it did.
    static func startWatcher(log: @escaping @Sendable (String) -> Void) {
        guard !watching.exchange(true, ordering: .relaxed) else { return }
        do {
            _ = try spawnThread {
                Termination.wait(untilReceived: 2)
                log("pipeperf: second signal: killing every component of the run now")
                killEverything()
                _exit(130)
            }
        } catch {
            log("pipeperf: \(error); a second signal will not kill the components at once")
        }
    }

    /// Kills every live handle and every process group of the run, now.
    static func killEverything() {
        ChildProcess.killAll()
        for k in live.withLock({ Array($0.values) }) { k.killNow() }
        ChildProcess.killAll()
    }

    /// Throws the interruption once a signal has arrived.
    static func check() throws(PipeperfError) {
        if received >= 1 { throw PipeperfError.interrupted }
    }

    /// Sleeps `nanos`, waking every 20 ms to check for signals; `tick` runs once a second.
    static func sleep(_ nanos: UInt64, tick: ((UInt64) -> Void)? = nil) throws(PipeperfError) {
        let start = SystemClock.monotonicNanos()
        let deadline = start &+ nanos
        var nextTick = start + 1_000_000_000
        while true {
            try check()
            let now = SystemClock.monotonicNanos()
            if now >= deadline { return }
            if let tick, now >= nextTick {
                nextTick += 1_000_000_000
                tick(now - start)
            }
            usleep(UInt32(Swift.min(20_000, (deadline - now) / 1000)))
        }
    }
}
