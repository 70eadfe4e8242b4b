// `monitoring: impstats:` — rsyslog's own counters. rsyslog's impstats module writes every counter
// it keeps once per interval to a file (`module(load="impstats" format="json" log.file=…)`), one JSON
// object per line after a time stamp: `{ "name": "in_tcp(514)", "origin": "imtcp", "submitted": 42 }`.
// The monitor reads what was appended since its last reading and keeps each counter's latest value as
// the series `rsyslog_<origin>_<field>{name="<name>"}` (`.` and other characters become `_`):
// `rsyslog_imtcp_submitted`, `rsyslog_imudp_submitted`, `rsyslog_core_action_processed`,
// `rsyslog_core_action_failed`, `rsyslog_core_queue_size`, `rsyslog_omfwd_bytes_sent`, … — names a
// component's `hops` can point at, like a Prometheus endpoint's.

import AdminHTTP
import Glibc
import PipeperfBase
import Synchronization

struct ImpstatsMonitor: MonitorStrategy {
    var file: String
    var intervalNanos: UInt64 = 1_000_000_000

    static let info = StrategyInfo(
        name: "impstats", summary: "rsyslog's impstats counters, read from the file it writes (format json)",
        keys: [
            KeySpec(
                "file", "path", required: true,
                "the file rsyslog's impstats writes (log.file, format=\"json\"); relative to the run folder"),
            KeySpec("interval", "duration", default: "1s", "between readings (set impstats' interval to 1 or less)"),
        ])

    static var scrapes: Bool { true }

    static func read(_ o: ObjectReader, context: ReadContext) -> ImpstatsMonitor? {
        let interval = monitorInterval(o, context)
        guard let file = o.string("file") else { return nil }
        if file.isEmpty { context.diags.add(o.location("file"), o.sub("file"), "the file must not be empty") }
        return ImpstatsMonitor(file: file, intervalNanos: interval ?? 1_000_000_000)
    }

    func problem(with deployment: any DeploymentStrategy) -> String? { nil }

    func source(
        component: Component, deployed: (any LiveDeployment)?, in run: RunContext
    ) throws(PipeperfError) -> (any SampleSource)? {
        ImpstatsSource(path: file.hasPrefix("/") ? file : "\(run.folder.path)/\(file)")
    }

    /// Counters whose value is a level, not a running total.
    static let gauges: Set<String> = ["size", "maxqsize", "maxrss", "openfiles"]

    /// The series of one impstats line (nil when it is not one), each field a sample.
    static func parse(line: Substring) -> [PrometheusSample]? {
        guard let brace = line.firstIndex(of: "{"), let doc = JSON.parse(String(line[brace...])),
            let name = doc["name"]?.string, let origin = doc["origin"]?.string, case .object(let fields) = doc
        else { return nil }
        var out: [PrometheusSample] = []
        for (field, value) in fields.sorted(by: { $0.key < $1.key }) {
            guard let v = value.number else { continue }
            out.append(
                PrometheusSample(
                    name: "rsyslog_\(metricName(origin))_\(metricName(field))", labels: [("name", name)], value: v,
                    type: gauges.contains(field) ? "gauge" : "counter"))
        }
        return out
    }

    /// `core.action` → `core_action`: letters, digits and `_`.
    static func metricName(_ s: String) -> String {
        String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }
}

/// Reads the impstats file from where it left off; the latest value of every counter seen so far.
final class ImpstatsSource: SampleSource {
    let path: String
    struct State {
        var offset: Int = 0
        var partial: [UInt8] = []
        var latest: [String: PrometheusSample] = [:]
        var order: [String] = []
    }
    let state = Mutex(State())
    /// Starts at the file's end: what an earlier rsyslog of the run wrote there is not this test's
    /// (impstats counters are running totals, so the next block has everything).
    init(path: String) {
        self.path = path
        var st = stat()
        if stat(path, &st) == 0 { state.withLock { $0.offset = Int(st.st_size) } }
    }
    var name: String { "impstats" }
    var silence: String {
        var st = stat()
        guard stat(path, &st) == 0 else {
            return
                "\(path) was never written (rsyslog writes it when its config loads impstats with log.file=\"\(path)\" format=\"json\")"
        }
        return
            "\(path) holds no impstats JSON lines (format=\"json\" gives one `{\"name\": …, \"origin\": …}` object per line)"
    }

    func read() -> SampleReading? {
        state.withLock { s -> SampleReading? in
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }  // not written yet
            defer { Glibc.close(fd) }
            var st = stat()
            if fstat(fd, &st) == 0 && Int(st.st_size) < s.offset {
                s.offset = 0  // rotated or truncated: read it again from the start
                s.partial = []
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(s.offset)) }
                if n <= 0 { break }
                s.offset += n
                s.partial += chunk[0..<n]
            }
            // Whole lines only; the rest waits for the next reading.
            guard let lastNewline = s.partial.lastIndex(of: UInt8(ascii: "\n")) else {
                return s.latest.isEmpty ? nil : SampleReading.scraped(s.order.compactMap { s.latest[$0] })
            }
            let text = String(decoding: s.partial[...lastNewline], as: UTF8.self)
            s.partial.removeSubrange(...lastNewline)
            for line in text.split(separator: "\n") {
                for sample in ImpstatsMonitor.parse(line: line) ?? [] {
                    if s.latest.updateValue(sample, forKey: sample.series) == nil { s.order.append(sample.series) }
                }
            }
            return s.latest.isEmpty ? nil : SampleReading.scraped(s.order.compactMap { s.latest[$0] })
        }
    }
}
