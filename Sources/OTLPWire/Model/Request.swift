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

    /// What one counted item is called: log records, spans, metric data points.
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
    /// Size-first: one pass computes the size of every item, scope and resource into a cache (so no
    /// size is computed twice above the leaves), a second pass writes into storage reserved once.
    @inlinable
    public func encode<P: PatchRecorder>(into buffer: WireBuffer, patches: inout P) {
        var cache = SizeCache()
        let total = sizePass(&cache)
        var w = ProtoWriter(appendingTo: buffer, reserving: total)
        let start = w.offset
        for r in resources {
            let rs = cache.next()
            w.lengthPrefix(field: 1, length: rs)
            if let res = r.resource {
                w.lengthPrefix(field: 1, length: res.encodedSize)
                res.encode(&w, &patches)
            }
            for s in r.scopes {
                let ss = cache.next()
                w.lengthPrefix(field: 2, length: ss)
                if let scope = s.scope {
                    w.lengthPrefix(field: 1, length: scope.encodedSize)
                    scope.encode(&w)
                }
                for item in s.items {
                    w.lengthPrefix(field: 2, length: cache.next())
                    item.encode(&w, &patches)
                }
                if !s.schemaURL.isEmpty { w.stringField(3, s.schemaURL) }
            }
            if !r.schemaURL.isEmpty { w.stringField(3, r.schemaURL) }
        }
        precondition(w.offset - start == total, "OTLPWire size pass and write pass disagree")
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

    /// Exact encoded size of the request.
    public var encodedSize: Int {
        var cache = SizeCache()
        return sizePass(&cache)
    }

    @inlinable
    func sizePass(_ cache: inout SizeCache) -> Int {
        var total = 0
        for r in resources {
            let rslot = cache.reserve()
            var rs = 0
            if let res = r.resource { rs &+= ProtoSize.lengthDelimited(1, res.encodedSize) }
            for s in r.scopes {
                let sslot = cache.reserve()
                var ss = 0
                if let scope = s.scope { ss &+= ProtoSize.lengthDelimited(1, scope.encodedSize) }
                for item in s.items {
                    let n = item.encodedSize
                    cache.append(n)
                    ss &+= ProtoSize.lengthDelimited(2, n)
                }
                if !s.schemaURL.isEmpty { ss &+= ProtoSize.lengthDelimited(3, s.schemaURL.utf8.count) }
                cache.set(sslot, ss)
                rs &+= ProtoSize.lengthDelimited(2, ss)
            }
            if !r.schemaURL.isEmpty { rs &+= ProtoSize.lengthDelimited(3, r.schemaURL.utf8.count) }
            cache.set(rslot, rs)
            total &+= ProtoSize.lengthDelimited(1, rs)
        }
        return total
    }
}

/// Message sizes in the order the write pass needs them (pre-order), like protobuf's cached sizes.
@usableFromInline
struct SizeCache {
    @usableFromInline var sizes: [Int] = []
    @usableFromInline var cursor = 0
    @inlinable init() {}
    @inlinable mutating func reserve() -> Int {
        sizes.append(0)
        return sizes.count - 1
    }
    @inlinable mutating func set(_ slot: Int, _ size: Int) { sizes[slot] = size }
    @inlinable mutating func append(_ size: Int) { sizes.append(size) }
    @inlinable mutating func next() -> Int {
        let s = sizes[cursor]
        cursor &+= 1
        return s
    }
}
