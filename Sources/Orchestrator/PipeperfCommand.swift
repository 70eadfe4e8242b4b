// `pipeperf`: runs and checks benchmark suites.

import ArgumentParser
import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

public struct PipeperfCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "pipeperf",
        abstract: "Benchmark telemetry pipelines end to end from a YAML suite.",
        discussion:
            "The suite reference is docs/suites.md. Exit codes: 0 passed, 1 a test failed, 2 invalid suite, 130 interrupted.",
        subcommands: [
            RunSuite.self, ValidateSuite.self, Strategies.self, ReportCommand.self, CompareCommand.self,
            HistoryCommand.self, ImagesCommand.self, GCCommand.self,
        ],
        defaultSubcommand: RunSuite.self)
    public init() {}
}

/// `--set key=value` pairs.
func parseSets(_ sets: [String]) throws -> [(String, String)] {
    try sets.map { s in
        guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
            throw ValidationError("--set must be NAME=VALUE (got '\(s)')")
        }
        return (String(s[..<eq]), String(s[s.index(after: eq)...]))
    }
}

/// Loads a suite, printing every problem and exiting 2 when it is invalid.
func loadOrExit(_ path: String, sets: [(String, String)]) throws -> Suite {
    do { return try SuiteLoader.load(path: path, overrides: sets) } catch {
        for p in error.problems { printError(p.description) }
        printError(
            "pipeperf: \(path) is not a valid suite (\(error.problems.count) problem\(error.problems.count == 1 ? "" : "s"))"
        )
        throw ExitCode(2)
    }
}

public struct RunSuite: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a suite (the default subcommand).")

    @Option(name: [.short, .long], help: "The suite file.")
    public var config: String

    @Option(name: .customLong("set"), help: "Override a suite variable: NAME=VALUE (repeatable).")
    public var sets: [String] = []

    @Option(help: "Run only these tests (comma-separated names; a matrix test by its base name runs every expansion).")
    public var tests: String?

    @Option(help: "Folder for run results.")
    public var results: String = "results"

    @Option(
        help:
            "Run every selected test N times (full deploy to destroy each, interleaved with the other tests), overriding the suite's `replicates:`."
    )
    public var replicates: Int?

    @Flag(help: "Do not record this run in the history store (<results>/history.sqlite).")
    public var noHistory = false

    @Flag(help: "Verbose output.")
    public var debug = false

    @Option(
        help:
            "OTLP/HTTP endpoint for the run's own telemetry, e.g. http://127.0.0.1:4318 (with --export-traces / --export-metrics)."
    )
    public var otlpEndpoint: String?

    @Flag(help: "Send the run's spans (suite, tests, steps, phases, hooks) to --otlp-endpoint at the end of the run.")
    public var exportTraces = false

    @Flag(help: "Send each test's report figures as OTLP gauges to --otlp-endpoint at the end of the run.")
    public var exportMetrics = false

    @Flag(help: "Print a live progress line every second even when standard error is not a terminal.")
    public var progress = false

    @Flag(
        name: .customLong("docker.no-build"),
        help: "Do not build Docker images (pipeperf's own or a deployment's `build:`): use the images the engine has.")
    public var dockerNoBuild = false

    public init() {}

    public func validate() throws {
        if (exportTraces || exportMetrics) && otlpEndpoint == nil {
            throw ValidationError("--export-traces and --export-metrics need --otlp-endpoint")
        }
        if let e = otlpEndpoint, HTTPURL(e) == nil {
            throw ValidationError("--otlp-endpoint must be an OTLP/HTTP URL such as http://127.0.0.1:4318 (got '\(e)')")
        }
        if let n = replicates, !(1...1000).contains(n) {
            throw ValidationError("--replicates must be a whole number from 1 to 1000 (got \(n))")
        }
    }

    public func run() throws {
        let suite = try loadOrExit(config, sets: try parseSets(sets))
        var selected = suite.tests
        if let tests {
            let wanted = tests.split(separator: ",").map { String($0).trimmingSpaces }
            let names = suite.tests.map(\.name)
            for w in wanted where !names.contains(w) && !names.contains(where: { $0.hasPrefix(w + "[") }) {
                printError(
                    "pipeperf: --tests: no test '\(w)' in \(config)\(didYouMean(w, among: names)); tests: \(names.joined(separator: ", "))"
                )
                throw ExitCode(2)
            }
            selected = suite.tests.filter { t in
                wanted.contains(t.name) || wanted.contains { t.name.hasPrefix($0 + "[") }
            }
        }
        selected = TestCase.expandReplicates(selected, override: replicates)
        let folder: RunFolder
        do { folder = try RunFolder(results: results, suite: suite.name) } catch {
            printError("pipeperf: \(error)")
            throw ExitCode(1)
        }
        do {
            try folder.write(
                "suite.yaml", suiteAsRun(suite, text: (try? String(contentsOfFile: config, encoding: .utf8)) ?? ""))
        } catch {
            printError("pipeperf: \(error.message); nothing was run")
            throw ExitCode(1)
        }
        Termination.install()
        printError(
            "pipeperf: running \(suite.name) (\(selected.count) test\(selected.count == 1 ? "" : "s")); results in \(folder.path)"
        )
        let runner = Runner(suite: suite, folder: folder, log: { printError($0) })
        runner.debug = debug
        runner.dockerNoBuild = dockerNoBuild
        runner.progress = progress || isatty(2) != 0
        let status = runner.run(tests: selected)
        if let report = runner.report { print(report.render(.console)) }
        // The history store (<results>/history.sqlite): a failure to record is said, and loses nothing (the
        // run folder is the source of truth: `pipeperf history import` adds it later).
        if let report = runner.report, !noHistory {
            do { try HistoryStore(path: HistoryStore.defaultPath(results: results)).record(report) } catch {
                printError(
                    "pipeperf: the run is not in the history store: \(error.message) (add it with `pipeperf history import \(folder.path)`)"
                )
            }
        }
        if let e = otlpEndpoint.flatMap(HTTPURL.init), exportTraces || exportMetrics {
            let spans = exportTraces ? SelfTelemetry.spans(runner.events.events, suite: suite.name) : nil
            let metrics =
                exportMetrics ? runner.report.map { SelfTelemetry.metrics($0, at: SystemClock.unixNanos()) } : nil
            if let problem = SelfTelemetry.export(endpoint: e, traces: spans, metrics: metrics, suite: suite.name) {
                printError("pipeperf: \(problem)")
            } else {
                printError(
                    "pipeperf: sent \(spans?.count ?? 0) spans and \(metrics?.count ?? 0) metrics to \(otlpEndpoint ?? "")"
                )
            }
        }
        for t in runner.report?.tests ?? [] {
            print("\(t.status.uppercased()) \(t.name)\(t.error.map { ": \($0)" } ?? "")")
        }
        print("pipeperf: \(status.rawValue); results in \(folder.path)")
        switch status {
        case .passed: return
        case .failed: throw ExitCode(1)
        case .aborted: throw ExitCode(130)
        }
    }
}

/// Variables whose names look secret print as <redacted>, in the variables and wherever their values
/// appear in the file.
func isSecretName(_ name: String) -> Bool {
    let n = name.lowercased()
    return ["secret", "token", "password", "passwd", "api_key", "apikey", "credential", "authorization"].contains {
        n.contains($0)
    }
}

/// The suite file as run: its text with secret values redacted, then the variables it ran with.
func suiteAsRun(_ suite: Suite, text: String) -> String {
    var out = text
    var lines: [String] = []
    for k in suite.variables.keys.sorted() {
        let v = suite.variables[k]!.rendered
        if isSecretName(k) {
            if !v.isEmpty { out = out.replacingOccurrences(of: v, with: "<redacted>") }
            lines.append("#   \(k): <redacted>")
        } else {
            lines.append("#   \(k): \(v)")
        }
    }
    return out + "\n# variables as run:\n" + lines.joined(separator: "\n") + "\n"
}

public struct ReportCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a run folder's report again, from its stored samples and events (nothing is re-run).")

    @Argument(help: "A run folder, results/<suite>/<timestamp>.")
    public var folder: String

    @Option(
        help:
            "console, json, markdown, html (one self-contained page with charts), gab-bigger or gab-smaller (github-action-benchmark, one direction per file)."
    )
    public var format: String = "console"

    public init() {}

    public func run() throws {
        if format == "html" {
            let records: RunRecords
            do { records = try RunRecords(folder: folder) } catch { throw ValidationError("\(error)") }
            print(HTMLReport.render(ReportBuilder.build(records), records), terminator: "")
            return
        }
        guard let f = ReportFormat(rawValue: format) else {
            if format == "gab" {
                throw ValidationError(
                    "--format gab is now two files, one per direction as github-action-benchmark wants: use gab-bigger or gab-smaller"
                )
            }
            throw ValidationError(
                "--format must be one of \((ReportFormat.allCases.map(\.rawValue) + ["html"]).joined(separator: ", ")) (got '\(format)')"
            )
        }
        let records: RunRecords
        do { records = try RunRecords(folder: folder) } catch { throw ValidationError("\(error)") }
        print(ReportBuilder.build(records).render(f), terminator: "")
    }
}

public struct ValidateSuite: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check a suite without running it.")

    @Argument(help: "The suite file.")
    public var file: String

    @Option(name: .customLong("set"), help: "Override a suite variable: NAME=VALUE (repeatable).")
    public var sets: [String] = []

    public init() {}

    public func run() throws {
        let suite = try loadOrExit(file, sets: try parseSets(sets))
        let steps = suite.tests.reduce(0) { $0 + $1.steps.count }
        print(
            "\(file): valid: \(suite.components.count) component\(suite.components.count == 1 ? "" : "s"), \(suite.tests.count) test\(suite.tests.count == 1 ? "" : "s"), \(steps) steps"
        )
    }
}

public struct Strategies: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "strategies", abstract: "List every strategy, action and hook with its options.")

    @Flag(help: "Print the key reference as Markdown tables (the one in docs/suites.md).")
    public var markdown = false

    public init() {}

    public func run() throws { print(markdown ? keysMarkdown() : strategiesText(), terminator: "") }
}

/// Every section of the suite language with its keys, in reference order: the suite's own keys, then
/// every kind of every strategy family from the registry, then the test keys, actions and hooks.
public let keySections: [(title: String, keys: [KeySpec])] = {
    var s: [(String, [KeySpec])] = [("suite (top level)", SuiteKeys.suite), ("component", SuiteKeys.component)]
    func add(_ family: String, _ info: StrategyInfo) {
        s.append(("\(family): \(info.name)", info.keys))
        for section in info.sections { s.append((section.title, section.keys)) }
    }
    for k in Registry.deployments { add("deployment", k.info) }
    for k in Registry.executions { add("execution", k.info) }
    for k in Registry.configurations { add("configuration", k.info) }
    for k in Registry.monitors { add("monitoring", k.info) }
    s += [
        ("test", SuiteKeys.test), ("test: compare", SuiteKeys.compareMetric), ("test: search", SuiteKeys.search),
        ("flow", SuiteKeys.flow),
        ("step", SuiteKeys.step), ("on_error", SuiteKeys.onError),
        ("hooks: pre / post", SuiteKeys.phaseHooks),
    ]
    for a in Registry.actions { s.append(("action: \(a.name)", a.keys)) }
    for h in Registry.hooks { s.append(("hook: \(h.name)", h.keys + SuiteKeys.hookCommon)) }
    return s
}()

/// The key reference as Markdown (docs/suites.md holds this text between its markers; a test checks it).
public func keysMarkdown() -> String {
    var out = ""
    for (title, keys) in keySections {
        out += "### \(title)\n\n"
        if keys.isEmpty {
            out += "No keys: `{}`.\n\n"
            continue
        }
        out += "| key | type | default | meaning |\n| --- | --- | --- | --- |\n"
        for k in keys {
            let d = k.required ? "required" : (k.defaultValue.map { "`\($0)`" } ?? "—")
            out += "| `\(k.name)` | \(k.type) | \(d) | \(k.doc.replacingOccurrences(of: "|", with: "\\|")) |\n"
        }
        out += "\n"
    }
    return out
}

/// The listing of `pipeperf strategies`, from the same definitions the loader uses.
public func strategiesText() -> String {
    func section(_ title: String, _ name: String, _ keys: [KeySpec], _ what: String) -> String {
        var s = "\(title) \(name): \(what)\n"
        for k in keys {
            s +=
                "    \(k.name) (\(k.type)\(k.required ? ", required" : "")\(k.defaultValue.map { ", default \($0)" } ?? "")): \(k.doc)\n"
        }
        return s
    }
    var out = ""
    func add(_ family: String, _ info: StrategyInfo) {
        out += section(family, info.name, info.keys, info.summary)
        for sub in info.sections { out += section(family, "\(info.name).\(sub.path)", sub.keys, sub.summary) }
    }
    for k in Registry.deployments { add("deployment", k.info) }
    for k in Registry.executions { add("execution", k.info) }
    for k in Registry.configurations { add("configuration", k.info) }
    for k in Registry.monitors { add("monitoring", k.info) }
    for a in Registry.actions { out += section("action", a.name, a.keys, "a step action") }
    for h in Registry.hooks { out += section("hook", h.name, h.keys + SuiteKeys.hookCommon, "a hook") }
    out += section("test", "flow", SuiteKeys.flow, "the standard flow")
    return out
}

/// `pipeperf images build`: pipeperf's own container images.
public struct ImagesCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Build pipeperf's container images (loadgen, null-sink, fake-backend) through the Docker engine.",
        discussion: """
            Each image is FROM scratch: the stripped release binary next to this pipeperf (build them with \
            scripts/swift-release), exactly the shared libraries ldd lists for it, and Dockerfiles/ROLE.Dockerfile. \
            Tagged pipeperf/ROLE:\(PipeperfImages.version) and pipeperf/ROLE:latest. See docs/docker.md.
            """)

    @Argument(help: "build")
    public var action: String = "build"

    @Option(help: "Roles to build, comma-separated (default: loadgen,null-sink,fake-backend).")
    public var roles: String?

    @Option(help: "The Dockerfiles folder (default: found from the current folder or this executable).")
    public var dockerfiles: String?

    @Option(help: "Folder of the release binaries (default: this executable's folder).")
    public var binaries: String?

    @Option(help: "Fail when an image is this many bytes or more (e.g. 30000000).")
    public var maxBytes: Int?

    public init() {}

    public func validate() throws {
        guard action == "build" else { throw ValidationError("unknown action '\(action)'; the action is: build") }
        if let roles {
            for r in roles.split(separator: ",") where !PipeperfImages.roles.contains(String(r)) {
                throw ValidationError(
                    "--roles: unknown role '\(r)'; roles: \(PipeperfImages.roles.joined(separator: ", "))")
            }
        }
    }

    public func run() throws {
        do {
            let engine = try DockerEngine()
            try engine.ping()
            let selected = roles.map { $0.split(separator: ",").map(String.init) } ?? PipeperfImages.roles
            let built = try PipeperfImages.build(
                engine: engine, roles: selected, dockerfiles: dockerfiles, binaries: binaries, log: { print($0) })
            if let maxBytes {
                for (tag, size) in built where size >= maxBytes {
                    printError("pipeperf: \(tag) is \(size) bytes, over --max-bytes \(maxBytes)")
                    throw ExitCode(1)
                }
            }
        } catch let e as PipeperfError {
            printError("pipeperf: \(e.description)")
            throw ExitCode(1)
        }
    }
}

/// `pipeperf gc`: removes containers and networks that runs no longer alive left behind.
public struct GCCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove the containers and networks left by pipeperf runs that are no longer running.",
        discussion:
            "Every container and network a run creates carries the labels pipeperf.run, pipeperf.pid, pipeperf.pid_start and pipeperf.boot_id; those of a run whose orchestrator is gone are removed. Runs in progress are left alone."
    )

    @Flag(help: "Only list what would be removed.")
    public var dryRun = false

    public init() {}

    public func run() throws {
        do {
            let engine = try DockerEngine()
            try engine.ping()
            let items = try DockerGC.leftovers(engine)
            for i in items {
                print(
                    "\(dryRun ? "would remove" : "removing") \(i.kind) \(i.name) (\(String(i.id.prefix(12))), run \(i.run))"
                )
            }
            if dryRun || items.isEmpty {
                print("pipeperf gc: \(items.count) left behind\(dryRun ? "" : "; nothing to remove")")
                return
            }
            let problems = DockerGC.remove(items, engine)
            for p in problems { printError("pipeperf gc: \(p)") }
            print("pipeperf gc: removed \(items.count - problems.count) of \(items.count)")
            if !problems.isEmpty { throw ExitCode(1) }
        } catch let e as PipeperfError {
            printError("pipeperf gc: \(e.description)")
            throw ExitCode(1)
        }
    }
}
