import ArgumentParser
import PipeperfBase
import H2Transport
import OTLPGzip
import OTLPWire

/// `loadgen payload`: writes one gRPC-framed export request to a file, for h2load, curl or other tools.
public struct PayloadCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "payload",
        abstract: "Write one gRPC-framed OTLP export request to a file.",
        discussion: """
            The file holds a gRPC Length-Prefixed-Message: 1 byte compressed flag (0 or 1), the message \
            length as 4 bytes big-endian, then the protobuf message (gzip-compressed when the flag is 1). \
            Feed it to h2load (`h2load -d FILE -H 'content-type: application/grpc' -H 'te: trailers' ...`), \
            or strip the first 5 bytes for OTLP/HTTP. Items carry the tracking attributes unless \
            --no-tracking (see docs/tracking.md).
            """)

    @OptionGroup public var payload: PayloadOptions

    @Option(help: "Run id carried as pipeperf.run_id: 16 hexadecimal digits.")
    public var runId: String = "0000000000000000"

    @Option(help: "First sequence number (pipeperf.seq of the first item).")
    public var firstSeq: UInt64 = 0

    @Option(
        help:
            "Send time in Unix nanoseconds written into timestamps and pipeperf.sent_ns (default: now). Fix it to make files byte-for-byte reproducible."
    )
    public var sentNs: UInt64?

    @Option(name: .customLong("out"), help: "File to write.")
    public var out: String

    public init() {}

    public func validate() throws {
        guard RunID(hex: runId) != nil else {
            throw ValidationError("--run-id must be 16 hexadecimal digits (got '\(runId)')")
        }
        guard firstSeq <= UInt64(Int64.max) - UInt64(payload.batchSize) else {
            throw ValidationError("--first-seq plus --batch-size must stay below 2^63 (got \(firstSeq))")
        }
        if let sentNs, sentNs > UInt64(Int64.max) {
            throw ValidationError("--sent-ns must be below 2^63 (got \(sentNs))")
        }
        guard !out.isEmpty else { throw ValidationError("--out needs a file path") }
    }

    public func run() throws {
        let result = try PayloadWriter.write(
            shape: payload.shape, seed: payload.seed, runID: RunID(hex: runId) ?? RunID(0), firstSeq: firstSeq,
            sentUnixNano: sentNs, compression: payload.compression, to: out)
        print(result.summary)
    }
}

/// What `PayloadWriter.write` produced.
public struct PayloadFile: Sendable {
    public let path: String
    public let signal: Signal
    public let items: Int
    public let messageBytes: Int
    public let wireBytes: Int
    public let compression: Compression

    /// One line for people: what was written and how big it is per item.
    public var summary: String {
        let perItem = Double(messageBytes) / Double(max(items, 1))
        var s =
            "wrote \(path): \(signal.rawValue), \(items) \(items == 1 ? signal.itemNameSingular : signal.itemName), message \(messageBytes) bytes "
        s += "(\(formatted(perItem)) bytes per item)"
        if compression == .gzip { s += ", gzip \(wireBytes - GRPCFrame.headerSize) bytes" }
        s += ", file \(wireBytes) bytes"
        return s
    }

    private func formatted(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// Builds a request from a shape and writes it framed.
public enum PayloadWriter {
    /// Generates the request for `shape` and `seed`, stamps run id, sequence numbers and a send time,
    /// frames it (compressing when asked) and writes it atomically to `path`.
    public static func write(
        shape: PayloadShape, seed: UInt64, runID: RunID, firstSeq: UInt64 = 0, sentUnixNano: UInt64? = nil,
        compression: Compression, to path: String
    ) throws -> PayloadFile {
        let template = BatchTemplate(shape: shape, seed: seed, runID: runID)
        template.patch(firstSeq: firstSeq, sentUnixNano: sentUnixNano ?? SystemClock.unixNanos())
        let framed = WireBuffer(capacity: template.messageSize + GRPCFrame.headerSize)
        switch compression {
        case .none:
            template.withFramed { framed.assign($0) }
        case .gzip:
            framed.resize(to: GRPCFrame.headerSize)
            let gzip = try GzipCompressor()
            let n = template.withMessage { gzip.compress($0, appendingTo: framed) }
            framed.withUnsafeMutableBytes { GRPCFrame.storeHeader($0.baseAddress!, compressed: true, length: n) }
        }
        try framed.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(FileError) in
            try FileOutput.writeAtomically(b, to: path)
        }
        return PayloadFile(
            path: path, signal: shape.signal, items: template.itemCount, messageBytes: template.messageSize,
            wireBytes: framed.count, compression: compression)
    }
}
