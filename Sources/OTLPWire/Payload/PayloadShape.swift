/// The shape of generated export requests. Every size is in bytes; a batch always counts items
/// (log records, spans or metric data points).
public struct PayloadShape: Sendable, Equatable, Codable {
    /// The signal to generate.
    public var signal: Signal = .logs
    /// Items per request: log records, spans or metric data points.
    public var batchSize: Int = 1000
    /// Bytes of each log record's string body (logs only).
    public var bodySize: Int = 64
    /// Attributes per item, besides the tracking attributes. Their kinds cycle through
    /// string, int, double, bool, bytes, so five or more attributes cover every AnyValue scalar kind.
    public var attributes: Int = 2
    /// Bytes of each string or bytes attribute value.
    public var attributeSize: Int = 8
    /// Attributes per resource, besides `pipeperf.run_id` (service.name first).
    public var resourceAttributes: Int = 3
    /// Resources per request; items are spread evenly over resources and scopes.
    public var resources: Int = 1
    /// Instrumentation scopes per resource.
    public var scopesPerResource: Int = 1
    /// Distinct values each attribute takes (and distinct span / metric names).
    public var cardinality: Int = 100
    /// Data points per metric (metrics only); metric kinds cycle gauge, sum, histogram.
    public var pointsPerMetric: Int = 10
    /// Carry the tracking attributes (`pipeperf.run_id`, `pipeperf.seq`, `pipeperf.sent_ns`).
    public var tracking: Bool = true

    public init() {}

    public init(signal: Signal, batchSize: Int) {
        self.signal = signal
        self.batchSize = batchSize
    }

    /// Accepted ranges, also used in help text and errors.
    public static let limits: [(name: String, range: ClosedRange<Int>)] = [
        ("batch-size", 1...1_000_000),
        ("body-size", 0...1_048_576),
        ("attributes", 0...128),
        ("attribute-size", 0...65_536),
        ("resource-attributes", 0...128),
        ("resources", 1...1_000),
        ("scopes", 1...1_000),
        ("cardinality", 1...1_000_000),
        ("points-per-metric", 1...10_000),
    ]

    /// Every value out of range, each as one message naming the option, e.g.
    /// `batch-size must be between 1 and 1000000 (got 0)`. Empty when the shape is valid.
    public func problems() -> [String] {
        let values = [
            batchSize, bodySize, attributes, attributeSize, resourceAttributes, resources,
            scopesPerResource, cardinality, pointsPerMetric,
        ]
        var out: [String] = []
        for (limit, value) in zip(PayloadShape.limits, values) where !limit.range.contains(value) {
            out.append(
                "\(limit.name) must be between \(limit.range.lowerBound) and \(limit.range.upperBound) (got \(value))")
        }
        if out.isEmpty && resources * scopesPerResource > batchSize {
            out.append(
                "resources × scopes (\(resources * scopesPerResource)) must not exceed batch-size (\(batchSize)): every scope holds at least one item"
            )
        }
        return out
    }
}
