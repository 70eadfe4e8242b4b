import Foundation

/// A sink process (`null-sink` or `fake-backend`) on free ports, read from its start line
/// ("NAME: grpc listening on H:P, http listening on H:P, admin on H:P").
public final class SinkProcess {
    public let process = Process()
    public let grpcPort: Int
    public let httpPort: Int
    public let adminPort: Int
    let out: URL

    /// Starts `binary` with gRPC and OTLP/HTTP on free ports (or `grpcPort` for gRPC) plus `extra` flags.
    public init(_ binary: String, _ extra: [String] = [], grpcPort port: Int = 0) throws {
        out = FileManager.default.temporaryDirectory.appendingPathComponent("\(binary)-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: Built.executable(binary))
        process.arguments = ["--grpc", "127.0.0.1:\(port)", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0"] + extra
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = FileHandle.nullDevice
        try process.run()
        var found: (Int, Int, Int)? = nil
        for _ in 0..<200 {
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            func port(after label: String) -> Int? {
                guard let r = text.range(of: label) else { return nil }
                return text[r.upperBound...].split(separator: ",").first?.split(separator: ":").last
                    .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            if let g = port(after: "grpc listening on "), let h = port(after: "http listening on "),
                let a = port(after: "admin on ")
            {
                found = (g, h, a)
                break
            }
            usleep(25_000)
        }
        guard let found else {
            process.terminate()
            throw CocoaError(.fileReadUnknown)
        }
        (grpcPort, httpPort, adminPort) = found
    }

    /// GET /status as JSON.
    public func status(query: String = "") throws -> [String: Any] {
        let r = try runProcess(
            [
                "curl", "-s", "--max-time", "10",
                "http://127.0.0.1:\(adminPort)/status\(query.isEmpty ? "" : "?" + query)",
            ])
        return (try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]) ?? [:]
    }

    /// One per-signal field of /status (-1 when absent).
    public func count(_ signal: String, _ key: String) throws -> Int {
        ((try status())[signal] as? [String: Any])?[key] as? Int ?? -1
    }

    /// An admin request: method, path, optional JSON body; returns the body.
    public func admin(_ method: String, _ path: String, _ body: String? = nil) throws -> String {
        var argv = ["curl", "-s", "-X", method, "http://127.0.0.1:\(adminPort)\(path)"]
        if let body { argv += ["-H", "content-type: application/json", "-d", body] }
        return try runProcess(argv).out
    }

    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: out)
    }
}
