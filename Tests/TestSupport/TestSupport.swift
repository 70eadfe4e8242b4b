// Helpers shared by the test targets that run real processes: finding the built executables and the
// repository, and running a program with bytes on stdin.

import Foundation

/// What a finished process left behind.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// stdout as text.
    public var out: String { String(decoding: stdout, as: UTF8.self) }
    /// stderr as text.
    public var err: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs a program found on PATH (or an absolute path) with `stdin`; stdout and stderr go through files,
/// so neither pipe can fill up and block.
public func runProcess(_ argv: [String], stdin: [UInt8] = []) throws -> ProcessResult {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeperf-proc-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let inURL = dir.appendingPathComponent("in"), outURL = dir.appendingPathComponent("out")
    let errURL = dir.appendingPathComponent("err")
    try Data(stdin).write(to: inURL)
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = argv
    p.standardInput = try FileHandle(forReadingFrom: inURL)
    p.standardOutput = try FileHandle(forWritingTo: outURL)
    p.standardError = try FileHandle(forWritingTo: errURL)
    try p.run()
    p.waitUntilExit()
    return ProcessResult(
        status: p.terminationStatus, stdout: Array(try Data(contentsOf: outURL)),
        stderr: Array(try Data(contentsOf: errURL)))
}

/// The package's built executables (next to the test bundle) and the repository.
public enum Built {
    public static var productsDirectory: URL {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The test runner may live inside a .xctest bundle directory.
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("loadgen").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }

    public static func executable(_ name: String) -> String { productsDirectory.appendingPathComponent(name).path }

    public static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }
}
