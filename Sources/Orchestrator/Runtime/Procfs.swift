// The `process` monitoring strategy's reading of procfs: CPU (user and system), RSS, threads, open
// files and context switches, summed over the component's whole process tree (so a collector that
// forks is measured whole). Linux only; no Foundation file APIs on the sampling path.

#if canImport(Glibc)
import Glibc
#endif

/// One reading of a process tree.
public struct ProcessReading: Sendable, Equatable {
    public var userTicks: UInt64 = 0
    public var systemTicks: UInt64 = 0
    public var rssBytes: UInt64 = 0
    public var threads: Int = 0
    public var openFiles: Int = 0
    public var voluntarySwitches: UInt64 = 0
    public var involuntarySwitches: UInt64 = 0
    public var processes: Int = 0
}

public enum Procfs {
    static let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
    public static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// Reads a small proc file into a String (nil when the process is gone).
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 4096) }
            if n <= 0 { break }
            out += buf[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The pid and every descendant (through /proc/PID/task/TID/children).
    public static func tree(_ root: Int32) -> [Int32] {
        var out: [Int32] = []
        var stack = [root]
        while let pid = stack.popLast(), out.count < 10_000 {
            guard read("/proc/\(pid)/stat") != nil else { continue }
            out.append(pid)
            for tid in tasks(pid) {
                if let text = read("/proc/\(pid)/task/\(tid)/children") {
                    stack += text.split(separator: " ").compactMap { Int32($0) }
                }
            }
        }
        return out
    }

    static func tasks(_ pid: Int32) -> [Int32] {
        guard let dir = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(dir) }
        var out: [Int32] = []
        while let e = readdir(dir) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if let t = Int32(name) { out.append(t) }
        }
        return out
    }

    static func countEntries(_ path: String) -> Int {
        guard let dir = opendir(path) else { return 0 }
        defer { closedir(dir) }
        var n = 0
        while readdir(dir) != nil { n += 1 }
        return Swift.max(0, n - 2)
    }

    /// The fields of /proc/PID/stat after "(comm)" (state is [0]; field N of proc(5) is [N - 3]).
    static func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// Sums the readings of `root`'s process tree (nil when the root is gone).
    public static func reading(tree root: Int32) -> ProcessReading? {
        var r = ProcessReading()
        for pid in tree(root) {
            // utime 14, stime 15, num_threads 20, rss 24 (proc(5)).
            guard let fields = statFields(pid), fields.count > 22 else { continue }
            r.userTicks += UInt64(fields[11]) ?? 0
            r.systemTicks += UInt64(fields[12]) ?? 0
            r.threads += Int(fields[17]) ?? 0
            r.rssBytes += (UInt64(fields[21]) ?? 0) * pageSize
            r.openFiles += countEntries("/proc/\(pid)/fd")
            if let status = read("/proc/\(pid)/status") {
                for line in status.split(separator: "\n") {
                    if line.hasPrefix("voluntary_ctxt_switches:") {
                        r.voluntarySwitches += UInt64(line.split(separator: "\t").last ?? "") ?? 0
                    }
                    if line.hasPrefix("nonvoluntary_ctxt_switches:") {
                        r.involuntarySwitches += UInt64(line.split(separator: "\t").last ?? "") ?? 0
                    }
                }
            }
            r.processes += 1
        }
        return r.processes == 0 ? nil : r
    }
}
