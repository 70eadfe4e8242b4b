// Reading a run folder back: the records `pipeperf run` wrote (status, events, samples, per-test
// summaries and snapshots, run metadata). Reports are pure functions of these.

import PipeperfBase
import AdminHTTP
import FoundationEssentials

/// Everything a report needs from a run folder.
public struct RunRecords: Sendable {
    public var folder: String
    public var status: JSON
    public var events: [JSON]
    public var samples: [JSON]
    public var meta: JSON
    /// Per test folder name: file name → parsed content.
    public var testFiles: [String: [String: JSON]]

    /// `running`: the run is still going (a search judging its steps): there is no status.json yet.
    public init(folder: String, running: Bool = false) throws(PipeperfError) {
        self.folder = folder
        func read(_ name: String) -> String? { try? String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8) }
        if running {
            status = .object([:])
        } else {
            guard let statusText = read("status.json"), let status = JSON.parse(statusText) else {
                throw PipeperfError(.process, "\(folder) is not a pipeperf run folder (no readable status.json)")
            }
            self.status = status
        }
        events = JSON.parse(read("events.json") ?? "")?["events"]?.array ?? []
        // A sample line cut short (the run was killed while writing) is skipped, not fatal.
        samples = (read("samples.jsonl") ?? "").split(separator: "\n").compactMap { JSON.parse(String($0)) }
        meta = JSON.parse(read("run.json") ?? "") ?? .object([:])
        var files: [String: [String: JSON]] = [:]
        let testsDir = "\(folder)/tests"
        for t in (try? FileManager.default.contentsOfDirectory(atPath: testsDir)) ?? [] {
            var m: [String: JSON] = [:]
            for f in (try? FileManager.default.contentsOfDirectory(atPath: "\(testsDir)/\(t)")) ?? [] {
                if let text = try? String(contentsOfFile: "\(testsDir)/\(t)/\(f)", encoding: .utf8),
                    let j = JSON.parse(text)
                {
                    m[f] = j
                }
            }
            files[t] = m
        }
        testFiles = files
    }
}
