// What the runner writes besides the steps' own results: run.json (the environment and the
// assertions), status.json and events.json, and the live progress line.

import AdminHTTP
import FoundationEssentials
import LoadGen
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

extension Runner {
    /// run.json: the environment and what the report needs from the suite (assertions).
    func writeMeta(_ tests: [TestCase]) {
        var w = JSONWriter()
        w.beginObject()
        w.field("version", 1)
        w.beginObject("environment")
        for (k, v) in environmentFacts() { w.field(k, v) }
        w.endObject()
        w.beginObject("assertions")
        for t in tests where !t.assertions.isEmpty { w.field(t.name, t.assertions) }
        w.endObject()
        // Which test each run test repeats (replicates are `<test>#<k>`), and what compare judges besides
        // the headline metrics.
        w.beginObject("tests")
        for t in tests {
            w.beginObject(t.name)
            w.field("base", t.base)
            w.field("replicate", t.replicate)
            w.field("replicates", t.replicates)
            w.beginObject("matrix")
            for (k, v) in t.matrix { w.field(k, v) }
            w.endObject()
            if let comps = t.componentsAtWindow(suite.components) {
                w.beginObject("allotments")
                for c in comps { if let v = c.deployment.allotmentCores { w.field(c.name, v, decimals: 3) } }
                w.endObject()
            }
            if let s = t.search {
                w.beginObject("search")
                w.field("load", s.load)
                w.field("from", s.from, decimals: 0)
                w.field("to", s.to, decimals: 0)
                w.field("precision", s.precision, decimals: 6)
                w.field("growth", s.growth, decimals: 6)
                w.field("max_steps", s.maxSteps)
                w.field("warmup_s", Double(s.warmupNanos) / 1e9, decimals: 3)
                w.field("observe_s", Double(s.observeNanos) / 1e9, decimals: 3)
                w.field("redeploy", s.redeploy)
                w.field("slo", s.slo)
                w.endObject()
            }
            w.endObject()
        }
        w.endObject()
        w.beginObject("compare")
        var seen: Set<String> = []
        for t in tests where !t.compare.isEmpty && seen.insert(t.base).inserted {
            w.beginArray(t.base)
            for m in t.compare {
                w.beginObject()
                w.field("metric", m.metric)
                w.field("direction", m.higherIsBetter ? "higher" : "lower")
                if let v = m.thresholdPct { w.field("threshold_pct", v, decimals: 3) }
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        if let ref = suite.compareTo { w.field("compare_to", ref) }
        // What the report needs of the components: their order (for the hops), allotments, hop counters.
        w.field("component_order", suite.components.map(\.name))
        w.beginObject("components")
        for c in suite.components {
            w.beginObject(c.name)
            w.field("deployment", type(of: c.deployment).info.name)
            if let base = c.replicaOf { w.field("replica_of", base) }
            if let v = c.deployment.allotmentCores { w.field("allotment_cores", v, decimals: 3) }
            if !c.hops.isEmpty {
                w.beginObject("hops")
                for (key, metrics) in c.hops {
                    w.beginArray(key)
                    for m in metrics { w.value(m) }
                    w.endArray()
                }
                w.endObject()
            }
            w.endObject()
        }
        w.endObject()
        // Where the numbers came from: the code under test and pipeperf itself.
        w.beginObject("provenance")
        let codePath = suite.codePath.hasPrefix("/") ? suite.codePath : "\(suite.baseDirectory)/\(suite.codePath)"
        for (what, path) in [("code", Optional(codePath)), ("pipeperf", pipeperfSourceFolder())] {
            w.beginObject(what)
            if let path {
                w.field("path", path)
                let git = gitFacts(path)
                if let c = git.commit {
                    w.field("commit", c)
                    w.field("branch", git.branch ?? "")
                    w.field("dirty", git.dirty)
                } else {
                    w.field("commit", "unknown (not a git work tree)")
                }
            } else {
                w.field("commit", "unknown (pipeperf's sources are not next to its binary)")
            }
            w.endObject()
        }
        w.endObject()
        w.endObject()
        run.keep("run.json", w.text + "\n")
    }

    func printProgress(elapsed: Double, total: Double) {
        var line =
            "pipeperf: \(events.test ?? "") / \(events.step ?? "") \(formatFixed(elapsed, 0))/\(formatFixed(total, 0)) s"
        let latest = sampler?.latest.withLock { $0 } ?? [:]
        for key in latest.keys.sorted() {
            guard let reading = latest[key] else { continue }
            let component = String(key.split(separator: "|").first ?? "")
            func rate(_ name: String, _ value: Double) -> Double? {
                defer { previous["\(component)|\(name)"] = (reading.t, value) }
                guard let p = previous["\(component)|\(name)"], reading.t > p.t, value >= p.value else { return nil }
                return (value - p.value) / (Double(reading.t - p.t) / 1e9)
            }
            if let cpu = reading.cpuSeconds, let r = rate("cpu", cpu) {
                line += " | \(component) cpu \(formatFixed(r, 2))"
            }
            if let body = reading.status, let doc = JSON.parse(body) {
                for (label, path) in [
                    ("sent", "sent"), ("received", "logs.received"), ("received", "traces.received"),
                    ("received", "metrics.received"),
                ] {
                    if let v = doc.at(path)?.number, v > 0, let r = rate(path, v) {
                        line += " | \(component) \(label) \(formatRate(r))/s"
                    }
                }
            }
        }
        log(line)
    }

    func writeStatus(_ status: RunStatus) {
        var w = JSONWriter()
        w.beginObject()
        w.field("version", 1)
        w.field("suite", suite.name)
        w.field("status", status.rawValue)
        w.beginArray("tests")
        for t in testResults {
            w.beginObject()
            w.field("name", t.name)
            w.field("status", t.status.rawValue)
            if let e = t.error { w.field("error", e) } else { w.fieldNull("error") }
            w.endObject()
        }
        w.endArray()
        w.endObject()
        run.keep("status.json", w.text + "\n")
        run.keep("events.json", events.json)
    }
}

/// Facts about where the run ran, for the report.
func environmentFacts() -> [(String, String)] {
    var facts: [(String, String)] = []
    let cpuinfo = Procfs.read("/proc/cpuinfo") ?? ""
    if let model = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") })?.split(separator: ":")
        .last
    {
        facts.append(("cpu_model", String(model).trimmingSpaces))
    }
    facts.append(("cpus", String(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    var u = utsname()
    uname(&u)
    let release = withUnsafePointer(to: u.release) {
        $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
    }
    facts.append(("kernel", release))
    facts.append(("build", isDebugBuild ? "debug" : "release"))
    facts.append(("pipeperf_version", "0.1.0"))
    if let mem = (Procfs.read("/proc/meminfo") ?? "").split(separator: "\n").first(where: { $0.hasPrefix("MemTotal") })
    {
        facts.append(("memory", String(mem.split(separator: ":").last ?? "").trimmingSpaces))
    }
    return facts
}

/// The git commit, branch and dirty flag of the work tree holding `path` (git's own answers, each within
/// 5 s; nil commit when it is not a work tree or git is missing).
func gitFacts(_ path: String) -> (commit: String?, branch: String?, dirty: Bool) {
    func git(_ args: [String]) -> String? {
        let out = "/tmp/pipeperf-git-\(getpid()).out"
        defer { unlink(out) }
        guard
            let p = try? ChildProcess(
                command: ["git", "-C", path] + args, stdoutPath: out, stderrPath: "/dev/null")
        else { return nil }
        guard p.wait(timeoutNanos: 5_000_000_000) else {
            p.stop(graceNanos: 100_000_000)
            return nil
        }
        guard p.exitCode == 0, let text = Procfs.read(out) else { return nil }
        return text.trimmingSpaces
    }
    guard let commit = git(["rev-parse", "HEAD"]), commit.count == 40 else { return (nil, nil, false) }
    let branch = git(["rev-parse", "--abbrev-ref", "HEAD"])
    let dirty = !(git(["status", "--porcelain", "--untracked-files=no"]) ?? "").isEmpty
    return (commit, branch, dirty)
}

/// pipeperf's source folder when its binary runs from a build folder of it (.build/<config>/pipeperf).
func pipeperfSourceFolder() -> String? {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return nil }
    var dir = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    for _ in 0..<5 {
        guard let slash = dir.lastIndex(of: "/"), slash != dir.startIndex else { return nil }
        dir = String(dir[..<slash])
        if access("\(dir)/Package.swift", F_OK) == 0 && access("\(dir)/Sources/Orchestrator", F_OK) == 0 { return dir }
    }
    return nil
}
