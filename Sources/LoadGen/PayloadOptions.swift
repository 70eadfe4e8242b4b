import ArgumentParser
import OTLPWire

extension Signal: ExpressibleByArgument {}

/// Payload compression on the wire.
public enum Compression: String, Sendable, CaseIterable, ExpressibleByArgument, Codable {
    case none, gzip
}

/// The payload-shape options shared by `loadgen payload` and the load run.
public struct PayloadOptions: ParsableArguments, Sendable {
    @Option(help: "Signal to generate: logs, traces or metrics.")
    public var signal: Signal = .logs

    @Option(help: "Items per request: log records, spans or metric data points (1-1000000).")
    public var batchSize: Int = 1000

    @Option(help: "Bytes of each log body (0-1048576; logs only).")
    public var bodySize: Int = 64

    @Option(
        help: "Attributes per item besides the tracking ones (0-128); kinds cycle string, int, double, bool, bytes.")
    public var attributes: Int = 2

    @Option(help: "Bytes of each string or bytes attribute value (0-65536).")
    public var attributeSize: Int = 8

    @Option(help: "Attributes per resource besides pipeperf.run_id (0-128).")
    public var resourceAttributes: Int = 3

    @Option(help: "Resources per request (1-1000).")
    public var resources: Int = 1

    @Option(help: "Instrumentation scopes per resource (1-1000).")
    public var scopes: Int = 1

    @Option(help: "Distinct values per attribute, span name and metric name (1-1000000).")
    public var cardinality: Int = 100

    @Option(help: "Data points per metric (1-10000; metrics only).")
    public var pointsPerMetric: Int = 10

    @Option(help: "Seed of the payload generator: the same seed gives the same bytes.")
    public var seed: UInt64 = 1

    @Flag(help: "Leave out the tracking attributes (pipeperf.run_id, pipeperf.seq, pipeperf.sent_ns).")
    public var noTracking = false

    @Option(help: "Compression of the message: none or gzip.")
    public var compression: Compression = .none

    public init() {}

    /// The shape these options describe.
    public var shape: PayloadShape {
        var s = PayloadShape()
        s.signal = signal
        s.batchSize = batchSize
        s.bodySize = bodySize
        s.attributes = attributes
        s.attributeSize = attributeSize
        s.resourceAttributes = resourceAttributes
        s.resources = resources
        s.scopesPerResource = scopes
        s.cardinality = cardinality
        s.pointsPerMetric = pointsPerMetric
        s.tracking = !noTracking
        return s
    }

    public func validate() throws {
        let problems = shape.problems()
        if !problems.isEmpty { throw ValidationError(problems.map { "--" + $0 }.joined(separator: "\n")) }
    }
}
