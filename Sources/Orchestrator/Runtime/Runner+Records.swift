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
