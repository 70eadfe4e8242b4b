// Reading a run folder back: the records `pipeperf run` wrote (status, events, samples, per-test
// summaries and snapshots, run metadata). Reports are pure functions of these.

import FoundationEssentials

/// Any JSON value, with path lookup.
public enum JSON: Decodable, Equatable, Sendable {
    case null, bool(Bool), number(Double), string(String), array([JSON]), object([String: JSON])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    public static func parse(_ text: String) -> JSON? { try? JSONDecoder().decode(JSON.self, from: Data(text.utf8)) }

    public subscript(_ key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// A dotted path such as `logs.received`.
    public func at(_ path: String) -> JSON? {
        var v: JSON? = self
        for k in path.split(separator: ".") { v = v?[String(k)] }
        return v
    }

    public var number: Double? {
        if case .number(let d) = self { return d }
        if case .string(let s) = self { return Double(s) }
        return nil
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var array: [JSON] {
        if case .array(let a) = self { return a }
        return []
    }
}

/// Everything a report needs from a run folder.
public struct RunRecords: Sendable {
    public var folder: String
    public var status: JSON
    public var events: [JSON]
    public var samples: [JSON]
    public var meta: JSON
    /// Per test folder name: file name → parsed content.
    public var testFiles: [String: [String: JSON]]

    public init(folder: String) throws(ProcessError) {
        self.folder = folder
        func read(_ name: String) -> String? { try? String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8) }
        guard let statusText = read("status.json"), let status = JSON.parse(statusText) else {
            throw ProcessError(description: "\(folder) is not a pipeperf run folder (no readable status.json)")
        }
        self.status = status
        events = JSON.parse(read("events.json") ?? "")?["events"]?.array ?? []
        // A sample line cut short (the run was killed while writing) is skipped, not fatal.
        samples = (read("samples.jsonl") ?? "").split(separator: "\n").compactMap { JSON.parse(String($0)) }
        meta = JSON.parse(read("run.json") ?? "") ?? .object([:])
        var files: [String: [String: JSON]] = [:]
        let testsDir = "\(folder)/tests"
        for t in (try? FileManager.default.contentsOfDirectory(atPath: testsDir)) ?? [] {
            var m: [String: JSON] = [:]
            for f in (try? FileManager.default.contentsOfDirectory(atPath: "\(testsDir)/\(t)")) ?? [] {
                if let text = try? String(contentsOfFile: "\(testsDir)/\(t)/\(f)", encoding: .utf8), let j = JSON.parse(text) { m[f] = j }
            }
            files[t] = m
        }
        testFiles = files
    }
}
