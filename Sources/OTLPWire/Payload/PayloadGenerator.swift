// Builds export requests of a given shape from a seed: the same shape and seed give the same request
// (and so the same bytes). Content is varied enough that compression ratios resemble real telemetry:
// bodies are words from a small vocabulary, attribute values come from `cardinality` distinct values.

/// Deterministic request generation.
public enum PayloadGenerator {
    /// The base timestamp of generated items before a template patches them (2024-01-01T00:00:00Z).
    public static let baseTimeUnixNano: UInt64 = 1_704_067_200_000_000_000
    /// Span duration and metric interval, also used when templates patch start times.
    public static let spanDurationNanos: UInt64 = 1_000_000
    public static let metricIntervalNanos: UInt64 = 10_000_000_000

    static let words: [String] = [
        "request", "served", "user", "login", "cache", "miss", "hit", "db", "query", "took", "ms", "status",
        "ok", "error", "retry", "timeout", "connection", "opened", "closed", "upstream", "payload", "bytes",
        "order", "created", "payment", "accepted", "shipping", "queued", "worker", "started", "finished", "job",
    ]
    static let severities: [(Int32, String)] = [
        (SeverityNumber.info, "INFO"), (SeverityNumber.info, "INFO"), (SeverityNumber.info, "INFO"),
        (SeverityNumber.debug, "DEBUG"), (SeverityNumber.warn, "WARN"), (SeverityNumber.error, "ERROR"),
    ]

    /// Splits `total` items over `groups` as evenly as possible.
    static func share(_ total: Int, _ groups: Int, _ index: Int) -> Int {
        total / groups + (index < total % groups ? 1 : 0)
    }

    static func text(_ size: Int, _ rng: inout SplitMix64) -> String {
        var out = [UInt8]()
        out.reserveCapacity(size)
        while out.count < size {
            if !out.isEmpty { out.append(UInt8(ascii: " ")) }
            out.append(contentsOf: words[rng.below(words.count)].utf8)
        }
        return String(decoding: out.prefix(size), as: UTF8.self)
    }

    /// A string of exactly `size` bytes identifying value `v` ("v" then digits, padded with letters).
    static func valueString(_ v: Int, _ size: Int) -> String {
        var s = Array("v\(v)".utf8)
        var pad = UInt8(ascii: "a")
        while s.count < size {
            s.append(pad)
            pad = pad == UInt8(ascii: "z") ? UInt8(ascii: "a") : pad + 1
        }
        return String(decoding: s.prefix(size), as: UTF8.self)
    }

    static func attributes(_ shape: PayloadShape, _ rng: inout SplitMix64) -> [KeyValue] {
        var out: [KeyValue] = []
        out.reserveCapacity(shape.attributes)
        for i in 0..<shape.attributes {
            let v = rng.below(shape.cardinality)
            let value: AnyValue
            switch i % 5 {
            case 0: value = .string(valueString(v, shape.attributeSize))
            case 1: value = .int(Int64(v))
            case 2: value = .double(Double(v) * 0.25)
            case 3: value = .bool(v % 2 == 0)
            default: value = .bytes(Array(valueString(v, shape.attributeSize).utf8))
            }
            out.append(KeyValue("attr.\(i)", value))
        }
        return out
    }

    static func resource(_ shape: PayloadShape, _ index: Int, _ runID: RunID?) -> Resource {
        let names = ["service.name", "service.instance.id", "host.name", "deployment.environment"]
        var attrs: [KeyValue] = []
        for i in 0..<shape.resourceAttributes {
            let key = i < names.count ? names[i] : "resource.attr.\(i)"
            let value = i == 0 ? "pipeperf-loadgen" : "\(key.split(separator: ".").last ?? "r")-\(index)"
            attrs.append(KeyValue(key, .string(value)))
        }
        return Resource(attributes: attrs, runID: shape.tracking ? runID : nil)
    }

    static func scope(_ index: Int) -> InstrumentationScope {
        InstrumentationScope(name: "pipeperf.loadgen.\(index)", version: "1.0.0")
    }

    /// Builds the resource / scope layout, calling `items(count, rng, firstSeq)` for each scope.
    static func layout<Item: OTLPItem>(
        _ shape: PayloadShape, seed: UInt64, runID: RunID?,
        items: (Int, inout SplitMix64, UInt64) -> [Item]
    ) -> ExportRequest<Item> {
        var rng = SplitMix64(seed: seed)
        let groups = shape.resources * shape.scopesPerResource
        var request = ExportRequest<Item>()
        var seq: UInt64 = 0
        for r in 0..<shape.resources {
            var ri = ResourceItems<Item>(resource: resource(shape, r, runID))
            for s in 0..<shape.scopesPerResource {
                let n = share(shape.batchSize, groups, r * shape.scopesPerResource + s)
                ri.scopes.append(ScopeItems(scope: scope(s), items: items(n, &rng, seq)))
                seq += UInt64(n)
            }
            request.resources.append(ri)
        }
        return request
    }

    static func tracking(_ shape: PayloadShape, _ seq: UInt64) -> ItemTracking? {
        shape.tracking ? ItemTracking(seq: seq, sentUnixNano: baseTimeUnixNano) : nil
    }

    /// An `ExportLogsServiceRequest` of `shape.batchSize` log records.
    public static func logs(_ shape: PayloadShape, seed: UInt64, runID: RunID? = nil) -> ExportLogsServiceRequest {
        layout(shape, seed: seed, runID: runID) { n, rng, first in
            (0..<n).map { i in
                let (sev, sevText) = severities[rng.below(severities.count)]
                return LogRecord(
                    timeUnixNano: baseTimeUnixNano, observedTimeUnixNano: baseTimeUnixNano,
                    severityNumber: sev, severityText: sevText, body: .string(text(shape.bodySize, &rng)),
                    attributes: attributes(shape, &rng), tracking: tracking(shape, first + UInt64(i)))
            }
        }
    }

    /// An `ExportTraceServiceRequest` of `shape.batchSize` spans, in traces of up to 8 spans (a root and
    /// its children).
    public static func traces(_ shape: PayloadShape, seed: UInt64, runID: RunID? = nil) -> ExportTraceServiceRequest {
        layout(shape, seed: seed, runID: runID) { n, rng, first in
            var spans: [Span] = []
            var traceID: [UInt8] = []
            var rootID: [UInt8] = []
            for i in 0..<n {
                let spanID = rng.bytes(8)
                if i % 8 == 0 {
                    traceID = rng.bytes(16)
                    rootID = spanID
                }
                let op = rng.below(shape.cardinality)
                spans.append(
                    Span(
                        traceID: traceID, spanID: spanID, parentSpanID: i % 8 == 0 ? [] : rootID,
                        name: "operation-\(op)", kind: i % 8 == 0 ? SpanKind.server : SpanKind.internal,
                        startTimeUnixNano: baseTimeUnixNano - spanDurationNanos, endTimeUnixNano: baseTimeUnixNano,
                        attributes: attributes(shape, &rng),
                        status: op % 10 == 0 ? SpanStatus(code: 2, message: "failed") : SpanStatus(code: 1),
                        tracking: tracking(shape, first + UInt64(i))))
            }
            return spans
        }
    }

    /// An `ExportMetricsServiceRequest` of `shape.batchSize` data points, `pointsPerMetric` per metric,
    /// cycling gauge, cumulative monotonic sum and cumulative histogram.
    public static func metrics(_ shape: PayloadShape, seed: UInt64, runID: RunID? = nil) -> ExportMetricsServiceRequest
    {
        layout(shape, seed: seed, runID: runID) { n, rng, first in
            var metrics: [Metric] = []
            var done = 0
            while done < n {
                let k = min(shape.pointsPerMetric, n - done)
                let kind = metrics.count % 3
                let start = baseTimeUnixNano - metricIntervalNanos
                let seq0 = first + UInt64(done)
                let name = "pipeperf.metric.\(rng.below(shape.cardinality))"
                switch kind {
                case 0, 1:
                    let points = (0..<k).map { i in
                        NumberDataPoint(
                            startTimeUnixNano: start, timeUnixNano: baseTimeUnixNano,
                            value: kind == 0
                                ? .double(Double(rng.below(10_000)) / 8) : .int(Int64(rng.below(1_000_000))),
                            attributes: attributes(shape, &rng), tracking: tracking(shape, seq0 + UInt64(i)))
                    }
                    metrics.append(
                        Metric(
                            name: name, description: kind == 0 ? "a gauge" : "a counter", unit: kind == 0 ? "1" : "By",
                            data: kind == 0
                                ? .gauge(points)
                                : .sum(points, temporality: AggregationTemporality.cumulative, monotonic: true)))
                default:
                    let bounds: [Double] = [1, 5, 10, 50, 100, 500]
                    let points = (0..<k).map { i in
                        let counts = (0...bounds.count).map { _ in UInt64(rng.below(100)) }
                        let total = counts.reduce(0, +)
                        return HistogramDataPoint(
                            startTimeUnixNano: start, timeUnixNano: baseTimeUnixNano, count: total,
                            sum: Double(total) * 12.5, bucketCounts: counts, explicitBounds: bounds,
                            attributes: attributes(shape, &rng), min: 0.5, max: 900,
                            tracking: tracking(shape, seq0 + UInt64(i)))
                    }
                    metrics.append(
                        Metric(
                            name: name, description: "a latency histogram", unit: "ms",
                            data: .histogram(points, temporality: AggregationTemporality.cumulative)))
                }
                done += k
            }
            return metrics
        }
    }
}
