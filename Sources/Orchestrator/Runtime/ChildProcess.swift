// Processes of a run: each in its own process group, told to die with the orchestrator (parent-death
// signal), stdout and stderr captured to files, optionally pinned to CPUs. Stopped as a group:
// SIGTERM, then SIGKILL after a grace period.

import CLinux
import FoundationEssentials
import PipeperfBase
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process of the run.
public final class ChildProcess: @unchecked Sendable {
    public let pid: Int32
    public let command: [String]
    var exitStatus: Int32? = nil

    /// Every process group the run started and has not reaped: killed at once on a second signal (from
    /// the interrupt watcher's thread, hence the lock).
    static let live = Mutex<Set<Int32>>([])

    /// Starts `command` with `environment` added, in `directory`, output to `stdoutPath`/`stderrPath`.
    public init(
        command: [String], environment: [(String, String)] = [], directory: String? = nil, stdoutPath: String,
        stderrPath: String,
        cpus: [Int]? = nil
    ) throws(PipeperfError) {
        guard let program = command.first else { throw PipeperfError(.process, "empty command") }
        let resolved = ChildProcess.resolve(program)
        let out = open(stdoutPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let err = open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            if out >= 0 { close(out) }
            if err >= 0 { close(err) }
        }
        guard out >= 0, err >= 0 else {
            throw PipeperfError(.process, "cannot create \(stdoutPath): \(String(cString: strerror(errno)))")
        }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        let args = [resolved] + command.dropFirst()
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        let cpuList = (cpus ?? []).map(Int32.init)
        let pid: Int32 = cArgs.withUnsafeMutableBufferPointer { a in
            cEnv.withUnsafeMutableBufferPointer { e in
                cpuList.withUnsafeBufferPointer { c in
                    a.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: a.count) { ap in
                        e.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: e.count) { ep in
                            if let directory {
                                return clinux_spawn(ap, ep, directory, out, err, c.baseAddress, Int32(c.count), SIGKILL)
                            }
                            return clinux_spawn(ap, ep, nil, out, err, c.baseAddress, Int32(c.count), SIGKILL)
                        }
                    }
                }
            }
        }
        guard pid > 0 else {
            throw PipeperfError(.process, "cannot start \(program): \(String(cString: strerror(errno)))")
        }
        self.pid = pid
        self.command = command
        _ = ChildProcess.live.withLock { $0.insert(pid) }
    }

    /// pipeperf's own executables (loadgen, null-sink, fake-backend, pipeperf) are found next to this
    /// binary; anything else goes through PATH.
    static func resolve(_ program: String) -> String {
        guard !program.contains("/"), ["loadgen", "null-sink", "fake-backend", "pipeperf"].contains(program) else {
            return program
        }
        let candidate = "\(executableDirectory)/\(program)"
        return access(candidate, X_OK) == 0 ? candidate : program
    }

    /// The folder of this executable (pipeperf's release binaries live side by side).
    static var executableDirectory: String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        let exe = n > 0 ? String(cString: buf) : "./pipeperf"
        return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)])
    }

    /// Whether it is still running (reaps it when it has ended).
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            exitStatus = status
            _ = ChildProcess.live.withLock { $0.remove(pid) }
            return false
        }
        return r == 0
    }

    /// How it ended, for messages ("exit status 2", "killed by signal 9").
    public var exitDescription: String {
        guard let s = exitStatus else { return "running" }
        if s & 0x7f == 0 { return "exit status \((s >> 8) & 0xff)" }
        return "killed by signal \(s & 0x7f)"
    }

    /// The exit code when it exited normally.
    public var exitCode: Int32? {
        guard let s = exitStatus, s & 0x7f == 0 else { return nil }
        return (s >> 8) & 0xff
    }

    /// SIGTERM to the process group, then SIGKILL after `graceNanos`; waits until it is gone.
    public func stop(graceNanos: UInt64) {
        guard isRunning else { return }
        kill(-pid, SIGTERM)
        let deadline = SystemClock.monotonicNanos() + graceNanos
        while isRunning && SystemClock.monotonicNanos() < deadline { usleep(10_000) }
        if isRunning {
            kill(-pid, SIGKILL)
            while isRunning { usleep(5_000) }
        }
        kill(-pid, SIGKILL)  // anything the group left behind
    }

    /// Waits for it to end, at most `timeoutNanos`; false on timeout.
    public func wait(timeoutNanos: UInt64) -> Bool {
        let deadline = SystemClock.monotonicNanos() + timeoutNanos
        while isRunning {
            if SystemClock.monotonicNanos() >= deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// Kills every process group of the run at once (a second SIGINT).
    public static func killAll() {
        for pid in live.withLock({ $0 }) { kill(-pid, SIGKILL) }
    }
}
