// `monitoring: syslog_ng_ctl:` — syslog-ng's own counters, from `syslog-ng-ctl stats -c SOCKET` run
// once per interval. Its answer is CSV, `SourceName;SourceId;SourceInstance;State;Type;Number`:
//
//     src.syslog;s_tcp#0;tcp,127.0.0.1;a;processed;81100
//     dst.syslog;d_fwd#0;tcp,127.0.0.1:14603;a;written;81100
//
// each row the series `syslogng_<SourceName>_<Type>{id="<SourceId>",instance="<SourceInstance>"}`
// (`.` and other characters become `_`): `syslogng_src_syslog_processed`,
// `syslogng_dst_syslog_written`, `syslogng_dst_syslog_dropped`, `syslogng_dst_syslog_queued`, … —
// names a component's `hops` can point at.

import FoundationEssentials
import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

struct SyslogNGMonitor: MonitorStrategy {
    var socket: String
    var ctl = "syslog-ng-ctl"
    var intervalNanos: UInt64 = 1_000_000_000

    static let info = StrategyInfo(
        name: "syslog_ng_ctl", summary: "syslog-ng's counters (syslog-ng-ctl stats), read each interval",
        keys: [
            KeySpec(
                "socket", "path", required: true,
                "syslog-ng's control socket (its -c/--control option); relative to the run folder"),
            KeySpec("ctl", "string", default: "syslog-ng-ctl", "the syslog-ng-ctl program"),
            KeySpec("interval", "duration", default: "1s", "between readings"),
        ])

    static var scrapes: Bool { true }

    static func read(_ o: ObjectReader, context: ReadContext) -> SyslogNGMonitor? {
        let interval = monitorInterval(o, context)
        guard let socket = o.string("socket") else { return nil }
        var m = SyslogNGMonitor(socket: socket, intervalNanos: interval ?? 1_000_000_000)
        if let c = o.string("ctl") { m.ctl = c }
        return m
    }

    func problem(with deployment: any DeploymentStrategy) -> String? { nil }

    func source(
        component: Component, deployed: (any LiveDeployment)?, in run: RunContext
    ) throws(PipeperfError) -> (any SampleSource)? {
        SyslogNGSource(
            ctl: run.resolve(ctl), socket: socket.hasPrefix("/") ? socket : "\(run.folder.path)/\(socket)",
            output: run.folder.file("logs/\(component.name).syslog-ng-ctl"))
    }

    /// Counters whose value only grows (the rest are levels: queued, connections, sizes, rates).
    static let counters: Set<String> = [
        "processed", "dropped", "written", "suppressed", "discarded", "matched", "not_matched", "truncated_count",
        "truncated_bytes", "stamp",
    ]

    /// The series of a `syslog-ng-ctl stats` answer (rows that are not six fields with a number are skipped).
    static func parse(_ text: String) -> [PrometheusSample] {
        var out: [PrometheusSample] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 6, let v = Double(f[5]) else { continue }
            out.append(
                PrometheusSample(
                    name: "syslogng_\(ImpstatsMonitor.metricName(f[0]))_\(ImpstatsMonitor.metricName(f[4]))",
                    labels: [("id", f[1]), ("instance", f[2])], value: v,
                    type: counters.contains(f[4]) ? "counter" : "gauge"))
        }
        return out
    }
}

final class SyslogNGSource: SampleSource {
    let ctl: String
    let socket: String
    let output: String
    init(ctl: String, socket: String, output: String) {
        self.ctl = ctl
        self.socket = socket
        self.output = output
    }
    var name: String { "syslog_ng_ctl" }

    func read() -> SampleReading? {
        guard access(socket, F_OK) == 0,
            let p = try? ChildProcess(
                command: [ctl, "stats", "-c", socket], stdoutPath: output, stderrPath: output + ".stderr")
        else { return nil }
        guard p.wait(timeoutNanos: 2_000_000_000), p.exitCode == 0 else {
            p.stop(graceNanos: 0)
            return nil
        }
        guard let text = try? String(contentsOfFile: output, encoding: .utf8) else { return nil }
        let parsed = SyslogNGMonitor.parse(text)
        return parsed.isEmpty ? nil : SampleReading.scraped(parsed)
    }
}
