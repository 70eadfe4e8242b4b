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

    /// Creates `results/<suite>/<UTC timestamp>` (with a suffix when that exists already).
    public init(results: String, suite: String) throws(ProcessError) {
        let safe = String(suite.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
        let t = SystemClock.unixNanos() / 1_000_000_000
        var tm = tm()
        var secs = time_t(t)
        gmtime_r(&secs, &tm)
        let stamp = String(format: "%04d%02d%02dT%02d%02d%02dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
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
            throw ProcessError(description: "cannot create the run folder \(candidate): \(error.localizedDescription)")
        }
        path = candidate
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes `text` to `name` inside the run folder atomically.
    public func write(_ name: String, _ text: String) throws(ProcessError) {
        let target = file(name)
        let dir = String(target[..<target.lastIndex(of: "/")!])
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let tmp = "\(target).tmp-\(getpid())"
            try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
            guard rename(tmp, target) == 0 else { throw ProcessError(description: "rename: \(String(cString: strerror(errno)))") }
        } catch let e as ProcessError {
            throw e
        } catch {
            throw ProcessError(description: "cannot write \(target): \(error.localizedDescription)")
        }
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
        events.append(RunEvent(unixNanos: SystemClock.unixNanos(), name: name, test: test, step: step, component: component, attributes: attributes))
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
