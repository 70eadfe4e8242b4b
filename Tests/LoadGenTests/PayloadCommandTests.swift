import Foundation
import LoadGen
import OTLPGzip
import OTLPWire
import TestSupport
import Testing

/// Runs a program (see TestSupport.runProcess).
func run(_ argv: [String]) throws -> ProcessResult { try runProcess(argv) }

/// What our own scanner reads from a payload file.
func scanFile(
    _ path: String, _ signal: Signal
) throws -> (compressed: Bool, messageBytes: Int, counts: ScanCounts, seqs: [UInt64], runIDs: Set<UInt64>) {
    let file = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    let (compressed, message) = try file.withUnsafeBytes { raw -> (Bool, [UInt8]) in
        let r = try GRPCFrame.parseSingle(raw)
        return (r.compressed, Array(r.message))
    }
    var plain = message
    if compressed {
        let out = WireBuffer()
        let d = try GzipDecompressor()
        var failure: GzipError? = nil
        message.withUnsafeBytes { raw in
            do throws(GzipError) { _ = try d.decompress(raw, appendingTo: out, limit: 1 << 28) } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        plain = out.bytes
    }
    struct Seqs: TrackingVisitor {
        var seqs: [UInt64] = []
        var runs: Set<UInt64> = []
        mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?) {
            if let seq { seqs.append(seq) }
            if let runID { runs.insert(runID) }
        }
    }
    var v = Seqs()
    let counts = try plain.withUnsafeBytes { try OTLPScanner.scan(signal, $0, visitor: &v) }
    return (compressed, plain.count, counts, v.seqs, v.runs)
}

@Suite("loadgen payload (real process)", .timeLimit(.minutes(3)))
struct PayloadCommandTests {
    let dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("pipeperf-payload-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    /// Every file `loadgen payload` writes is parsed by the Python `opentelemetry-proto` package
    /// (an independent decoder) and by our scanner; both must count the same items.
    @Test("opentelemetry-proto parses every payload and counts the same items", arguments: Signal.allCases)
    func pythonDecoder(signal: Signal) throws {
        var files: [(String, Int, Bool)] = []
        for (i, (batch, gzip, extra)) in [
            (1, false, [String]()), (1000, false, []), (250, true, []),
            (64, false, ["--no-tracking"]),
            (300, true, ["--resources", "3", "--scopes", "2", "--attributes", "9", "--body-size", "500"]),
        ].enumerated() {
            let path = dir.appendingPathComponent("\(signal.rawValue)-\(i).bin").path
            let r = try run(
                [
                    Built.executable("loadgen"), "payload", "--signal", signal.rawValue, "--batch-size", "\(batch)",
                    "--compression", gzip ? "gzip" : "none", "--run-id", "00000000000000a\(i)", "--first-seq",
                    "\(i * 10_000)",
                    "--seed", "\(i + 7)", "--out", path,
                ] + extra)
            #expect(r.status == 0, "loadgen payload failed: \(r.err)")
            #expect(r.out.hasPrefix("wrote \(path): \(signal.rawValue), \(batch) "))
            files.append((path, batch, !extra.contains("--no-tracking")))
        }
        let script = Built.repository.appendingPathComponent("Tests/python/check_payloads.py").path
        let py = try run(["python3", script, "--signal", signal.rawValue] + files.map(\.0))
        #expect(py.status == 0, "check_payloads.py: \(py.err)")
        let lines = py.out.split(separator: "\n")
        #expect(lines.count == files.count)
        for (line, (path, batch, tracked)) in zip(lines, files) {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let ours = try scanFile(path, signal)
            #expect(json["items"] as? Int == batch)
            #expect(json["items"] as? Int == ours.counts.items)
            #expect(json["resources"] as? Int == ours.counts.resources)
            #expect(json["scopes"] as? Int == ours.counts.scopes)
            #expect(json["message_bytes"] as? Int == ours.messageBytes)
            #expect(json["compressed"] as? Bool == ours.compressed)
            #expect(json["tracked"] as? Int == (tracked ? batch : 0))
            #expect(json["tracked"] as? Int == ours.counts.tracked)
            if tracked {
                #expect(json["seq_min"] as? Int == ours.seqs.min().map(Int.init))
                #expect(json["seq_max"] as? Int == ours.seqs.max().map(Int.init))
                #expect(json["seq_distinct"] as? Int == Set(ours.seqs).count)
                let runIDs = try #require(json["run_ids"] as? [String])
                #expect(Set(runIDs.compactMap { RunID(hex: $0)?.value }) == ours.runIDs)
                #expect((json["sent_ns"] as? [Any])?.count == 1)
            }
        }
    }

    @Test("bad flags exit 64 and name the flag")
    func badFlags() throws {
        let out = dir.appendingPathComponent("x.bin").path
        let cases: [([String], String)] = [
            (["--batch-size", "0"], "--batch-size must be between 1 and 1000000 (got 0)"),
            (["--signal", "profiles"], "profiles"),
            (["--compression", "zstd"], "zstd"),
            (["--run-id", "xyz"], "--run-id must be 16 hexadecimal digits (got 'xyz')"),
            (["--attributes=-1"], "--attributes must be between 0 and 128 (got -1)"),
        ]
        for (args, message) in cases {
            let r = try run([Built.executable("loadgen"), "payload", "--out", out] + args)
            #expect(r.status == 64, "\(args)")
            #expect(r.err.contains(message), "\(args): \(r.err)")
        }
        let missing = try run([Built.executable("loadgen"), "payload"])
        #expect(missing.status == 64 && missing.err.contains("--out"))
    }

    @Test("an unwritable path is one clear error")
    func unwritable() throws {
        let r = try run([Built.executable("loadgen"), "payload", "--out", "/nonexistent-dir/p.bin"])
        #expect(r.status != 0)
        #expect(r.err.contains("cannot write /nonexistent-dir/p.bin: No such file or directory"), "\(r.err)")
    }

    @Test("h2load-ready: the file is one framed message whose length matches")
    func framing() throws {
        let path = dir.appendingPathComponent("framed.bin").path
        let r = try run([Built.executable("loadgen"), "payload", "--batch-size", "10", "--out", path])
        #expect(r.status == 0)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes[0] == 0)
        #expect(Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4]) == bytes.count - 5)
    }
}
