// What ties containers and networks to a run, and `pipeperf gc`: whatever runs that are no longer
// alive left behind on the engine (a `kill -9` of the orchestrator leaves its containers running).

import AdminHTTP
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

/// Labels that tie containers and networks to a run, and tell `pipeperf gc` whether that run is alive.
enum RunLabels {
    static let run = "pipeperf.run"
    static let component = "pipeperf.component"
    static let pid = "pipeperf.pid"
    static let pidStart = "pipeperf.pid_start"
    static let boot = "pipeperf.boot_id"

    /// This process's start time (clock ticks since boot; /proc/PID/stat field 22): with the pid and the
    /// boot id, it names this orchestrator uniquely even after pids wrap around.
    static func startTime(of pid: Int32) -> String? {
        guard let fields = Procfs.statFields(pid), fields.count > 19 else { return nil }
        return String(fields[19])
    }

    static var bootID: String { (Procfs.read("/proc/sys/kernel/random/boot_id") ?? "").trimmingSpaces }

    static func forThisProcess(run: String) -> [(String, String)] {
        [(RunLabels.run, run), (pid, String(getpid())), (pidStart, startTime(of: getpid()) ?? ""), (boot, bootID)]
    }

    /// Whether the orchestrator that labelled something is still running.
    static func isAlive(_ labels: [String: JSON]) -> Bool {
        guard let p = labels[pid]?.string.flatMap({ Int32($0) }), let start = labels[pidStart]?.string,
            labels[boot]?.string == bootID
        else {
            return false
        }
        return startTime(of: p) == start
    }
}

/// `pipeperf gc`: containers and networks labelled by pipeperf runs that are no longer alive.
public enum DockerGC {
    public struct Leftover: Sendable {
        public var kind: String
        public var id: String
        public var name: String
        public var run: String
    }

    public static func leftovers(_ engine: DockerEngine) throws(PipeperfError) -> [Leftover] {
        let filter = queryEscape("{\"label\":[\"\(RunLabels.run)\"]}")
        var out: [Leftover] = []
        let cs = try engine.expect("GET", "/containers/json?all=true&filters=\(filter)", what: "listing containers")
        for c in cs.json?.array ?? [] {
            let labels = c["Labels"]?.object ?? [:]
            if RunLabels.isAlive(labels) { continue }
            out.append(
                Leftover(
                    kind: "container", id: c["Id"]?.string ?? "",
                    name: (c["Names"]?.array.first?.string ?? "").trimmingPrefixSlash,
                    run: labels[RunLabels.run]?.string ?? ""))
        }
        let ns = try engine.expect("GET", "/networks?filters=\(filter)", what: "listing networks")
        for n in ns.json?.array ?? [] {
            let labels = n["Labels"]?.object ?? [:]
            if RunLabels.isAlive(labels) { continue }
            out.append(
                Leftover(
                    kind: "network", id: n["Id"]?.string ?? "", name: n["Name"]?.string ?? "",
                    run: labels[RunLabels.run]?.string ?? ""))
        }
        return out
    }

    /// Removes them (containers first); returns what could not be removed.
    public static func remove(_ items: [Leftover], _ engine: DockerEngine) -> [String] {
        var problems: [String] = []
        for i in items where i.kind == "container" {
            do {
                try engine.expect(
                    "DELETE", "/containers/\(i.id)?force=true&v=true", accept: [404],
                    what: "removing container \(i.name)")
            } catch {
                problems.append(error.description)
            }
        }
        for i in items where i.kind == "network" {
            do {
                try engine.expect("DELETE", "/networks/\(i.id)", accept: [404], what: "removing network \(i.name)")
            } catch {
                problems.append(error.description)
            }
        }
        return problems
    }
}

extension String {
    fileprivate var trimmingPrefixSlash: String { hasPrefix("/") ? String(dropFirst()) : self }
}
