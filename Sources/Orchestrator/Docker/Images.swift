// Images: building through the engine's /build (a tar context sent over the socket; the engine's
// classic builder, nothing pulled), and pipeperf's own images — one per role (loadgen, null-sink,
// fake-backend), FROM scratch with the stripped release binary, exactly the shared libraries `ldd`
// names for it, /etc/passwd and /etc/group for the non-root user, and Dockerfiles/<role>.Dockerfile.

import PipeperfBase
import AdminHTTP
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

extension DockerEngine {
    /// Builds `tag` from a tar context; the engine's progress stream is checked for errors.
    /// Returns the build's output lines (for the run folder's log).
    @discardableResult
    public func build(
        tag: String, context: [UInt8], dockerfile: String = "Dockerfile", args: [(String, String)] = [],
        target: String? = nil, labels: [(String, String)] = []
    ) throws(PipeperfError) -> String {
        var query = "/build?t=\(queryEscape(tag))&dockerfile=\(queryEscape(dockerfile))&rm=1&forcerm=1"
        if !args.isEmpty {
            query +=
                "&buildargs="
                + queryEscape(
                    JSON.object(Dictionary(args.map { ($0.0, JSON.string($0.1)) }, uniquingKeysWith: { $1 })).text)
        }
        if !labels.isEmpty {
            query +=
                "&labels="
                + queryEscape(
                    JSON.object(Dictionary(labels.map { ($0.0, JSON.string($0.1)) }, uniquingKeysWith: { $1 })).text)
        }
        if let target { query += "&target=\(queryEscape(target))" }
        let r = try request(
            "POST", query, body: context, contentType: "application/x-tar", timeoutNanos: 600_000_000_000)
        guard r.status == 200 else { throw PipeperfError(.docker, "building \(tag): \(r.message)", status: r.status) }
        var output = ""
        // One JSON document per line ("\r\n" is one Character in Swift: split the bytes).
        for line in r.body.split(separator: UInt8(ascii: "\n")) {
            guard let j = JSON.parse(bytes: line.filter { $0 != UInt8(ascii: "\r") }) else { continue }
            if let e = j["errorDetail"]?["message"]?.string ?? j["error"]?.string {
                throw PipeperfError(.docker, "building \(tag): \(e)")
            }
            if let s = j["stream"]?.string { output += s }
        }
        return output
    }

    /// The image's size in bytes, or nil when the engine does not have it.
    public func imageSize(_ name: String) throws(PipeperfError) -> Int? {
        let r = try request("GET", "/images/\(queryEscape(name))/json")
        if r.status == 404 { return nil }
        guard r.status == 200 else {
            throw PipeperfError(.docker, "inspecting image \(name): \(r.message)", status: r.status)
        }
        return r.json?["Size"]?.number.map { Int($0) }
    }
}

/// pipeperf's own images.
public enum PipeperfImages {
    public static let roles = ["loadgen", "null-sink", "fake-backend"]
    public static let version = "0.1.0"

    public static func tag(_ role: String) -> String { "pipeperf/\(role):\(version)" }

    /// Whether `image` is one of ours (built by pipeperf rather than pulled).
    public static func role(of image: String) -> String? {
        roles.first { image == tag($0) || image == "pipeperf/\($0)" || image == "pipeperf/\($0):latest" }
    }

    /// `Dockerfiles/`: the given folder, or the first one found walking up from the current folder and
    /// from the executable's folder.
    public static func dockerfilesDirectory(_ explicit: String? = nil) throws(PipeperfError) -> String {
        if let explicit {
            guard FileManager.default.fileExists(atPath: "\(explicit)/fake-backend.Dockerfile") else {
                throw PipeperfError(
                    .docker, "\(explicit) has no fake-backend.Dockerfile (expected pipeperf's Dockerfiles/ folder)")
            }
            return explicit
        }
        for start in [FileManager.default.currentDirectoryPath, ChildProcess.executableDirectory] {
            var dir = start
            while !dir.isEmpty {
                if FileManager.default.fileExists(atPath: "\(dir)/Dockerfiles/fake-backend.Dockerfile") {
                    return "\(dir)/Dockerfiles"
                }
                guard let slash = dir.lastIndex(of: "/") else { break }
                dir = String(dir[..<slash])
            }
        }
        throw PipeperfError(
            .docker, "cannot find pipeperf's Dockerfiles/ folder (run from the repository, or pass --dockerfiles DIR)")
    }

    /// The build context of `role`: its Dockerfile and rootfs/ (binary, libraries, passwd, group, tmp).
    public static func context(role: String, binary: String, dockerfile: String) throws(PipeperfError) -> [UInt8] {
        guard access(binary, X_OK) == 0 else {
            throw PipeperfError(
                .docker, "\(binary) is missing: build the release binaries first (scripts/swift-release)")
        }
        guard let df = FileManager.default.contents(atPath: dockerfile) else {
            throw PipeperfError(.docker, "cannot read \(dockerfile)")
        }
        let libraries = try sharedLibraries(of: binary)
        if let swift = libraries.first(where: { $0.0.contains("libswiftCore") }) {
            throw PipeperfError(
                .docker,
                "\(binary) links the Swift runtime dynamically (\(swift.1)): build it with scripts/swift-release, which links it statically"
            )
        }
        let stripped = "/tmp/pipeperf-image-\(getpid())-\(role)"
        defer { unlink(stripped) }
        _ = try runTool(["strip", "-o", stripped, binary])
        guard let bin = FileManager.default.contents(atPath: stripped) else {
            throw PipeperfError(.docker, "cannot read \(stripped)")
        }
        var tar = TarWriter()
        try tar.addFile("Dockerfile", [UInt8](df))
        var dirs: Set<String> = []
        func addParents(_ path: String, _ tar: inout TarWriter) throws(PipeperfError) {
            var parts = path.split(separator: "/").dropLast()
            var prefixes: [String] = []
            while !parts.isEmpty {
                prefixes.insert("rootfs/" + parts.joined(separator: "/"), at: 0); parts = parts.dropLast()
            }
            for p in prefixes where dirs.insert(p).inserted { try tar.addDirectory(p) }
        }
        try tar.addDirectory("rootfs")
        try addParents("/usr/local/bin/\(role)", &tar)
        try tar.addFile("rootfs/usr/local/bin/\(role)", [UInt8](bin), mode: 0o755)
        for (path, real) in libraries {
            guard let data = FileManager.default.contents(atPath: real) else {
                throw PipeperfError(.docker, "cannot read \(real)")
            }
            try addParents(path, &tar)
            try tar.addFile("rootfs" + path, [UInt8](data), mode: 0o755)
        }
        try addParents("/etc/passwd", &tar)
        try tar.addFile(
            "rootfs/etc/passwd",
            Array("root:x:0:0:root:/:/nonexistent\npipeperf:x:65532:65532:pipeperf:/nonexistent:/nonexistent\n".utf8))
        try tar.addFile("rootfs/etc/group", Array("root:x:0:\npipeperf:x:65532:\n".utf8))
        try tar.addDirectory("rootfs/tmp", mode: 0o1777)
        return tar.finish()
    }

    /// (path in the image, real file) for each shared library `ldd` lists for `binary` (the loader too).
    static func sharedLibraries(of binary: String) throws(PipeperfError) -> [(String, String)] {
        let out = try runTool(["ldd", binary])
        var libs: [(String, String)] = []
        for line in out.split(separator: "\n") {
            let t = String(line).trimmingSpaces
            if t.contains("not found") { throw PipeperfError(.docker, "ldd \(binary): \(t)") }
            var path: String? = nil
            if let arrow = t.range(of: "=> ") {
                path = t[arrow.upperBound...].split(separator: " ").first.map(String.init)
            } else if t.hasPrefix("/") {
                path = t.split(separator: " ").first.map(String.init)
            }
            guard let p = path, p.hasPrefix("/") else { continue }  // linux-vdso: in the kernel
            guard let real = realpath(p, nil) else {
                throw PipeperfError(.docker, "ldd \(binary): cannot resolve \(p)")
            }
            libs.append((p, String(cString: real)))
            free(real)
        }
        guard !libs.isEmpty else { throw PipeperfError(.docker, "ldd \(binary) listed no libraries: \(out)") }
        return libs
    }

    /// Builds each role's image (tag `pipeperf/ROLE:VERSION`, also `:latest`); returns (tag, size).
    public static func build(
        engine: DockerEngine, roles: [String] = roles, dockerfiles: String? = nil, binaries: String? = nil,
        log: (String) -> Void
    ) throws(PipeperfError) -> [(String, Int)] {
        let dir = try dockerfilesDirectory(dockerfiles)
        let bin = binaries ?? ChildProcess.executableDirectory
        var built: [(String, Int)] = []
        for role in roles {
            let start = SystemClock.monotonicNanos()
            let context = try context(role: role, binary: "\(bin)/\(role)", dockerfile: "\(dir)/\(role).Dockerfile")
            try engine.build(
                tag: tag(role), context: context,
                labels: [
                    ("org.opencontainers.image.title", "pipeperf \(role)"),
                    ("org.opencontainers.image.version", version),
                ])
            try engine.expect(
                "POST", "/images/\(queryEscape(tag(role)))/tag?repo=\(queryEscape("pipeperf/\(role)"))&tag=latest",
                what: "tagging \(tag(role))")
            let size = try engine.imageSize(tag(role)) ?? 0
            log(
                "pipeperf: image \(tag(role)): \(formatFixed(Double(size) / 1e6, 1)) MB, context \(formatFixed(Double(context.count) / 1e6, 1)) MB, "
                    + "\(formatFixed(Double(SystemClock.monotonicNanos() - start) / 1e9, 1)) s")
            built.append((tag(role), size))
        }
        return built
    }
}

/// Runs a tool to its end (at most 60 s) and returns its standard output; its error output on failure.
func runTool(_ argv: [String]) throws(PipeperfError) -> String {
    let base = "/tmp/pipeperf-tool-\(getpid())-\(SystemClock.monotonicNanos())"
    defer {
        unlink(base + ".out")
        unlink(base + ".err")
    }
    let p: ChildProcess
    do { p = try ChildProcess(command: argv, stdoutPath: base + ".out", stderrPath: base + ".err") } catch {
        throw PipeperfError(.docker, "\(argv[0]): \(error)")
    }
    guard p.wait(timeoutNanos: 60_000_000_000) else {
        p.stop(graceNanos: 1_000_000_000)
        throw PipeperfError(.docker, "\(argv.joined(separator: " ")) did not finish within 60 s")
    }
    let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
    guard p.exitCode == 0 else {
        let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        throw PipeperfError(
            .docker, "\(argv.joined(separator: " ")) ended with \(p.exitDescription): \(err.trimmingSpaces)")
    }
    return out
}
