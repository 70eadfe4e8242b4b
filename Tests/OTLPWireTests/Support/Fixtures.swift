import OTLPWire

/// Random shapes for property-style tests (small batches keep protoc fast).
func randomShape(_ signal: Signal, _ rng: inout SplitMix64) -> PayloadShape {
    var s = PayloadShape(signal: signal, batchSize: 1 + rng.below(120))
    s.bodySize = rng.below(200)
    s.attributes = rng.below(12)
    s.attributeSize = rng.below(40)
    s.resourceAttributes = rng.below(6)
    s.resources = 1 + rng.below(3)
    s.scopesPerResource = 1 + rng.below(3)
    if s.resources * s.scopesPerResource > s.batchSize { s.resources = 1; s.scopesPerResource = 1 }
    s.cardinality = 1 + rng.below(50)
    s.pointsPerMetric = 1 + rng.below(15)
    s.tracking = rng.below(4) != 0
    return s
}

/// Hand-made requests that use every field the encoders support, including values at the edges.
enum Rich {
    static let everyValue: [KeyValue] = [
        KeyValue("s", .string("héllo \"quoted\" \n\t\\ ünïcødé 🎉")),
        KeyValue("empty", .string("")),
        KeyValue("t", .bool(true)), KeyValue("f", .bool(false)),
        KeyValue("i", .int(42)), KeyValue("neg", .int(-1)), KeyValue("min", .int(.min)), KeyValue("zero", .int(0)),
        KeyValue("d", .double(3.25)), KeyValue("dneg", .double(-1e-300)),
        KeyValue("dbig", .double(1.7976931348623157e308)),
        KeyValue("b", .bytes([0, 1, 2, 0x7f, 0x80, 0xff, 0x22, 0x5c])),
        KeyValue(
            "arr", .array([.string("x"), .int(7), .array([.bool(true)]), .kvlist([KeyValue("k", .double(0.5))])])),
        KeyValue(
            "kv", .kvlist([KeyValue("inner", .string("v")), KeyValue("", .int(1)), KeyValue("nested", .kvlist([]))])),
        KeyValue(String(repeating: "k", count: 300), .string(String(repeating: "v", count: 20_000))),
    ]

    static func resource(_ runID: RunID?) -> Resource {
        Resource(
            attributes: [KeyValue("service.name", .string("rich"))] + everyValue, droppedAttributesCount: 3,
            runID: runID)
    }

    static let scope = InstrumentationScope(
        name: "scope", version: "9.9", attributes: [KeyValue("a", .int(1))], droppedAttributesCount: 2)

    static func logs(tracking: Bool) -> ExportLogsServiceRequest {
        var records: [LogRecord] = []
        for i in 0..<5 {
            let body: AnyValue? =
                i == 0 ? nil : (i == 1 ? .kvlist([KeyValue("msg", .string("structured"))]) : .string("body \(i)"))
            let attributes: [KeyValue] = i == 2 ? everyValue : [KeyValue("i", .int(Int64(i)))]
            let traceID: [UInt8] = i == 3 ? Array(0..<16) : []
            let spanID: [UInt8] = i == 3 ? Array(100..<108) : []
            let t: ItemTracking? = tracking ? ItemTracking(seq: UInt64(i) * 1_000_000_007, sentUnixNano: 1 << 62) : nil
            records.append(
                LogRecord(
                    timeUnixNano: 1 + UInt64(i), observedTimeUnixNano: 2, severityNumber: Int32(1 + i * 5),
                    severityText: "S\(i)",
                    body: body, attributes: attributes, droppedAttributesCount: UInt32(i), flags: UInt32(i),
                    traceID: traceID, spanID: spanID, eventName: i == 4 ? "event.name" : "", tracking: t))
        }
        return ExportLogsServiceRequest(resources: [
            ResourceItems(
                resource: resource(tracking ? RunID(0xdead_beef_0123_4567) : nil),
                scopes: [
                    ScopeItems(scope: scope, items: Array(records[0..<3]), schemaURL: "https://s/1"),
                    ScopeItems(scope: nil, items: Array(records[3...])),
                ],
                schemaURL: "https://r/1"),
            ResourceItems(resource: nil, scopes: [ScopeItems(scope: scope, items: [records[0]])]),
        ])
    }

    static func traces(tracking: Bool) -> ExportTraceServiceRequest {
        var spans: [Span] = []
        for i in 0..<4 {
            let events: [SpanEvent] =
                i == 1
                ? [
                    SpanEvent(timeUnixNano: 15, name: "ev", attributes: [KeyValue("e", .bool(true))]),
                    SpanEvent(timeUnixNano: 0, name: ""),
                ]
                : []
            let links: [SpanLink] =
                i == 3
                ? [
                    SpanLink(
                        traceID: Array(repeating: 9, count: 16), spanID: Array(repeating: 8, count: 8),
                        attributes: [KeyValue("l", .int(-5))])
                ]
                : []
            let status: SpanStatus? = i == 0 ? nil : SpanStatus(code: Int32(i % 3), message: i == 2 ? "boom" : "")
            let parent: [UInt8] = i == 0 ? [] : Array(repeating: 0xf0, count: 8)
            let t: ItemTracking? =
                tracking ? ItemTracking(seq: UInt64(i), sentUnixNano: 1_700_000_000_000_000_000) : nil
            spans.append(
                Span(
                    traceID: Array(repeating: UInt8(i), count: 16), spanID: Array(repeating: UInt8(0xf0 + i), count: 8),
                    traceState: i == 1 ? "vendor=x" : "", parentSpanID: parent, name: "span-\(i)", kind: Int32(i + 1),
                    startTimeUnixNano: 10, endTimeUnixNano: 20, attributes: i == 2 ? everyValue : [],
                    droppedAttributesCount: UInt32(i), events: events, links: links, status: status,
                    flags: i == 3 ? 0x301 : 0, tracking: t))
        }
        return ExportTraceServiceRequest(resources: [
            ResourceItems(
                resource: resource(tracking ? RunID(1) : nil), scopes: [ScopeItems(scope: scope, items: spans)])
        ])
    }

    static func metrics(tracking: Bool) -> ExportMetricsServiceRequest {
        func t(_ i: Int) -> ItemTracking? { tracking ? ItemTracking(seq: UInt64(i), sentUnixNano: 123_456_789) : nil }
        let metrics = [
            Metric(
                name: "g", description: "gauge", unit: "1",
                data: .gauge([
                    NumberDataPoint(
                        startTimeUnixNano: 1, timeUnixNano: 2, value: .double(-0.5), attributes: everyValue, flags: 1,
                        tracking: t(0)),
                    NumberDataPoint(startTimeUnixNano: 1, timeUnixNano: 2, value: .int(-7), tracking: t(1)),
                ])),
            Metric(
                name: "s",
                data: .sum(
                    [NumberDataPoint(timeUnixNano: 5, value: .int(.max), tracking: t(2))],
                    temporality: AggregationTemporality.delta, monotonic: false)),
            Metric(
                name: "h", unit: "ms",
                data: .histogram(
                    [
                        HistogramDataPoint(
                            startTimeUnixNano: 3, timeUnixNano: 4, count: 10, sum: 0, bucketCounts: [1, 2, 3, 4],
                            explicitBounds: [0.5, 1, 2.5], attributes: [KeyValue("h", .string("x"))], flags: 1,
                            min: -1, max: 1e10, tracking: t(3)),
                        HistogramDataPoint(count: 0, tracking: t(4)),
                    ], temporality: AggregationTemporality.cumulative)),
        ]
        return ExportMetricsServiceRequest(resources: [
            ResourceItems(
                resource: resource(tracking ? RunID(.max) : nil), scopes: [ScopeItems(scope: scope, items: metrics)])
        ])
    }
}

/// What a template patch does to the model, computed independently of the template.
func patched<Item: OTLPItem>(
    _ request: ExportRequest<Item>, firstSeq: UInt64, sent: UInt64, runID: RunID
) -> ExportRequest<Item> {
    var r = request
    var seq = firstSeq
    func track(_ t: inout ItemTracking?) {
        if t != nil { t = ItemTracking(seq: seq, sentUnixNano: sent) }
        seq += 1
    }
    for ri in r.resources.indices {
        if r.resources[ri].resource?.runID != nil { r.resources[ri].resource?.runID = runID }
        for si in r.resources[ri].scopes.indices {
            for ii in r.resources[ri].scopes[si].items.indices {
                var item = r.resources[ri].scopes[si].items[ii]
                switch item {
                case var log as LogRecord:
                    log.timeUnixNano = sent
                    log.observedTimeUnixNano = sent
                    track(&log.tracking)
                    item = log as! Item
                case var span as Span:
                    span.startTimeUnixNano = sent - PayloadGenerator.spanDurationNanos
                    span.endTimeUnixNano = sent
                    track(&span.tracking)
                    item = span as! Item
                case var metric as Metric:
                    let start = sent - PayloadGenerator.metricIntervalNanos
                    func fix(_ p: inout NumberDataPoint) {
                        p.startTimeUnixNano = start
                        p.timeUnixNano = sent
                        track(&p.tracking)
                    }
                    switch metric.data {
                    case .gauge(var ps):
                        for k in ps.indices { fix(&ps[k]) }
                        metric.data = .gauge(ps)
                    case .sum(var ps, let t, let m):
                        for k in ps.indices { fix(&ps[k]) }
                        metric.data = .sum(ps, temporality: t, monotonic: m)
                    case .histogram(var ps, let t):
                        for k in ps.indices {
                            ps[k].startTimeUnixNano = start
                            ps[k].timeUnixNano = sent
                            track(&ps[k].tracking)
                        }
                        metric.data = .histogram(ps, temporality: t)
                    }
                    item = metric as! Item
                default: break
                }
                r.resources[ri].scopes[si].items[ii] = item
            }
        }
    }
    return r
}
