// opentelemetry/proto/trace/v1/trace.proto: Span with events, links and status.

/// `ExportTraceServiceRequest`.
public typealias ExportTraceServiceRequest = ExportRequest<Span>

/// `Span.SpanKind`.
public enum SpanKind {
    public static let unspecified: Int32 = 0
    public static let `internal`: Int32 = 1
    public static let server: Int32 = 2
    public static let client: Int32 = 3
    public static let producer: Int32 = 4
    public static let consumer: Int32 = 5
}

/// `Span.Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3;
/// uint32 dropped_attributes_count = 4; }`
public struct SpanEvent: Sendable, Equatable {
    public var timeUnixNano: UInt64
    public var name: String
    public var attributes: [KeyValue]
    public init(timeUnixNano: UInt64, name: String, attributes: [KeyValue] = []) {
        self.timeUnixNano = timeUnixNano
        self.name = name
        self.attributes = attributes
    }

    @inlinable var encodedSize: Int {
        (timeUnixNano != 0 ? 9 : 0) &+ (name.isEmpty ? 0 : ProtoSize.lengthDelimited(2, name.utf8.count))
            &+ attributesSize(3, attributes)
    }

    @inlinable func encode(_ w: inout ProtoWriter) {
        if timeUnixNano != 0 { w.fixed64Field(1, timeUnixNano) }
        if !name.isEmpty { w.stringField(2, name) }
        encodeAttributes(3, attributes, &w)
    }
}

/// `Span.Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3;
/// repeated KeyValue attributes = 4; uint32 dropped_attributes_count = 5; fixed32 flags = 6; }`
public struct SpanLink: Sendable, Equatable {
    public var traceID: [UInt8]
    public var spanID: [UInt8]
    public var attributes: [KeyValue]
    public init(traceID: [UInt8], spanID: [UInt8], attributes: [KeyValue] = []) {
        self.traceID = traceID
        self.spanID = spanID
        self.attributes = attributes
    }

    @inlinable var encodedSize: Int {
        (traceID.isEmpty ? 0 : ProtoSize.lengthDelimited(1, traceID.count))
            &+ (spanID.isEmpty ? 0 : ProtoSize.lengthDelimited(2, spanID.count)) &+ attributesSize(4, attributes)
    }

    @inlinable func encode(_ w: inout ProtoWriter) {
        if !traceID.isEmpty { w.bytesField(1, traceID) }
        if !spanID.isEmpty { w.bytesField(2, spanID) }
        encodeAttributes(4, attributes, &w)
    }
}

/// `Status { string message = 2; StatusCode code = 3; }` (0 unset, 1 ok, 2 error).
public struct SpanStatus: Sendable, Equatable {
    public var message: String
    public var code: Int32
    public init(code: Int32, message: String = "") {
        self.code = code
        self.message = message
    }

    @inlinable var encodedSize: Int {
        (message.isEmpty ? 0 : ProtoSize.lengthDelimited(2, message.utf8.count))
            &+ (code == 0 ? 0 : ProtoSize.varintField(3, UInt64(bitPattern: Int64(code))))
    }

    @inlinable func encode(_ w: inout ProtoWriter) {
        if !message.isEmpty { w.stringField(2, message) }
        if code != 0 { w.varintField(3, UInt64(bitPattern: Int64(code))) }
    }
}

/// `Span`. Start and end times are always written so a template can patch them; with `tracking`
/// the tracking attributes come first in `attributes`.
public struct Span: OTLPItem {
    public static var signal: Signal { .traces }
    public var itemCount: Int { 1 }

    public var traceID: [UInt8]  // bytes trace_id = 1
    public var spanID: [UInt8]  // bytes span_id = 2
    public var traceState: String  // string trace_state = 3
    public var parentSpanID: [UInt8]  // bytes parent_span_id = 4
    public var name: String  // string name = 5
    public var kind: Int32  // SpanKind kind = 6
    public var startTimeUnixNano: UInt64  // fixed64 start_time_unix_nano = 7
    public var endTimeUnixNano: UInt64  // fixed64 end_time_unix_nano = 8
    public var attributes: [KeyValue]  // repeated KeyValue attributes = 9
    public var droppedAttributesCount: UInt32  // uint32 dropped_attributes_count = 10
    public var events: [SpanEvent]  // repeated Event events = 11
    public var links: [SpanLink]  // repeated Link links = 13
    public var status: SpanStatus?  // Status status = 15
    public var flags: UInt32  // fixed32 flags = 16
    public var tracking: ItemTracking?

    public init(
        traceID: [UInt8], spanID: [UInt8], traceState: String = "", parentSpanID: [UInt8] = [], name: String,
        kind: Int32 = SpanKind.internal, startTimeUnixNano: UInt64 = 0, endTimeUnixNano: UInt64 = 0,
        attributes: [KeyValue] = [], droppedAttributesCount: UInt32 = 0, events: [SpanEvent] = [],
        links: [SpanLink] = [], status: SpanStatus? = nil, flags: UInt32 = 0, tracking: ItemTracking? = nil
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.traceState = traceState
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.events = events
        self.links = links
        self.status = status
        self.flags = flags
        self.tracking = tracking
    }

    /// Field number of `attributes` in `Span`.
    public static let attributesField = 9

    @inlinable
    public var encodedSize: Int {
        var n = 9 &+ 9  // start and end times
        if !traceID.isEmpty { n &+= ProtoSize.lengthDelimited(1, traceID.count) }
        if !spanID.isEmpty { n &+= ProtoSize.lengthDelimited(2, spanID.count) }
        if !traceState.isEmpty { n &+= ProtoSize.lengthDelimited(3, traceState.utf8.count) }
        if !parentSpanID.isEmpty { n &+= ProtoSize.lengthDelimited(4, parentSpanID.count) }
        if !name.isEmpty { n &+= ProtoSize.lengthDelimited(5, name.utf8.count) }
        if kind != 0 { n &+= ProtoSize.varintField(6, UInt64(bitPattern: Int64(kind))) }
        if tracking != nil { n &+= Tracking.itemAttributesSize(field: 9) }
        n &+= attributesSize(9, attributes)
        if droppedAttributesCount != 0 { n &+= ProtoSize.varintField(10, UInt64(droppedAttributesCount)) }
        for i in events.indices { n &+= ProtoSize.lengthDelimited(11, events[i].encodedSize) }
        for i in links.indices { n &+= ProtoSize.lengthDelimited(13, links[i].encodedSize) }
        if let status { n &+= ProtoSize.lengthDelimited(15, status.encodedSize) }
        if flags != 0 { n &+= ProtoSize.fixed32Field(16) }
        return n
    }

    @inlinable
    public func encode<P: PatchRecorder>(_ w: inout ProtoWriter, _ patches: inout P) {
        if !traceID.isEmpty { w.bytesField(1, traceID) }
        if !spanID.isEmpty { w.bytesField(2, spanID) }
        if !traceState.isEmpty { w.stringField(3, traceState) }
        if !parentSpanID.isEmpty { w.bytesField(4, parentSpanID) }
        if !name.isEmpty { w.stringField(5, name) }
        if kind != 0 { w.varintField(6, UInt64(bitPattern: Int64(kind))) }
        w.tag(7, .fixed64)
        patches.record(.timeStart, w.offset)
        w.fixed64(startTimeUnixNano)
        w.tag(8, .fixed64)
        patches.record(.timeEnd, w.offset)
        w.fixed64(endTimeUnixNano)
        if let tracking { Tracking.encodeItem(tracking, field: 9, &w, &patches) }
        encodeAttributes(9, attributes, &w)
        if droppedAttributesCount != 0 { w.varintField(10, UInt64(droppedAttributesCount)) }
        for e in events {
            w.lengthPrefix(field: 11, length: e.encodedSize)
            e.encode(&w)
        }
        for l in links {
            w.lengthPrefix(field: 13, length: l.encodedSize)
            l.encode(&w)
        }
        if let status {
            w.lengthPrefix(field: 15, length: status.encodedSize)
            status.encode(&w)
        }
        if flags != 0 { w.fixed32Field(16, flags) }
        patches.endItem()
    }
}
