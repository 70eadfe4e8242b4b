// opentelemetry/proto/logs/v1/logs.proto: LogRecord. Fields are written in field-number order.

/// `ExportLogsServiceRequest`.
public typealias ExportLogsServiceRequest = ExportRequest<LogRecord>

/// `SeverityNumber` values (logs.proto): 0 unspecified, 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN,
/// 17-20 ERROR, 21-24 FATAL.
public enum SeverityNumber {
    public static let trace: Int32 = 1
    public static let debug: Int32 = 5
    public static let info: Int32 = 9
    public static let warn: Int32 = 13
    public static let error: Int32 = 17
    public static let fatal: Int32 = 21
}

/// `LogRecord`.
///
/// Timestamps are always written (fixed64) so a template can patch them in place. With `tracking`,
/// the attributes `pipeperf.seq` and `pipeperf.sent_ns` come first in `attributes`.
public struct LogRecord: OTLPItem {
    public static var signal: Signal { .logs }
    public var itemCount: Int { 1 }

    public var timeUnixNano: UInt64  // fixed64 time_unix_nano = 1
    public var severityNumber: Int32  // SeverityNumber severity_number = 2
    public var severityText: String  // string severity_text = 3
    public var body: AnyValue?  // AnyValue body = 5
    public var attributes: [KeyValue]  // repeated KeyValue attributes = 6
    public var droppedAttributesCount: UInt32  // uint32 dropped_attributes_count = 7
    public var flags: UInt32  // fixed32 flags = 8
    public var traceID: [UInt8]  // bytes trace_id = 9 (16 bytes or empty)
    public var spanID: [UInt8]  // bytes span_id = 10 (8 bytes or empty)
    public var observedTimeUnixNano: UInt64  // fixed64 observed_time_unix_nano = 11
    public var eventName: String  // string event_name = 12
    public var tracking: ItemTracking?

    public init(
        timeUnixNano: UInt64 = 0, observedTimeUnixNano: UInt64 = 0, severityNumber: Int32 = 0,
        severityText: String = "", body: AnyValue? = nil, attributes: [KeyValue] = [],
        droppedAttributesCount: UInt32 = 0, flags: UInt32 = 0, traceID: [UInt8] = [], spanID: [UInt8] = [],
        eventName: String = "", tracking: ItemTracking? = nil
    ) {
        self.timeUnixNano = timeUnixNano
        self.observedTimeUnixNano = observedTimeUnixNano
        self.severityNumber = severityNumber
        self.severityText = severityText
        self.body = body
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.flags = flags
        self.traceID = traceID
        self.spanID = spanID
        self.eventName = eventName
        self.tracking = tracking
    }

    /// Field number of `attributes` in `LogRecord`.
    public static let attributesField = 6

    @inlinable
    public var encodedSize: Int {
        var n = 9 &+ 9  // time_unix_nano and observed_time_unix_nano: tag + 8 bytes each
        if severityNumber != 0 { n &+= ProtoSize.varintField(2, UInt64(bitPattern: Int64(severityNumber))) }
        if !severityText.isEmpty { n &+= ProtoSize.lengthDelimited(3, severityText.utf8.count) }
        if let body { n &+= ProtoSize.lengthDelimited(5, body.encodedSize) }
        if tracking != nil { n &+= Tracking.itemAttributesSize(field: 6) }
        n &+= attributesSize(6, attributes)
        if droppedAttributesCount != 0 { n &+= ProtoSize.varintField(7, UInt64(droppedAttributesCount)) }
        if flags != 0 { n &+= 5 }
        if !traceID.isEmpty { n &+= ProtoSize.lengthDelimited(9, traceID.count) }
        if !spanID.isEmpty { n &+= ProtoSize.lengthDelimited(10, spanID.count) }
        if !eventName.isEmpty { n &+= ProtoSize.lengthDelimited(12, eventName.utf8.count) }
        return n
    }

    @inlinable @inline(__always)
    public func encode<P: PatchRecorder>(_ w: inout ProtoWriter, _ patches: inout P) {
        withUnsafePointer(to: self) { LogRecord.encode(at: $0, &w, &patches) }
    }

    /// Encodes the record in place: fields are read through the pointer, so the record is never copied
    /// (copying it would retain and release each of its strings and arrays).
    @inlinable @inline(__always)
    public static func encode<P: PatchRecorder>(
        at r: UnsafePointer<LogRecord>, _ w: inout ProtoWriter, _ patches: inout P
    ) {
        w.tag(1, .fixed64)
        patches.record(.timeStart, w.offset)
        w.fixed64(r.pointee.timeUnixNano)
        if r.pointee.severityNumber != 0 { w.varintField(2, UInt64(bitPattern: Int64(r.pointee.severityNumber))) }
        if !r.pointee.severityText.isEmpty { w.stringField(3, r.pointee.severityText) }
        switch r.pointee.body {
        case .some(.string(let s)):
            w.lengthPrefix(field: 5, length: ProtoSize.lengthDelimited(1, s.utf8.count))
            w.stringField(1, s)
        case .some(let body):
            w.lengthPrefix(field: 5, length: body.encodedSize)
            body.encode(&w)
        case .none: break
        }
        if let tracking = r.pointee.tracking { Tracking.encodeItem(tracking, field: 6, &w, &patches) }
        encodeAttributes(6, r.pointee.attributes, &w)
        if r.pointee.droppedAttributesCount != 0 { w.varintField(7, UInt64(r.pointee.droppedAttributesCount)) }
        if r.pointee.flags != 0 { w.fixed32Field(8, r.pointee.flags) }
        if !r.pointee.traceID.isEmpty { w.bytesField(9, r.pointee.traceID) }
        if !r.pointee.spanID.isEmpty { w.bytesField(10, r.pointee.spanID) }
        w.tag(11, .fixed64)
        patches.record(.timeEnd, w.offset)
        w.fixed64(r.pointee.observedTimeUnixNano)
        if !r.pointee.eventName.isEmpty { w.stringField(12, r.pointee.eventName) }
        patches.endItem()
    }
}
