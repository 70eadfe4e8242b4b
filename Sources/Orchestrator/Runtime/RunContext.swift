// What strategies share with the runner while a run goes on: the suite, the run folder and its event
// log, interruptible waits, rendering, resources several components share (the Docker engine session),
// and the record of any result that could not be written (which fails the run).

import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

/// Something several components of a run share, finished once at the end of the run (the Docker
/// session removes the networks it created).
protocol RunResource: AnyObject {
    init(run: RunContext) throws(PipeperfError)
    func finish(in run: RunContext)
}

final class RunContext {
    let suite: Suite
    let folder: RunFolder
    let events: EventLog
    let log: (String) -> Void
    var debug = false
    /// --docker.no-build: use the images the engine has.
    var dockerNoBuild = false
    /// Rendered configuration files per component.
    var rendered: [String: String] = [:]
    /// The running test's own variables and matrix values (over the suite's, under a template's own).
    var testVariables: [(String, String)] = []
    /// Configuration variables steps changed in the running test, per component (over a template's own).
    var configOverrides: [String: [(String, String)]] = [:]
    /// Results that could not be written: the run fails with these.
    private(set) var lostResults: [String] = []
    private var resources: [ObjectIdentifier: any RunResource] = [:]
    private var resourceOrder: [ObjectIdentifier] = []

    init(suite: Suite, folder: RunFolder, events: EventLog, log: @escaping (String) -> Void) {
        self.suite = suite
        self.folder = folder
        self.events = events
        self.log = log
    }

    /// What `{{ run_folder }}` and `{{ rendered.<component> }}` stand for in the suite's values until
    /// the run folder exists; `resolve` puts the folder in.
    static let runFolderMarker = "@@pipeperf-run-folder@@"

    /// `text` with the run folder in place of its marker.
    func resolve(_ text: String) -> String {
        text.contains(RunContext.runFolderMarker)
            ? text.replacingOccurrences(of: RunContext.runFolderMarker, with: folder.path) : text
    }

    func resolve(_ list: [String]) -> [String] { list.map(resolve) }
    func resolve(_ pairs: [(String, String)]) -> [(String, String)] { pairs.map { ($0.0, resolve($0.1)) } }

    /// The run's identity on shared systems (the Docker engine): results/<suite>/<timestamp>.
    var runID: String { folder.path.split(separator: "/").suffix(2).joined(separator: "/") }

    /// The folder of the test being run, relative to the run folder.
    var testFolder: String { "tests/\(safeName(events.test ?? "suite"))" }

    /// The run's shared `R`, made on first use.
    func resource<R: RunResource>(_ type: R.Type) throws(PipeperfError) -> R {
        let key = ObjectIdentifier(type)
        if let r = resources[key] as? R { return r }
        let r = try R(run: self)
        resources[key] = r
        resourceOrder.append(key)
        return r
    }

    /// Finishes every shared resource, last made first.
    func finishResources() {
        for key in resourceOrder.reversed() { resources[key]?.finish(in: self) }
        resources.removeAll()
        resourceOrder.removeAll()
    }

    /// Writes a result into the run folder; a failure is kept (the run fails naming it) and thrown.
    func write(_ name: String, _ text: String) throws(PipeperfError) {
        do { try folder.write(name, text) } catch {
            lost(error.message)
            throw error
        }
    }

    /// Writes a result where a failure must not stop what is being done (a teardown): it is kept and
    /// fails the run at its end.
    func keep(_ name: String, _ text: String) {
        do { try folder.write(name, text) } catch { lost(error.message) }
    }

    func lost(_ message: String) {
        if !lostResults.contains(message) {
            lostResults.append(message)
            log("pipeperf: \(message)")
        }
    }

    /// Sleeps, waking at once for a signal.
    func sleep(_ nanos: UInt64) throws(PipeperfError) { try Interrupts.sleep(nanos) }

    /// Renders a template file into rendered/DESTINATION with the suite's variables, the running test's
    /// (its `variables` and matrix values), `variables`, the paths of what was rendered so far and the
    /// run folder; returns the written path.
    func render(source: String, destination: String, variables: [String: TemplateValue]) throws(PipeperfError) -> String
    {
        let full = source.hasPrefix("/") ? source : "\(suite.baseDirectory)/\(source)"
        let text: String
        do { text = try String(contentsOfFile: full, encoding: .utf8) } catch {
            throw PipeperfError(.invalidInput, "cannot read template \(full)")
        }
        var vars = suite.variables
        for (k, v) in testVariables { vars[k] = .text(v) }
        for (k, v) in variables { vars[k] = v }
        vars["rendered"] = .map(rendered.mapValues { .text($0) })
        vars["run_folder"] = .text(folder.path)
        let out: String
        do { out = try Template(text).render(vars) } catch {
            throw PipeperfError(.invalidInput, "\(full): \(error)", cause: error)
        }
        try write("rendered/\(destination)", out)
        events.record("template_rendered", [("source", full), ("destination", folder.file("rendered/\(destination)"))])
        return folder.file("rendered/\(destination)")
    }
}

func safeName(_ s: String) -> String {
    String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "=" || $0 == "," ? $0 : "_" })
}
