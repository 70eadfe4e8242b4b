// The history store: every run's figures in one SQLite file under the results folder
// (<results>/history.sqlite), for `pipeperf history` (a metric over runs, with change points) and for
// `pipeperf compare SUITE@…` references. The run folders stay the source of truth: `pipeperf history
// import` (re)builds the store from them at any time. SQLite through the system library (CSQLite): an
// embedded database with nothing to start and no package to build.

import AdminHTTP
import CSQLite
import FoundationEssentials
import PipeperfBase

/// A run as the store knows it.
public struct HistoryRun: Sendable, Equatable {
    /// The run folder's name (its UTC start time, e.g. 20261203T061500Z).
    public var runID: String
    public var suite: String
    public var folder: String
    public var startedUnix: Double
    public var status: String
    public var codeCommit: String
    public var codeBranch: String
    public var codeDirty: Bool
    public var pipeperfCommit: String
    /// The environment facts of run.json, as JSON text.
    public var environment: String
}

/// One value: a metric of one test (one replicate) of a run.
public struct HistoryValue: Sendable, Equatable {
    public var test: String
    public var replicate: Int
    public var testName: String
    public var status: String
    public var metric: String
    public var value: Double
}

public final class HistoryStore {
    let db: OpaquePointer
    public let path: String

    public static func defaultPath(results: String) -> String { "\(results)/history.sqlite" }

    /// Opens (creating when needed) the store at `path`.
    public init(path: String, create: Bool = true) throws(PipeperfError) {
        self.path = path
        if !create && !FileManager.default.fileExists(atPath: path) {
            throw PipeperfError(
                .failed,
                "no history store at \(path) (every `pipeperf run` records one; `pipeperf history import RUN_FOLDER…` builds it from run folders)"
            )
        }
        var handle: OpaquePointer?
        let flags = create ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READWRITE
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let handle { sqlite3_close(handle) }
            throw PipeperfError(.results, "cannot open the history store \(path): \(message)")
        }
        db = handle
        sqlite3_busy_timeout(db, 5000)
        try exec(
            """
            CREATE TABLE IF NOT EXISTS runs (
                run_id TEXT NOT NULL, suite TEXT NOT NULL, folder TEXT NOT NULL, started REAL NOT NULL,
                status TEXT NOT NULL, code_commit TEXT NOT NULL, code_branch TEXT NOT NULL,
                code_dirty INTEGER NOT NULL, pipeperf_commit TEXT NOT NULL, environment TEXT NOT NULL,
                PRIMARY KEY (suite, run_id));
            CREATE TABLE IF NOT EXISTS run_values (
                suite TEXT NOT NULL, run_id TEXT NOT NULL, test TEXT NOT NULL, replicate INTEGER NOT NULL,
                test_name TEXT NOT NULL, status TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL,
                PRIMARY KEY (suite, run_id, test_name, metric));
            CREATE INDEX IF NOT EXISTS run_values_metric ON run_values (suite, test, metric);
            PRAGMA user_version = 1;
            """)
    }

    deinit { sqlite3_close(db) }

    func fail(_ what: String) -> PipeperfError {
        PipeperfError(.results, "history store \(path): \(what): \(String(cString: sqlite3_errmsg(db)))")
    }

    func exec(_ sql: String) throws(PipeperfError) {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &message) != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            throw PipeperfError(.results, "history store \(path): \(text)")
        }
    }

    /// A prepared statement with its values bound in order (Text, Double, Int or Bool).
    func statement(_ sql: String, _ values: [Any]) throws(PipeperfError) -> OpaquePointer {
        var s: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &s, nil) == SQLITE_OK, let s else { throw fail("prepare") }
        for (i, v) in values.enumerated() {
            let at = Int32(i + 1)
            switch v {
            case let t as String: sqlite3_bind_text(s, at, t, -1, csqlite_transient())
            case let d as Double: sqlite3_bind_double(s, at, d)
            case let n as Int: sqlite3_bind_int64(s, at, Int64(n))
            case let b as Bool: sqlite3_bind_int64(s, at, b ? 1 : 0)
            default: sqlite3_bind_null(s, at)
            }
        }
        return s
    }

    func run(_ sql: String, _ values: [Any]) throws(PipeperfError) {
        let s = try statement(sql, values)
        defer { sqlite3_finalize(s) }
        guard sqlite3_step(s) == SQLITE_DONE else { throw fail("write") }
    }

    func rows<T>(_ sql: String, _ values: [Any], _ row: (OpaquePointer) -> T) throws(PipeperfError) -> [T] {
        let s = try statement(sql, values)
        defer { sqlite3_finalize(s) }
        var out: [T] = []
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw fail("read") }
            out.append(row(s))
        }
        return out
    }

    static func text(_ s: OpaquePointer, _ i: Int32) -> String {
        sqlite3_column_text(s, i).map { String(cString: $0) } ?? ""
    }

    // MARK: Recording

    /// Records a run's report (replacing what the store had for that run): every test's figures.
    public func record(_ report: RunReport) throws(PipeperfError) {
        let runID = String(report.folder.split(separator: "/").last ?? Substring(report.folder))
        func fact(_ what: String, _ key: String) -> String {
            report.provenance.first { $0.0 == what }?.1.first { $0.0 == key }?.1 ?? ""
        }
        var env = JSONWriter()
        env.beginObject()
        for (k, v) in report.environment { env.field(k, v) }
        env.endObject()
        let folder =
            report.folder.hasPrefix("/")
            ? report.folder : FileManager.default.currentDirectoryPath + "/" + report.folder
        try exec("BEGIN IMMEDIATE")
        do throws(PipeperfError) {
            try run("DELETE FROM runs WHERE suite = ? AND run_id = ?", [report.suite, runID])
            try run("DELETE FROM run_values WHERE suite = ? AND run_id = ?", [report.suite, runID])
            try run(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    runID, report.suite, folder, report.startedUnix ?? 0, report.status, fact("code", "commit"),
                    fact("code", "branch"), fact("code", "dirty") == "true", fact("pipeperf", "commit"), env.text,
                ])
            for t in report.tests {
                for (metric, value) in ReportBuilder.flatten(t) where value.isFinite {
                    try run(
                        "INSERT INTO run_values VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            report.suite, runID, t.base, t.replicate, t.name,
                            Headline.exclusion(t) == nil ? t.status : "excluded", metric, value,
                        ])
                }
            }
            try exec("COMMIT")
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    // MARK: Reading

    /// The runs of `suite`, oldest first.
    public func runs(suite: String) throws(PipeperfError) -> [HistoryRun] {
        try rows(
            "SELECT run_id, suite, folder, started, status, code_commit, code_branch, code_dirty, pipeperf_commit, environment FROM runs WHERE suite = ? ORDER BY started, run_id",
            [suite]
        ) { s in
            HistoryRun(
                runID: Self.text(s, 0), suite: Self.text(s, 1), folder: Self.text(s, 2),
                startedUnix: sqlite3_column_double(s, 3), status: Self.text(s, 4), codeCommit: Self.text(s, 5),
                codeBranch: Self.text(s, 6), codeDirty: sqlite3_column_int64(s, 7) != 0,
                pipeperfCommit: Self.text(s, 8), environment: Self.text(s, 9))
        }
    }

    /// The suites the store holds.
    public func suites() throws(PipeperfError) -> [String] {
        try rows("SELECT DISTINCT suite FROM runs ORDER BY suite", []) { Self.text($0, 0) }
    }

    /// Every value of one run.
    public func values(suite: String, runID: String) throws(PipeperfError) -> [HistoryValue] {
        try rows(
            "SELECT test, replicate, test_name, status, metric, value FROM run_values WHERE suite = ? AND run_id = ? ORDER BY test, replicate, metric",
            [suite, runID]
        ) { s in
            HistoryValue(
                test: Self.text(s, 0), replicate: Int(sqlite3_column_int64(s, 1)), testName: Self.text(s, 2),
                status: Self.text(s, 3), metric: Self.text(s, 4), value: sqlite3_column_double(s, 5))
        }
    }

    /// `SUITE@latest`, `SUITE@<git sha>` (a prefix of the code's or pipeperf's commit; the latest such run),
    /// `SUITE@<run id>`, `SUITE@branch:<name>` (the latest run of the code on that branch).
    public func resolve(_ reference: String) throws(PipeperfError) -> HistoryRun {
        guard let at = reference.firstIndex(of: "@") else {
            throw PipeperfError(
                .failed,
                "'\(reference)' is not a history reference (SUITE@latest, SUITE@<git sha>, SUITE@<run id>, SUITE@branch:<name>)"
            )
        }
        let suite = String(reference[..<at]), what = String(reference[reference.index(after: at)...])
        let all = try runs(suite: suite)
        if all.isEmpty {
            let known = (try? suites()) ?? []
            throw PipeperfError(
                .failed,
                "\(reference): the history store \(path) has no run of suite '\(suite)'\(didYouMean(suite, among: known))\(known.isEmpty ? "" : "; suites: \(known.joined(separator: ", "))")"
            )
        }
        let found: HistoryRun?
        if what == "latest" {
            found = all.last
        } else if what.hasPrefix("branch:") {
            let branch = String(what.dropFirst("branch:".count))
            found = all.last { $0.codeBranch == branch }
            if found == nil {
                let branches = Set(all.map(\.codeBranch).filter { !$0.isEmpty }).sorted()
                throw PipeperfError(
                    .failed,
                    "\(reference): no run of '\(suite)' on branch '\(branch)'; branches recorded: \(branches.isEmpty ? "none" : branches.joined(separator: ", "))"
                )
            }
        } else if let r = all.last(where: { $0.runID == what }) {
            found = r
        } else if what.count >= 4, what.allSatisfy(\.isHexDigit) {
            found = all.last { $0.codeCommit.hasPrefix(what) || $0.pipeperfCommit.hasPrefix(what) }
        } else {
            found = nil
        }
        guard let found else {
            throw PipeperfError(
                .failed,
                "\(reference): no run of '\(suite)' with that id or commit (use latest, a run id such as \(all.last!.runID), a git sha, or branch:<name>)"
            )
        }
        return found
    }
}
