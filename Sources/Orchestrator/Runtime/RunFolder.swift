// The run folder, results/<suite>/<timestamp>/: the suite as run, rendered configs, component logs,
// the event timeline and the status, every file written atomically (temporary file, then rename).

import PipeperfBase
import AdminHTTP
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

public final class RunFolder: @unchecked Sendable {
    public let path: String

    /// Creates `results/<suite>/<UTC timestamp>` (with a suffix when that exists already). The path is
    /// made absolute: components start in the run folder, and the paths handed to them
    /// (`{{ rendered.X }}`, `{{ run_folder }}`) must hold from there.
    public init(results given: String, suite: String) throws(PipeperfError) {
        let results = given.hasPrefix("/") ? given : "\(FileManager.default.currentDirectoryPath)/\(given)"
        let safe = String(suite.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
        let t = SystemClock.unixNanos() / 1_000_000_000
        var tm = tm()
        var secs = time_t(t)
        gmtime_r(&secs, &tm)
        let stamp = String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
            Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec))
        var candidate = "\(results)/\(safe)/\(stamp)"
        var n = 1
        while FileManager.default.fileExists(atPath: candidate) {
            n += 1
            candidate = "\(results)/\(safe)/\(stamp)-\(n)"
        }
        do {
            for sub in ["", "/logs", "/rendered", "/tests"] {
                try FileManager.default.createDirectory(atPath: candidate + sub, withIntermediateDirectories: true)
            }
        } catch {
            throw PipeperfError(.process, "cannot create the run folder \(candidate): \(error.localizedDescription)")
        }
        path = candidate
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes `text` to `name` inside the run folder atomically (a temporary file, synced, then renamed);
    /// the error names the file and the system's reason (a full disk: "No space left on device").
    public func write(_ name: String, _ text: String) throws(PipeperfError) {
        let target = file(name)
        let dir = String(target[..<target.lastIndex(of: "/")!])
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw PipeperfError(
                .results, "cannot write \(target): cannot create \(dir): \(error.localizedDescription)", cause: error)
        }
        let tmp = "\(target).tmp-\(getpid())"
        func failed(_ what: String) -> PipeperfError {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            return PipeperfError(.results, "cannot write \(target): \(what): \(reason)")
        }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failed("open") }
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let e = failed("write")
                close(fd)
                throw e
            }
            done += n
        }
        bytes.removeAll()
        guard fsync(fd) == 0 || errno == EINVAL else {
            let e = failed("fsync")
            close(fd)
            throw e
        }
        guard close(fd) == 0 else { throw failed("close") }
        guard rename(tmp, target) == 0 else { throw failed("rename") }
    }
}

/// One entry of the event timeline.
public struct RunEvent: Sendable {
    public var unixNanos: UInt64
    public var name: String
    public var test: String?
    public var step: String?
    public var component: String?
    public var attributes: [(String, String)]
}

/// The event timeline of a run (events.json): every phase, step and hook, with timestamps.
public final class EventLog: @unchecked Sendable {
    public private(set) var events: [RunEvent] = []
    public var test: String? = nil
    public var step: String? = nil
    public init() {}

    public func record(_ name: String, component: String? = nil, _ attributes: [(String, String)] = []) {
        events.append(
            RunEvent(
                unixNanos: SystemClock.unixNanos(), name: name, test: test, step: step, component: component,
                attributes: attributes))
    }

    public var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.field("version", 1)
        w.beginArray("events")
        for e in events {
            w.beginObject()
            w.field("time_unix_nano", e.unixNanos)
            w.field("name", e.name)
            if let t = e.test { w.field("test", t) }
            if let s = e.step { w.field("step", s) }
            if let c = e.component { w.field("component", c) }
            w.beginObject("attributes")
            for (k, v) in e.attributes { w.field(k, v) }
            w.endObject()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.text + "\n"
    }
}
