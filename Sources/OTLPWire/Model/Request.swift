// The envelope shared by the three OTLP export requests. Upstream, logs, traces and metrics each
// declare their own ResourceX / ScopeX messages, but with identical field numbers:
//   ExportXServiceRequest { repeated ResourceX resource_x = 1; }
//   ResourceX { Resource resource = 1; repeated ScopeX scope_x = 2; string schema_url = 3; }
//   ScopeX { InstrumentationScope scope = 1; repeated Item items = 2; string schema_url = 3; }
// so one generic encoder serves all three.

/// The telemetry signal of a request.
public enum Signal: String, Sendable, CaseIterable, Codable {
    case logs, traces, metrics

    /// The gRPC method path of the OTLP export service for this signal.
    public var grpcPath: String {
        switch self {
        case .logs: return "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        case .traces: return "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        case .metrics: return "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
        }
    }

    /// The OTLP/HTTP path for this signal.
    public var httpPath: String {
        switch self {
        case .logs: return "/v1/logs"
        case .traces: return "/v1/traces"
        case .metrics: return "/v1/metrics"
        }
    }

    /// What one counted item is called, singular.
    public var itemNameSingular: String {
        switch self {
        case .logs: return "log record"
        case .traces: return "span"
        case .metrics: return "data point"
        }
    }

    /// What counted items are called: log records, spans, metric data points.
    public var itemName: String {
        switch self {
        case .logs: return "log records"
        case .traces: return "spans"
        case .metrics: return "data points"
        }
    }
}

/// An element of a `ScopeX.items` list: a log record, a span, or a metric.
public protocol OTLPItem: Sendable, Equatable {
    /// The signal whose requests hold this item.
    static var signal: Signal { get }
    /// Counted items in this element: 1 for a log record or span, the data points of a metric.
    var itemCount: Int { get }
    /// Exact encoded size of the message body.
    var encodedSize: Int { get }
    /// Writes the message body, reporting patchable fields (and calling `endItem()` per counted item).
    func encode<P: PatchRecorder>(_ w: inout ProtoWriter, _ patches: inout P)
    /// Writes the message body of the item at `item` without copying it out of its storage.
    static func encode<P: PatchRecorder>(at item: UnsafePointer<Self>, _ w: inout ProtoWriter, _ patches: inout P)
}

extension OTLPItem {
    @inlinable @inline(__always)
    public static func encode<P: PatchRecorder>(
        at item: UnsafePointer<Self>, _ w: inout ProtoWriter, _ patches: inout P
    ) {
        item.pointee.encode(&w, &patches)
    }
}

/// `ScopeLogs` / `ScopeSpans` / `ScopeMetrics`.
public struct ScopeItems<Item: OTLPItem>: Sendable, Equatable {
    public var scope: InstrumentationScope?
    public var items: [Item]
    public var schemaURL: String

    public init(scope: InstrumentationScope? = nil, items: [Item] = [], schemaURL: String = "") {
        self.scope = scope
        self.items = items
        self.schemaURL = schemaURL
    }

    /// Counted items (log records, spans, data points).
    public var itemCount: Int { items.reduce(0) { $0 + $1.itemCount } }
}

/// `ResourceLogs` / `ResourceSpans` / `ResourceMetrics`.
public struct ResourceItems<Item: OTLPItem>: Sendable, Equatable {
    public var resource: Resource?
    public var scopes: [ScopeItems<Item>]
    public var schemaURL: String

    public init(resource: Resource? = nil, scopes: [ScopeItems<Item>] = [], schemaURL: String = "") {
        self.resource = resource
        self.scopes = scopes
        self.schemaURL = schemaURL
    }

    public var itemCount: Int { scopes.reduce(0) { $0 + $1.itemCount } }
}

/// `ExportLogsServiceRequest` / `ExportTraceServiceRequest` / `ExportMetricsServiceRequest`.
public struct ExportRequest<Item: OTLPItem>: Sendable, Equatable {
    public var resources: [ResourceItems<Item>]

    public init(resources: [ResourceItems<Item>] = []) { self.resources = resources }

    /// Counted items (log records, spans, data points).
    public var itemCount: Int { resources.reduce(0) { $0 + $1.itemCount } }

    /// Appends the encoded request to `buffer`, reporting the offsets of patchable fields.
    ///
    /// One pass, reserve-and-backpatch: each resource, scope and item reserves the bytes its length
    /// prefix usually needs (3, 3 and 2) and the body moves only when that guess was wrong; moves are
    /// reported to `patches` so recorded offsets stay right. Leaves (attributes, values) are sized first.
    @inlinable
    public func encode<P: PatchRecorder>(into buffer: WireBuffer, patches: inout P) {
        var w = ProtoWriter(appendingTo: buffer, reserving: 256)
        for ri in resources.indices {
            let rm = w.beginNested(field: 1, reserve: 3)
            if let res = resources[ri].resource {
                w.lengthPrefix(field: 1, length: res.encodedSize)
                res.encode(&w, &patches)
            }
            for si in resources[ri].scopes.indices {
                let sm = w.beginNested(field: 2, reserve: 3)
                if let scope = resources[ri].scopes[si].scope {
                    w.lengthPrefix(field: 1, length: scope.encodedSize)
                    scope.encode(&w)
                }
                // Through a buffer pointer, items are encoded in place rather than copied out of the array.
                resources[ri].scopes[si].items.withUnsafeBufferPointer { items in
                    for ii in items.indices {
                        let im = w.beginNested(field: 2, reserve: 2)
                        Item.encode(at: items.baseAddress! + ii, &w, &patches)
                        w.endNested(im, &patches)
                    }
                }
                if !resources[ri].scopes[si].schemaURL.isEmpty { w.stringField(3, resources[ri].scopes[si].schemaURL) }
                w.endNested(sm, &patches)
            }
            if !resources[ri].schemaURL.isEmpty { w.stringField(3, resources[ri].schemaURL) }
            w.endNested(rm, &patches)
        }
        w.finish()
    }

    /// Appends the encoded request to `buffer`.
    @inlinable
    public func encode(into buffer: WireBuffer) {
        var none = NoPatches()
        encode(into: buffer, patches: &none)
    }

    /// The encoded request as an array (tests and tools).
    public func encodedBytes() -> [UInt8] {
        let b = WireBuffer(capacity: 1024)
        encode(into: b)
        return b.bytes
    }

    /// Exact encoded size of the request (computed, not encoded).
    public var encodedSize: Int {
        var total = 0
        for r in resources {
            var rs = 0
            if let res = r.resource { rs &+= ProtoSize.lengthDelimited(1, res.encodedSize) }
            for s in r.scopes {
                var ss = 0
                if let scope = s.scope { ss &+= ProtoSize.lengthDelimited(1, scope.encodedSize) }
                for i in s.items.indices { ss &+= ProtoSize.lengthDelimited(2, s.items[i].encodedSize) }
                if !s.schemaURL.isEmpty { ss &+= ProtoSize.lengthDelimited(3, s.schemaURL.utf8.count) }
                rs &+= ProtoSize.lengthDelimited(2, ss)
            }
            if !r.schemaURL.isEmpty { rs &+= ProtoSize.lengthDelimited(3, r.schemaURL.utf8.count) }
            total &+= ProtoSize.lengthDelimited(1, rs)
        }
        return total
    }
}
