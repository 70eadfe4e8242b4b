// Against the real Docker engine (scripts/docker-engine starts one; scripts/build-images builds the
// images from the release binaries): images, the docker deployment and monitoring, errors, SIGINT, gc.
// On CI (CI=true) these run always (a missing engine fails them); elsewhere they are skipped, with a
// line saying why, when the engine's socket ($DOCKER_HOST's unix path, else /var/run/docker.sock) is absent.

import PipeperfBase
import AdminHTTP
import Foundation
import TestSupport
import Testing

@testable import Orchestrator

let dockerSocket = (try? DockerEngine())?.socketPath ?? "/var/run/docker.sock"
let dockerAvailable =
    ProcessInfo.processInfo.environment["CI"] == "true" || FileManager.default.fileExists(atPath: dockerSocket)
let dockerSuite = suitesDir + "/docker/limits.yaml"

func engine() throws -> DockerEngine {
    let e = try DockerEngine()
    try e.ping()
    for role in PipeperfImages.roles where try e.imageSize(PipeperfImages.tag(role)) == nil {
        Issue.record("the engine has no \(PipeperfImages.tag(role)): run scripts/build-images first")
    }
    return e
}

/// Containers (all states) carrying `label` (a key, or key=value).
func labelled(_ e: DockerEngine, _ label: String) throws -> [JSON] {
    let filter = queryEscape("{\"label\":[\"\(label)\"]}")
    return try e.expect("GET", "/containers/json?all=true&filters=\(filter)", what: "list").json?.array ?? []
}

func networkExists(_ e: DockerEngine, _ name: String) throws -> Bool {
    try e.request("GET", "/networks/\(name)").status == 200
}

/// The run id a run folder stands for (its last two path components).
func runID(_ folder: String) -> String { folder.split(separator: "/").suffix(2).joined(separator: "/") }

/// Runs a plain container (no pipeperf labels unless given).
@discardableResult
func startContainer(
    _ e: DockerEngine, name: String, image: String = "pipeperf/null-sink:0.1.0", labels: [String: String] = [:]
) throws -> String {
    _ = try? e.request("DELETE", "/containers/\(name)?force=true")
    let body = JSON.object([
        "Image": .string(image), "Labels": .object(labels.mapValues { .string($0) }),
        "Cmd": .array([.string("--admin"), .string("127.0.0.1:8081")]),
    ])
    let id =
        try e.expect("POST", "/containers/create?name=\(name)", body: body, what: "create").json?["Id"]?.string ?? ""
    try e.expect("POST", "/containers/\(id)/start", what: "start")
    return id
}

/// Starts `pipeperf run` on the limits suite with a long window and waits until both containers run.
func startLongDockerRun(_ e: DockerEngine, _ results: String) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Built.executable("pipeperf"))
    p.arguments = [
        "run", "-c", dockerSuite, "--docker.no-build", "--set", "window=60s", "--set", "load_for=90s", "--results",
        results,
    ]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    var running = 0
    for _ in 0..<300 {
        running = try labelled(e, "pipeperf.pid=\(p.processIdentifier)").filter { $0["State"]?.string == "running" }
            .count
        if running == 2 { break }
        usleep(100_000)
    }
    #expect(running == 2, "both containers of the run came up")
    return p
}

@Suite(
    "Docker (real engine)", .serialized,
    .enabled(
        if: dockerAvailable,
        "no Docker engine socket at \(dockerSocket) (scripts/docker-engine starts one; with CI=true these tests always run)"
    ), .timeLimit(.minutes(10)))
struct DockerTests {
    @Test("images: FROM scratch under 30 MB, non-root, with a health command and exactly the libraries ldd lists")
    func images() throws {
        let e = try engine()
        for role in PipeperfImages.roles {
            let r = try e.expect("GET", "/images/\(PipeperfImages.tag(role))/json", what: "inspect")
            let image = try #require(r.json)
            let size = Int(image["Size"]?.number ?? 0)
            #expect(size > 1_000_000 && size < 30_000_000, "\(role): \(size) bytes")
            #expect(image.at("Config.User")?.string == "65532:65532")
            #expect(
                image.at("Config.Healthcheck.Test")?.array.map { $0.string ?? "" } == [
                    "CMD", "/usr/local/bin/\(role)", "healthcheck",
                    role == "loadgen" ? "127.0.0.1:8080" : "127.0.0.1:8081",
                ])
        }
        // The files of the fake-backend image, from the engine's export of a container made from it.
        let id =
            try e.expect(
                "POST", "/containers/create", body: .object(["Image": .string(PipeperfImages.tag("fake-backend"))]),
                what: "create"
            ).json?["Id"]?.string ?? ""
        defer { _ = try? e.request("DELETE", "/containers/\(id)?force=true") }
        let tar = try e.request("GET", "/containers/\(id)/export").body
        var files: [String] = []
        var i = 0
        while i + 512 <= tar.count {
            let name = String(decoding: tar[i..<(i + 100)].prefix { $0 != 0 }, as: UTF8.self)
            if name.isEmpty { break }
            let sizeField = String(decoding: tar[(i + 124)..<(i + 135)].prefix { $0 != 0 }, as: UTF8.self)
            let size = Int(sizeField.trimmingCharacters(in: .whitespaces), radix: 8) ?? 0
            if tar[i + 156] == UInt8(ascii: "0") { files.append("/" + name) }
            i += 512 + (size + 511) / 512 * 512
        }
        let libs = try PipeperfImages.sharedLibraries(
            of: Built.repository.appendingPathComponent(".build/release/fake-backend").path
        ).map(\.0)
        // The engine adds its own mount points to every container (/.dockerenv, /etc/hosts, …).
        let engineMade: Set<String> = [
            "/.dockerenv", "/dev/console", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf",
        ]
        #expect(
            Set(files).subtracting(engineMade)
                == Set(libs + ["/usr/local/bin/fake-backend", "/etc/passwd", "/etc/group"]), "\(files.sorted())")
        #expect(!libs.contains { $0.contains("swift") }, "the Swift runtime is linked in: \(libs)")
    }

    @Test("deploy and destroy leave no container or network; a CPU limit shows in the measured CPU; logs are kept")
    func deployAndLimits() throws {
        let e = try engine()
        var cores: [String: Double] = [:]
        var throttled: [String: Double] = [:]
        for cpus in ["0.25", "1.5"] {
            let results = try tempDir("pp-docker")
            let r = try pipeperf(
                ["run", "-c", dockerSuite, "--docker.no-build", "--set", "cpus=\(cpus)"], results: results)
            #expect(r.status == 0, "\(r.out)\n\(r.err)")
            let folder = try runFolder(results)
            #expect(try labelled(e, "pipeperf.run=\(runID(folder))").isEmpty, "no container of the run is left")
            #expect(try !networkExists(e, "pipeperf-test-net"), "the network the run created is removed")
            let events = (try json("\(folder)/events.json")["events"] as? [[String: Any]] ?? []).compactMap {
                $0["name"] as? String
            }
            for name in [
                "network_created", "container_started", "container_healthy", "container_removed", "network_removed",
            ] {
                #expect(events.contains(name), "\(name) in \(events)")
            }
            let summary = try String(contentsOfFile: "\(folder)/logs/burner.stdout", encoding: .utf8)
            #expect(
                summary.contains("acked"), "loadgen's summary saved from the container's log: \(summary.prefix(200))")
            let report = try json("\(folder)/report.json")
            let test = try #require((report["tests"] as? [[String: Any]])?.first)
            let burner = try #require((test["components"] as? [String: [String: Any]])?["burner"], "\(test)")
            #expect(burner["source"] as? String == "docker")
            cores[cpus] = burner["cpu_cores_avg"] as? Double ?? -1
            throttled[cpus] = try #require(
                burner["cpu_throttled_s"] as? Double, "CFS throttling is reported: \(burner)")
            if cpus == "0.25" {
                #expect(throttled[cpus]! > 0, "CFS throttling recorded: \(burner)")
                #expect((burner["net_tx_bytes_per_s"] as? Double ?? 0) > 1_000_000, "\(burner)")
            }
        }
        // A limit the burner does not reach throttles it far less than one it does (not never: the
        // scheduler may still cut a period short on a busy machine).
        #expect(throttled["1.5"]! < throttled["0.25"]! / 4, "throttled seconds by limit: \(throttled)")
        // A quarter core stays binding even when other tests share the machine's two cores.
        // What the limits guarantee, not how fast this machine is today: the quarter core is an upper bound
        // that binds (the burner is throttled under it and uses more without it).
        #expect(cores["0.25"]! > 0 && cores["0.25"]! < 0.28, "limited to a quarter core: \(cores)")
        #expect(cores["1.5"]! > cores["0.25"]!, "the same burner without a binding limit uses more: \(cores)")
    }

    @Test(
        "a taken host port, a missing image and a name in use are clear errors; a dead run's container of the same name is replaced"
    )
    func errors() throws {
        let e = try engine()
        // Hold a host port.
        let (fd, port) = Rsyslog.boundSocket(Int32(SOCK_STREAM.rawValue))
        defer { close(fd) }
        listen(fd, 1)
        let results = try tempDir("pp-docker-err")
        let taken = try pipeperf(
            ["run", "-c", dockerSuite, "--docker.no-build", "--set", "admin_port=\(port)"], results: results)
        #expect(taken.status == 1)
        #expect(
            taken.out.contains("component 'sink': a published port is taken (127.0.0.1:\(port)/tcp)"),
            "\(taken.out)\n\(taken.err)")
        #expect(try labelled(e, "pipeperf.run=\(runID(try runFolder(results)))").isEmpty)
        let results2 = try tempDir("pp-docker-err")
        let missing = try pipeperf(
            ["run", "-c", dockerSuite, "--docker.no-build", "--set", "sink_image=pipeperf-test/missing:1"],
            results: results2)
        #expect(missing.status == 1)
        #expect(
            missing.out.contains(
                "component 'sink': the engine has no image pipeperf-test/missing:1, and pipeperf does not pull images"),
            "\(missing.out)\n\(missing.err)")
        #expect(try !networkExists(e, "pipeperf-test-net"))
        // A container of the same name: one a dead pipeperf run left is replaced, anyone else's is an error.
        let stale = try startContainer(
            e, name: "pipeperf-test-sink",
            labels: [
                RunLabels.run: "test/stale", RunLabels.pid: "999999",
                RunLabels.pidStart: "1", RunLabels.boot: RunLabels.bootID,
            ])
        let results3 = try tempDir("pp-docker-err")
        let replaced = try pipeperf(
            ["run", "-c", dockerSuite, "--docker.no-build", "--set", "load_for=2s", "--set", "window=1s"],
            results: results3)
        #expect(replaced.status == 0, "\(replaced.out)\n\(replaced.err)")
        #expect(try e.request("GET", "/containers/\(stale)/json").status == 404, "the stale container was removed")
        let events = (try json("\(try runFolder(results3))/events.json")["events"] as? [[String: Any]] ?? []).compactMap
        { $0["name"] as? String }
        #expect(events.contains("stale_container_removed"))
        let foreign = try startContainer(e, name: "pipeperf-test-sink")
        defer { _ = try? e.request("DELETE", "/containers/\(foreign)?force=true") }
        let refused = try pipeperf(
            ["run", "-c", dockerSuite, "--docker.no-build"], results: try tempDir("pp-docker-err"))
        #expect(
            refused.status == 1
                && refused.out.contains("a container named pipeperf-test-sink exists and was not made by pipeperf"),
            "\(refused.out)")
        #expect(
            try e.expect("GET", "/containers/\(foreign)/json", what: "inspect").json?.at("State.Running")
                == .bool(true), "left alone")
    }

    @Test("SIGINT mid-run removes every container of the run and leaves other containers alone")
    func interrupt() throws {
        let e = try engine()
        let bystander = try startContainer(e, name: "pipeperf-test-bystander")
        defer { _ = try? e.request("DELETE", "/containers/\(bystander)?force=true") }
        let results = try tempDir("pp-docker-int")
        let p = try startLongDockerRun(e, results)
        usleep(1_000_000)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        #expect(try labelled(e, "pipeperf.pid=\(p.processIdentifier)").isEmpty, "every container of the run is removed")
        #expect(try !networkExists(e, "pipeperf-test-net"))
        let other = try e.expect("GET", "/containers/\(bystander)/json", what: "inspect").json
        #expect(other?.at("State.Running") == .bool(true), "the bystander container still runs")
        let folder = try runFolder(results)
        #expect(try json("\(folder)/status.json")["status"] as? String == "aborted")
        #expect(FileManager.default.fileExists(atPath: "\(folder)/logs/burner.stdout"), "the container's logs are kept")
    }

    @Test(
        "a kill -9 of the orchestrator leaves its containers and network, which the next run names and pipeperf gc removes"
    )
    func killedThenGC() throws {
        let e = try engine()
        let p = try startLongDockerRun(e, try tempDir("pp-docker-kill"))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let left = try labelled(e, "pipeperf.pid=\(p.processIdentifier)")
        #expect(left.count == 2, "the engine has no parent-death signal: the containers outlive a kill -9")
        #expect(try networkExists(e, "pipeperf-test-net"))
        // The next run that uses the engine points at them.
        let next = try pipeperf(
            ["run", "-c", suitesDir + "/docker/build.yaml"], results: try tempDir("pp-docker-kill"))
        #expect(
            next.status == 0 && next.err.contains("left by pipeperf runs that are no longer alive")
                && next.err.contains("pipeperf gc"),
            "\(next.err)")
        let dry = try runProcess([Built.executable("pipeperf"), "gc", "--dry-run"])
        #expect(
            dry.out.contains("would remove container pipeperf-test-sink")
                && dry.out.contains("would remove network pipeperf-test-net"), "\(dry.out)")
        let r = try runProcess([Built.executable("pipeperf"), "gc"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(try labelled(e, "pipeperf.pid=\(p.processIdentifier)").isEmpty)
        #expect(try !networkExists(e, "pipeperf-test-net"))
    }

    @Test("no engine, or a DOCKER_HOST that is not a unix socket: one clear error")
    func noEngine() throws {
        let missing = try runProcess([
            "/usr/bin/env", "DOCKER_HOST=unix:///tmp/pipeperf-no-engine.sock", Built.executable("pipeperf"), "gc",
        ])
        #expect(
            missing.status == 1 && missing.err.contains("no Docker engine answers on /tmp/pipeperf-no-engine.sock")
                && missing.err.contains("scripts/docker-engine"), "\(missing.err)")
        let tcp = try runProcess([
            "/usr/bin/env", "DOCKER_HOST=tcp://127.0.0.1:2375", Built.executable("pipeperf"), "images", "build",
        ])
        #expect(
            tcp.status == 1
                && tcp.err.contains(
                    "DOCKER_HOST=tcp://127.0.0.1:2375: pipeperf talks to the engine over a unix socket only"),
            "\(tcp.err)")
    }

    @Test("build: a context folder built through the engine with args and a target stage, then deployed")
    func build() throws {
        let e = try engine()
        _ = try? e.request("DELETE", "/images/pipeperf-test/built:1?force=true")
        let results = try tempDir("pp-docker-build")
        let r = try pipeperf(["run", "-c", suitesDir + "/docker/build.yaml"], results: results)
        #expect(r.status == 0, "\(r.out)\n\(r.err)")
        let image = try e.expect("GET", "/images/pipeperf-test/built:1/json", what: "inspect").json
        #expect(
            image?.at("Config.Labels")?["org.pipeperf.test.flavour"] == .string("spicy"),
            "the build argument reached the build")
        let folder = try runFolder(results)
        #expect(
            try String(contentsOfFile: "\(folder)/logs/sink.build", encoding: .utf8).contains("Step"),
            "the build output is kept")
        let skipped = try pipeperf(
            ["run", "-c", suitesDir + "/docker/build.yaml", "--docker.no-build"],
            results: try tempDir("pp-docker-build"))
        #expect(skipped.status == 0, "the image built before is used as is: \(skipped.out)")
        _ = try? e.request("DELETE", "/images/pipeperf-test/built:1?force=true")
        let missing = try pipeperf(
            ["run", "-c", suitesDir + "/docker/build.yaml", "--docker.no-build"],
            results: try tempDir("pp-docker-build"))
        #expect(
            missing.status == 1
                && missing.out.contains("it is built from build.context; run without --docker.no-build"),
            "\(missing.out)")
    }

    @Test("pipeperf gc removes what dead runs left and keeps what live runs own")
    func gc() throws {
        let e = try engine()
        let boot = RunLabels.bootID
        let dead = try startContainer(
            e, name: "pipeperf-test-gc-dead",
            labels: [
                RunLabels.run: "test/dead", RunLabels.pid: "999999",
                RunLabels.pidStart: "1", RunLabels.boot: boot,
            ])
        let me = getpid()
        let live = try startContainer(
            e, name: "pipeperf-test-gc-live",
            labels: [
                RunLabels.run: "test/live", RunLabels.pid: String(me),
                RunLabels.pidStart: RunLabels.startTime(of: me) ?? "", RunLabels.boot: boot,
            ])
        defer {
            _ = try? e.request("DELETE", "/containers/\(dead)?force=true")
            _ = try? e.request("DELETE", "/containers/\(live)?force=true")
        }
        let dry = try runProcess([Built.executable("pipeperf"), "gc", "--dry-run"])
        #expect(
            dry.status == 0 && dry.out.contains("would remove container pipeperf-test-gc-dead"), "\(dry.out)\(dry.err)")
        #expect(!dry.out.contains("pipeperf-test-gc-live"))
        let r = try runProcess([Built.executable("pipeperf"), "gc"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(try e.request("GET", "/containers/\(dead)/json").status == 404, "the dead run's container is gone")
        #expect(try e.request("GET", "/containers/\(live)/json").status == 200, "the live run's container is kept")
    }
}

@Suite("Docker pieces")
struct DockerPieceTests {
    @Test("port and size forms; the tar writer's headers; the log demultiplexer")
    func pieces() throws {
        #expect(try Values.portMapping("8080").get() == PortMapping(hostPort: 8080, containerPort: 8080))
        #expect(
            try Values.portMapping("0.0.0.0:9000:80/udp").get()
                == PortMapping(hostIP: "0.0.0.0", hostPort: 9000, containerPort: 80, proto: "udp"))
        #expect(try Values.portMapping("127.0.0.1::80").get().hostPort == 0)
        for bad in ["80/sctp", "1:2:3:4", "x:80", "70000", "300.1.1.1:80:80", ""] {
            #expect(throws: PipeperfError.self, "\(bad)") { try Values.portMapping(bad).get() }
        }
        #expect(
            Values.byteSize("256m") == 256 << 20 && Values.byteSize("1g") == 1 << 30 && Values.byteSize("1024") == 1024)
        #expect(Values.byteSize("-1m") == nil && Values.byteSize("lots") == nil)
        var t = TarWriter()
        try t.addFile(String(repeating: "d", count: 60) + "/" + String(repeating: "f", count: 60), [1, 2, 3])
        var tooLong = TarWriter()
        #expect(throws: PipeperfError.self) { try tooLong.addFile("a/" + String(repeating: "b", count: 120), []) }
        let bytes = t.finish()
        #expect(bytes.count == 512 + 512 + 1024)
        let sum = bytes[0..<512].enumerated().reduce(0) { $0 + (148..<156 ~= $1.offset ? 32 : Int($1.element)) }
        #expect(Int(String(decoding: bytes[148..<154], as: UTF8.self), radix: 8) == sum, "the header checksum")
        #expect(
            String(decoding: bytes[345..<405], as: UTF8.self) == String(repeating: "d", count: 60),
            "a long name is split into prefix and name")
        let frames: [UInt8] =
            [1, 0, 0, 0, 0, 0, 0, 2] + Array("hi".utf8) + [2, 0, 0, 0, 0, 0, 0, 3] + Array("err".utf8)
        let (out, err) = demuxDockerLogs(frames)
        #expect(String(decoding: out, as: UTF8.self) == "hi" && String(decoding: err, as: UTF8.self) == "err")
    }

    @Test("the JSON reader: values, escapes, surrogate pairs; malformed documents are rejected")
    func jsonReader() {
        let j = JSON.parse(#"{"a": [1, -2.5e3, true, null, "x\"\u00e9\ud83d\ude00"], "b": {"c": 0}}"#)
        #expect(j?.at("b.c")?.number == 0)
        #expect(j?["a"]?.array == [.number(1), .number(-2500), .bool(true), .null, .string("x\"é😀")])
        #expect(JSON.parse(j!.text) == j, "what it writes it reads back")
        for bad in [
            "", "{", "[1,]", "{\"a\" 1}", "01", "1 2", "\"\\ud800\"", "\"a\u{01}\"", "tru",
            "[" + String(repeating: "[", count: 600),
        ] {
            #expect(JSON.parse(bad) == nil, "\(bad.prefix(20))")
        }
    }
}
