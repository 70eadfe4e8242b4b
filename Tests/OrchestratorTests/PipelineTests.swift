// Real pipelines: third-party agents between loadgen and fake-backend, run end to end from the ready
// suites — rsyslog (imtcp/imudp → omfwd, its impstats counters in the hops) and nginx as a gRPC gateway
// (grpc_pass, its stub_status request counters in the hops, a matrix over its workers) and the
// OpenTelemetry Python SDK as the load (the `sdk` execution) — and the parsers of the agents' own
// counters on the text those agents write.

import AdminHTTP
import Foundation
import TestSupport
import Testing

@testable import Orchestrator

@Suite("agent counters", .timeLimit(.minutes(2)))
struct AgentCounterTests {
    @Test("impstats lines (format json, as log.file writes them) become rsyslog_<origin>_<field> series")
    func impstats() throws {
        let line =
            #"Thu Dec  3 18:13:39 2026: { "name": "fwd", "origin": "core.action", "processed": 81100, "failed": 0, "suspended": 0, "suspended.duration": 0, "resumed": 0 }"#
        let s = try #require(ImpstatsMonitor.parse(line: Substring(line)))
        #expect(s.map(\.series).contains("rsyslog_core_action_processed{name=\"fwd\"}"))
        #expect(s.first { $0.name == "rsyslog_core_action_processed" }?.value == 81100)
        #expect(s.first { $0.name == "rsyslog_core_action_suspended_duration" }?.type == "counter")
        let queue = try #require(
            ImpstatsMonitor.parse(
                line:
                    #"Thu Dec  3 18:13:39 2026: { "name": "main Q", "origin": "core.queue", "size": 12, "enqueued": 40 }"#
            ))
        #expect(queue.first { $0.name == "rsyslog_core_queue_size" }?.type == "gauge")
        let udp = try #require(
            ImpstatsMonitor.parse(
                line:
                    #"x: { "name": "in_udp(127.0.0.1\/15515\/IPv4)", "origin": "imudp", "submitted": 7, "disallowed": 0 }"#
            ))
        #expect(udp.map(\.series).contains("rsyslog_imudp_submitted{name=\"in_udp(127.0.0.1/15515/IPv4)\"}"))
        #expect(ImpstatsMonitor.parse(line: "rsyslogd: started") == nil)
        #expect(ImpstatsMonitor.parse(line: #"t: { "values": { } }"#) == nil, "no name and origin")
    }

    @Test("the impstats source reads what was appended since its last reading, whole lines only")
    func impstatsIncremental() throws {
        let dir = try tempDir("pp-impstats")
        let file = "\(dir)/stats.json"
        try "t: { \"name\": \"in\", \"origin\": \"imtcp\", \"submitted\": 5 }\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let source = ImpstatsSource(path: file)  // starts at the end: the earlier line is not this test's
        #expect(source.read() == nil)
        let h = try #require(FileHandle(forWritingAtPath: file))
        h.seekToEndOfFile()
        h.write(
            Data("t: { \"name\": \"in\", \"origin\": \"imtcp\", \"submitted\": 9 }\nt: { \"name\": \"in\", \"ori".utf8))
        func series(_ r: SampleReading?) -> JSON? {
            guard let r else { return nil }
            var w = JSONWriter()
            w.beginObject()
            r.fields(&w)
            w.endObject()
            return JSON.parse(w.text)?["series"]
        }
        #expect(series(source.read())?["rsyslog_imtcp_submitted{name=\"in\"}"]?.number == 9)
        h.write(Data("gin\": \"imtcp\", \"submitted\": 12 }\n".utf8))
        try h.close()
        #expect(series(source.read())?["rsyslog_imtcp_submitted{name=\"in\"}"]?.number == 12, "the split line joined")
    }

    @Test("an impstats file never written: the run says so (stderr, event, report note), not an empty series")
    func impstatsNeverWritten() throws {
        let results = try tempDir("pp-silent")
        let r = try pipeperf(["run", "-c", suitesDir + "/good/silent-monitor.yaml"], results: results)
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        #expect(r.err.contains("agent: its impstats monitor read nothing"), "\(r.err)")
        let folder = try runFolder(results)
        let events = try json("\(folder)/events.json")["events"] as? [[String: Any]] ?? []
        let silent = events.filter { $0["name"] as? String == "monitor_silent" }
        #expect(silent.count == 1, "only impstats is silent; the process monitor read: \(silent)")
        let t = try #require((try json("\(folder)/report.json")["tests"] as? [[String: Any]])?.first)
        let notes = t["notes"] as? [String] ?? []
        #expect(notes.contains { $0.contains("impstats-never-written.json was never written") }, "\(notes)")
    }

    @Test("syslog-ng-ctl stats (CSV) becomes syslogng_<source>_<type> series; the header and odd rows are skipped")
    func syslogNG() throws {
        let text = """
            SourceName;SourceId;SourceInstance;State;Type;Number
            src.syslog;s_tcp#0;tcp,127.0.0.1;a;processed;81800
            dst.syslog;d_fwd#0;tcp,127.0.0.1:14603;a;written;81800
            dst.syslog;d_fwd#0;tcp,127.0.0.1:14603;a;queued;12
            global;msg_clones;;a;processed;0
            not;a;row
            """
        let s = SyslogNGMonitor.parse(text)
        #expect(s.count == 4)
        #expect(s.map(\.series).contains("syslogng_src_syslog_processed{id=\"s_tcp#0\",instance=\"tcp,127.0.0.1\"}"))
        #expect(s.first { $0.name == "syslogng_dst_syslog_written" }?.value == 81800)
        #expect(s.first { $0.name == "syslogng_dst_syslog_written" }?.type == "counter")
        #expect(s.first { $0.name == "syslogng_dst_syslog_queued" }?.type == "gauge")
    }

    @Test("a stub_status page becomes nginx-prometheus-exporter's series; anything else is not one")
    func stubStatus() throws {
        let page =
            "Active connections: 3 \nserver accepts handled requests\n 5 5 172 \nReading: 0 Writing: 1 Waiting: 2 \n"
        let s = try #require(StubStatusMonitor.parse(page))
        let values = Dictionary(uniqueKeysWithValues: s.map { ($0.name, $0.value) })
        #expect(values["nginx_http_requests_total"] == 172 && values["nginx_connections_active"] == 3)
        #expect(values["nginx_connections_waiting"] == 2 && values["nginx_connections_accepted"] == 5)
        #expect(s.first { $0.name == "nginx_http_requests_total" }?.type == "counter")
        #expect(StubStatusMonitor.parse("<html>404</html>") == nil)
    }
}

@Suite("real pipelines (rsyslog, nginx, the OpenTelemetry SDK)", .serialized, .timeLimit(.minutes(4)))
struct PipelineTests {
    /// Runs suites/NAME.yaml with `extra` arguments into a fresh results folder, expecting it to pass.
    func runSuite(_ name: String, _ extra: [String]) throws -> String {
        let results = try tempDir("pp-\(name.replacingOccurrences(of: "/", with: "-"))")
        let suite = Built.repository.appendingPathComponent("suites/\(name).yaml").path
        let r = try pipeperf(["run", "-c", suite] + extra, results: results)
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        return results
    }

    func report(_ results: String) throws -> [[String: Any]] {
        let folder = try runFolder(results)
        return try json("\(folder)/report.json")["tests"] as? [[String: Any]] ?? []
    }

    func hops(_ t: [String: Any]) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for h in t["hops"] as? [[String: Any]] ?? [] { out[h["component"] as? String ?? ""] = h }
        return out
    }

    @Test("suites/rsyslog.yaml over TCP: nothing lost, rsyslog's impstats counters in the hops add up")
    func rsyslogTCP() throws {
        let results = try runSuite("rsyslog", ["--tests", "tcp", "--set", "warmup=1s", "--set", "observe=2s"])
        let t = try #require(try report(results).first)
        let h = hops(t)
        let sent = try #require(h["load"]?["out"] as? Double)
        #expect(sent > 10_000)
        #expect(h["rsyslog"]?["in"] as? Double == sent && h["rsyslog"]?["out"] as? Double == sent, "\(h)")
        #expect(h["rsyslog"]?["from"] as? String == "hops" && h["rsyslog"]?["failed"] as? Double == 0)
        #expect(h["backend"]?["in"] as? Double == sent && h["backend"]?["lost"] as? Double == 0)
        // Every impstats counter is a scraped metric of the component too.
        let metrics = (t["components"] as? [String: Any]).flatMap { ($0["rsyslog"] as? [String: Any])?["metrics"] }
        #expect((metrics as? [String: Any])?.keys.contains("rsyslog_imtcp_submitted") == true, "\(metrics ?? "none")")
    }

    @Test("suites/syslog-ng.yaml over TCP (syslog-ng unpacked by install-deps): nothing lost, its counters in the hops")
    func syslogNGTCP() throws {
        let results = try runSuite("syslog-ng", ["--tests", "tcp", "--set", "warmup=1s", "--set", "observe=2s"])
        let t = try #require(try report(results).first)
        let h = hops(t)
        let sent = try #require(h["load"]?["out"] as? Double)
        #expect(sent > 10_000)
        #expect(h["syslogng"]?["in"] as? Double == sent && h["syslogng"]?["out"] as? Double == sent, "\(h)")
        #expect(h["syslogng"]?["failed"] as? Double == 0 && h["backend"]?["in"] as? Double == sent)
        let logs = (t["throughput"] as? [String: Any])?["logs"] as? [String: Any] ?? [:]
        #expect(logs["missing"] as? Int == 0, "the tracking structured data survived syslog-ng")
    }

    @Test("suites/rsyslog.yaml over UDP with a small receive buffer: the loss is measured at the rsyslog hop")
    func rsyslogUDP() throws {
        let results = try runSuite(
            "rsyslog",
            [
                "--tests", "udp", "--set", "warmup=1s", "--set", "observe=2s", "--set", "rate=60k", "--set",
                "udp_rcvbuf=64k",
            ])
        let t = try #require(try report(results).first)
        let h = hops(t)
        let sent = try #require(h["load"]?["out"] as? Double)
        let got = try #require(h["rsyslog"]?["in"] as? Double)
        // Whatever the kernel dropped is the rsyslog hop's loss, exactly; past rsyslog (TCP) nothing.
        #expect(h["rsyslog"]?["lost"] as? Double == sent - got, "\(h)")
        #expect(h["backend"]?["in"] as? Double == h["rsyslog"]?["out"] as? Double)
        #expect(h["backend"]?["lost"] as? Double == 0)
        print("rsyslog over UDP at 60k/s, 64 KiB receive buffer: \(Int(sent - got)) of \(Int(sent)) lost")
    }

    @Test("suites/nginx-grpc-gateway.yaml: each worker count passes; nginx's requests in the hops; workers reach nginx")
    func nginxGateway() throws {
        let results = try runSuite(
            "nginx-grpc-gateway", ["--set", "warmup=1s", "--set", "observe=2s", "--set", "rate=20k"])
        let tests = try report(results)
        #expect(tests.map { $0["name"] as? String ?? "" } == ["gateway[workers=1]", "gateway[workers=2]"])
        for t in tests {
            let h = hops(t)
            let batches = try #require(h["load"]?["requests"] as? Double)
            // nginx counts the exports it passed on plus the monitor's own readings of stub_status.
            let served = try #require(h["gateway"]?["requests"] as? Double)
            #expect(served >= batches && served <= batches + 30, "\(h)")
            #expect(h["backend"]?["requests"] as? Double == batches && h["backend"]?["lost"] as? Double == 0)
        }
        // The matrix value reaches the rendered nginx.conf: a master and `workers` worker processes.
        let folder = try runFolder(results)
        let events =
            JSON.parse(try String(contentsOfFile: "\(folder)/events.json", encoding: .utf8))?["events"]?.array ?? []
        let starts = events.filter { $0["name"]?.string == "test_start" }.compactMap { e in
            e["test"]?.string.flatMap { name in e["time_unix_nano"]?.number.map { (name, $0) } }
        }
        let samples = try String(contentsOfFile: "\(folder)/samples.jsonl", encoding: .utf8)
        var processes: [String: Int] = [:]
        for line in samples.split(separator: "\n") {
            guard let s = JSON.parse(String(line)), s["component"]?.string == "gateway",
                s["source"]?.string == "process",
                let t = s["t"]?.number, let n = s["processes"]?.number,
                let test = starts.last(where: { $0.1 <= t })?.0
            else { continue }
            processes[test] = Swift.max(processes[test] ?? 0, Int(n))
        }
        #expect(processes == ["gateway[workers=1]": 2, "gateway[workers=2]": 3], "\(processes)")
    }

    @Test("suites/otel-sdk-python.yaml: SDK logs over gRPC and spans over OTLP/HTTP, every exported record counted")
    func sdk() throws {
        let results = try runSuite(
            "otel-sdk-python", ["--set", "warmup=1s", "--set", "observe=2s", "--set", "rate=1k"])
        let folder = try runFolder(results)
        let tests = try report(results)
        #expect(tests.map { $0["name"] as? String ?? "" } == ["logs-grpc", "traces-http"])
        for t in tests {
            let name = t["name"] as? String ?? ""
            let load = try #require((t["loads"] as? [[String: Any]])?.first)
            #expect(
                load["source"] as? String == "sdk"
                    && load["signal"] as? String == (name == "logs-grpc" ? "logs" : "traces"))
            let h = hops(t)
            let sent = try #require(h["sdk"]?["out"] as? Double)
            #expect(sent > 1_500 && h["sdk"]?["from"] as? String == "sdk")
            #expect(h["backend"]?["in"] as? Double == sent && h["backend"]?["lost"] as? Double == 0, "\(h)")
            // The SDK batches: the corrected latency includes its schedule delay (200 ms in the suite).
            let p50 = (t["latency_ms"] as? [String: Any])?["p50"] as? Double ?? 0
            #expect(p50 > 1 && p50 < 5_000, "\(t["latency_ms"] ?? "none")")
            let summary = try json("\(folder)/tests/\(name)/sdk.sdk.json")
            #expect(summary["processes"] as? Int == 2 && summary["dropped_by_sdk"] as? Int == 0, "\(summary)")
            let emitters = summary["emitters"] as? [[String: Any]] ?? []
            #expect(Set(emitters.compactMap { $0["run_id"] as? String }).count == 2, "a run id per emitter")
        }
    }

    @Test("scenarios/backpressure.yaml: the backend slows mid-test; latency rises, the ledger still balances")
    func backpressure() throws {
        let results = try runSuite(
            "scenarios/backpressure",
            ["--set", "warmup=1s", "--set", "before=2s", "--set", "slow=3s", "--set", "after=5s"])
        let t = try #require(try report(results).first)
        let h = hops(t)
        let sent = try #require(h["load"]?["out"] as? Double)
        #expect(h["backend"]?["in"] as? Double == sent && h["backend"]?["lost"] as? Double == 0, "\(h)")
        // Per second: while the backend read slowly the backlog made p99 hundreds of milliseconds.
        let folder = try runFolder(results)
        var worst = 0.0
        for line in try String(contentsOfFile: "\(folder)/samples.jsonl", encoding: .utf8).split(separator: "\n") {
            guard let s = JSON.parse(String(line)), s["component"]?.string == "backend" else { continue }
            for x in s.at("status.latency_seconds")?.array ?? [] {
                worst = Swift.max(worst, x.at("latency_ms.p99")?.number ?? 0)
            }
        }
        #expect(worst >= 100, "the slow episode shows in the latency over time: worst p99 \(worst) ms")
    }

    @Test("scenarios/protocols.yaml: gRPC and OTLP/HTTP through nginx, plain and gzip; gzip sends fewer bytes")
    func protocols() throws {
        let results = try runSuite(
            "scenarios/protocols", ["--set", "warmup=1s", "--set", "observe=2s", "--set", "rate=5k"])
        let tests = try report(results)
        #expect(tests.map { $0["name"] as? String ?? "" } == ["grpc", "grpc-gzip", "http", "http-gzip"])
        var bytes: [String: Double] = [:]
        for t in tests {
            let logs = (t["throughput"] as? [String: Any])?["logs"] as? [String: Any] ?? [:]
            bytes[t["name"] as? String ?? ""] = logs["bytes_per_item"] as? Double
            #expect(hops(t)["backend"]?["lost"] as? Double == 0)
        }
        #expect((bytes["grpc-gzip"] ?? 1e9) < (bytes["grpc"] ?? 0) / 2, "\(bytes)")
        #expect((bytes["http-gzip"] ?? 1e9) < (bytes["http"] ?? 0) / 2, "\(bytes)")
    }

    @Test(
        "suites/otelcol.yaml without a collector here: the deploy names the missing binary, the config renders, nothing is left"
    )
    func otelcolWithoutCollector() throws {
        let results = try tempDir("pp-otelcol")
        let suite = Built.repository.appendingPathComponent("suites/otelcol.yaml").path
        let r = try pipeperf(
            ["run", "-c", suite, "--set", "collector=/nonexistent/otelcol-contrib", "--set", "observe=1s"],
            results: results)
        #expect(r.status != 0 && r.err.contains("/nonexistent/otelcol-contrib"), "\(r.err)")
        let folder = try runFolder(results)
        let config = try String(contentsOfFile: "\(folder)/rendered/otelcol.yaml", encoding: .utf8)
        for endpoint in [
            "endpoint: 127.0.0.1:14472", "endpoint: 127.0.0.1:14471", "endpoint: 127.0.0.1:14473", "port: 14474",
        ] {
            #expect(config.contains(endpoint), "\(endpoint) in\n\(config)")
        }
        #expect(try startedPids(folder).allSatisfy { !alive($0) })
    }

    @Test("a mid-test reconfiguration: nginx's config rendered again and taken up on SIGHUP switches backends")
    func reload() throws {
        let results = try tempDir("pp-reload")
        let r = try pipeperf(["run", "-c", suitesDir + "/good/reload.yaml"], results: results)
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        let folder = try runFolder(results)
        let load = try json("\(folder)/tests/switch/load.loadgen.json")
        let acked = try #require(load["acked"] as? Int)
        func received(_ backend: String) throws -> Int {
            let s = try json("\(folder)/tests/switch/\(backend).snapshot")
            return (s["logs"] as? [String: Any])?["received"] as? Int ?? -1
        }
        let (a, b) = (try received("a"), try received("b"))
        #expect(a > 1_000 && b > 1_000, "both backends got part of the load: a \(a), b \(b)")
        // nginx's old workers finish what they hold, so nothing acknowledged is lost in the switch.
        #expect(a + b == acked, "a \(a) + b \(b) == acked \(acked)")
        let events = (try json("\(folder)/events.json")["events"] as? [[String: Any]] ?? []).compactMap {
            $0["name"] as? String
        }
        #expect(events.contains("configuration_updated") && events.contains("reloaded"))
        let config = try String(contentsOfFile: "\(folder)/rendered/nginx.conf", encoding: .utf8)
        #expect(config.contains("server 127.0.0.1:14499;"), "the config was rendered again with b's port")
    }

    @Test("a mid-test change of deployment: the gateway's cores read again, a restart puts it on two CPUs")
    func redeploy() throws {
        let results = try tempDir("pp-redeploy")
        let r = try pipeperf(["run", "-c", suitesDir + "/good/redeploy.yaml"], results: results)
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        let folder = try runFolder(results)
        let events = try json("\(folder)/events.json")["events"] as? [[String: Any]] ?? []
        let started = events.filter {
            $0["name"] as? String == "process_started" && $0["component"] as? String == "gateway"
        }
        .compactMap { ($0["attributes"] as? [String: Any])?["cpus"] as? String }
        #expect(started.count == 2, "deployed, then deployed again: \(started)")
        #expect(started.first?.split(separator: ",").count == 1 && started.last?.split(separator: ",").count == 2)
        #expect(events.contains { $0["name"] as? String == "deployment_updated" })
        // The window opens after the restart: the load flows through the new gateway, and the report
        // gives it the allotment it ran with.
        let t = try #require((try json("\(folder)/report.json")["tests"] as? [[String: Any]])?.first)
        let gateway = (t["components"] as? [String: Any])?["gateway"] as? [String: Any]
        #expect(gateway?["allotment_cores"] as? Double == 2)
        let backend = try json("\(folder)/tests/widen/backend.snapshot")
        let received = (backend["logs"] as? [String: Any])?["received"] as? Int ?? -1
        let acked = try #require(try json("\(folder)/tests/widen/load.loadgen.json")["acked"] as? Int)
        #expect(acked > 10_000 && received >= acked, "received \(received), acked \(acked)")
    }
}

@Suite("replicas", .serialized, .timeLimit(.minutes(3)))
struct ReplicaTests {
    @Test("two load generators, each through its own nginx copy, into one backend: each copy kept, the sum balances")
    func fanIn() throws {
        let suite = try SuiteLoader.load(path: suitesDir + "/good/fan-in.yaml")
        #expect(suite.components.map(\.name) == ["backend", "gateway-1", "gateway-2", "load-1", "load-2"])
        #expect(suite.expand("load") == ["load-1", "load-2"] && suite.expand("backend") == ["backend"])
        let results = try tempDir("pp-fan-in")
        let r = try pipeperf(["run", "-c", suitesDir + "/good/fan-in.yaml"], results: results)
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        let folder = try runFolder(results)
        let t = try #require((try json("\(folder)/report.json")["tests"] as? [[String: Any]])?.first)
        var acked = 0
        for k in 1...2 {
            let l = try json("\(folder)/tests/fan-in/load-\(k).loadgen.json")
            let a = try #require(l["acked"] as? Int)
            #expect(a > 5_000, "load-\(k) ran: \(a)")
            acked += a
        }
        var hops: [String: [String: Any]] = [:]
        for h in t["hops"] as? [[String: Any]] ?? [] { hops[h["component"] as? String ?? ""] = h }
        #expect(hops.keys.sorted() == ["backend", "gateway", "load"], "copies summed into one stage each: \(hops)")
        #expect(hops["load"]?["out"] as? Double == Double(acked) && hops["load"]?["replicas"] as? Int == 2)
        #expect(hops["gateway"]?["replicas"] as? Int == 2 && (hops["gateway"]?["requests"] as? Double ?? 0) > 0)
        #expect(hops["backend"]?["in"] as? Double == Double(acked) && hops["backend"]?["lost"] as? Double == 0)
        let components = t["components"] as? [String: Any] ?? [:]
        for name in ["load-1", "load-2", "gateway-1", "gateway-2", "load", "gateway"] {
            #expect(components[name] != nil, "\(name) in the report's components")
        }
        let sum = (components["load"] as? [String: Any])?["cpu_cores_avg"] as? Double ?? -1
        let parts = ["load-1", "load-2"].compactMap { (components[$0] as? [String: Any])?["cpu_cores_avg"] as? Double }
        #expect(parts.count == 2 && Swift.abs(sum - parts.reduce(0, +)) < 0.0015, "\(sum) = \(parts)")
    }
}

@Suite("suite templates")
struct SuiteTemplateTests {
    @Test("from_template at the top: the other suite's keys, this one's name and variables winning")
    func wrapped() throws {
        let s = try SuiteLoader.load(path: suitesDir + "/good/wrapped.yaml")
        let base = try SuiteLoader.load(path: suitesDir + "/good/gateway.yaml")
        #expect(s.name == "gateway-7k")
        #expect(s.components.map(\.name) == base.components.map(\.name) && s.tests.count == base.tests.count)
        #expect(s.variables["rate"] == .text("7k") && s.variables["observe"] == .text("3s"))
        #expect(s.variables["gateway_port"] == base.variables["gateway_port"], "the template's other variables stay")
        let overridden = try SuiteLoader.load(path: suitesDir + "/good/wrapped.yaml", overrides: [("rate", "9k")])
        #expect(overridden.variables["rate"] == .text("9k"), "--set still wins")
    }
}
