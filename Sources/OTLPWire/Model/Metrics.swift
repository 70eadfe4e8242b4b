// opentelemetry/proto/metrics/v1/metrics.proto: Metric with gauge, sum and histogram data.
// A batch of metrics counts data points, not metrics.

/// `ExportMetricsServiceRequest`.
public typealias ExportMetricsServiceRequest = ExportRequest<Metric>

/// `AggregationTemporality`: 0 unspecified, 1 delta, 2 cumulative.
public enum AggregationTemporality {
    public static let delta: Int32 = 1
    public static let cumulative: Int32 = 2
}

/// `NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2;
/// fixed64 time_unix_nano = 3; oneof value { double as_double = 4; sfixed64 as_int = 6; } uint32 flags = 8; }`
public struct NumberDataPoint: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case double(Double)
        case int(Int64)
    }
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    public var value: Value
    public var attributes: [KeyValue]
    public var flags: UInt32
    public var tracking: ItemTracking?

    public init(
        startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64 = 0, value: Value, attributes: [KeyValue] = [],
        flags: UInt32 = 0, tracking: ItemTracking? = nil
    ) {
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.value = value
        self.attributes = attributes
        self.flags = flags
        self.tracking = tracking
    }

    @inlinable var encodedSize: Int {
        var n = 9 &+ 9 &+ 9  // start, time, value (double or sfixed64)
        if tracking != nil { n &+= Tracking.itemAttributesSize(field: 7) }
        n &+= attributesSize(7, attributes)
        if flags != 0 { n &+= ProtoSize.varintField(8, UInt64(flags)) }
        return n
    }

    @inlinable func encode<P: PatchRecorder>(_ w: inout ProtoWriter, _ patches: inout P) {
        w.tag(2, .fixed64)
        patches.record(.timeStart, w.offset)
        w.fixed64(startTimeUnixNano)
        w.tag(3, .fixed64)
        patches.record(.timeEnd, w.offset)
        w.fixed64(timeUnixNano)
        switch value {
        case .double(let d): w.fixed64Field(4, d.bitPattern)
        case .int(let i): w.fixed64Field(6, UInt64(bitPattern: i))
        }
        if let tracking { Tracking.encodeItem(tracking, field: 7, &w, &patches) }
        encodeAttributes(7, attributes, &w)
        if flags != 0 { w.varintField(8, UInt64(flags)) }
        patches.endItem()
    }
}

/// `HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2;
/// fixed64 time_unix_nano = 3; fixed64 count = 4; optional double sum = 5;
/// repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7; uint32 flags = 10;
/// optional double min = 11; optional double max = 12; }` (repeated scalars packed, as proto3 does).
public struct HistogramDataPoint: Sendable, Equatable {
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    public var count: UInt64
    public var sum: Double?
    public var bucketCounts: [UInt64]
    public var explicitBounds: [Double]
    public var attributes: [KeyValue]
    public var flags: UInt32
    public var min: Double?
    public var max: Double?
    public var tracking: ItemTracking?

    public init(
        startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64 = 0, count: UInt64, sum: Double? = nil,
        bucketCounts: [UInt64] = [], explicitBounds: [Double] = [], attributes: [KeyValue] = [], flags: UInt32 = 0,
        min: Double? = nil, max: Double? = nil, tracking: ItemTracking? = nil
    ) {
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.count = count
        self.sum = sum
        self.bucketCounts = bucketCounts
        self.explicitBounds = explicitBounds
        self.attributes = attributes
        self.flags = flags
        self.min = min
        self.max = max
        self.tracking = tracking
    }

    @inlinable var encodedSize: Int {
        var n = 9 &+ 9  // start, time
        if count != 0 { n &+= 9 }
        if sum != nil { n &+= 9 }
        if !bucketCounts.isEmpty { n &+= ProtoSize.lengthDelimited(6, 8 &* bucketCounts.count) }
        if !explicitBounds.isEmpty { n &+= ProtoSize.lengthDelimited(7, 8 &* explicitBounds.count) }
        if tracking != nil { n &+= Tracking.itemAttributesSize(field: 9) }
        n &+= attributesSize(9, attributes)
        if flags != 0 { n &+= ProtoSize.varintField(10, UInt64(flags)) }
        if min != nil { n &+= 9 }
        if max != nil { n &+= 9 }
        return n
    }

    @inlinable func encode<P: PatchRecorder>(_ w: inout ProtoWriter, _ patches: inout P) {
        w.tag(2, .fixed64)
        patches.record(.timeStart, w.offset)
        w.fixed64(startTimeUnixNano)
        w.tag(3, .fixed64)
        patches.record(.timeEnd, w.offset)
        w.fixed64(timeUnixNano)
        if count != 0 { w.fixed64Field(4, count) }
        if let sum { w.fixed64Field(5, sum.bitPattern) }
        if !bucketCounts.isEmpty {
            w.lengthPrefix(field: 6, length: 8 &* bucketCounts.count)
            for c in bucketCounts { w.fixed64(c) }
        }
        if !explicitBounds.isEmpty {
            w.lengthPrefix(field: 7, length: 8 &* explicitBounds.count)
            for b in explicitBounds { w.fixed64(b.bitPattern) }
        }
        if let tracking { Tracking.encodeItem(tracking, field: 9, &w, &patches) }
        encodeAttributes(9, attributes, &w)
        if flags != 0 { w.varintField(10, UInt64(flags)) }
        if let min { w.fixed64Field(11, min.bitPattern) }
        if let max { w.fixed64Field(12, max.bitPattern) }
        patches.endItem()
    }
}

/// `Metric { string name = 1; string description = 2; string unit = 3; oneof data { Gauge gauge = 5;
/// Sum sum = 7; Histogram histogram = 9; ... } }`
public struct Metric: OTLPItem {
    public static var signal: Signal { .metrics }

    public enum Data: Sendable, Equatable {
        /// `Gauge { repeated NumberDataPoint data_points = 1; }`
        case gauge([NumberDataPoint])
        /// `Sum { repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2;
        /// bool is_monotonic = 3; }`
        case sum([NumberDataPoint], temporality: Int32, monotonic: Bool)
        /// `Histogram { repeated HistogramDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }`
        case histogram([HistogramDataPoint], temporality: Int32)
    }

    public var name: String
    public var description: String
    public var unit: String
    public var data: Data

    public init(name: String, description: String = "", unit: String = "", data: Data) {
        self.name = name
        self.description = description
        self.unit = unit
        self.data = data
    }

    /// Data points in this metric.
    public var itemCount: Int {
        switch data {
        case .gauge(let p): return p.count
        case .sum(let p, _, _): return p.count
        case .histogram(let p, _): return p.count
        }
    }

    @inlinable var dataSize: Int {
        var n = 0
        switch data {
        case .gauge(let points):
            for i in points.indices { n &+= ProtoSize.lengthDelimited(1, points[i].encodedSize) }
        case .sum(let points, let temporality, let monotonic):
            for i in points.indices { n &+= ProtoSize.lengthDelimited(1, points[i].encodedSize) }
            if temporality != 0 { n &+= ProtoSize.varintField(2, UInt64(bitPattern: Int64(temporality))) }
            if monotonic { n &+= 2 }
        case .histogram(let points, let temporality):
            for i in points.indices { n &+= ProtoSize.lengthDelimited(1, points[i].encodedSize) }
            if temporality != 0 { n &+= ProtoSize.varintField(2, UInt64(bitPattern: Int64(temporality))) }
        }
        return n
    }

    @inlinable var dataField: Int {
        switch data {
        case .gauge: return 5
        case .sum: return 7
        case .histogram: return 9
        }
    }

    @inlinable
    public var encodedSize: Int {
        var n = 0
        if !name.isEmpty { n &+= ProtoSize.lengthDelimited(1, name.utf8.count) }
        if !description.isEmpty { n &+= ProtoSize.lengthDelimited(2, description.utf8.count) }
        if !unit.isEmpty { n &+= ProtoSize.lengthDelimited(3, unit.utf8.count) }
        return n &+ ProtoSize.lengthDelimited(dataField, dataSize)
    }

    @inlinable
    public func encode<P: PatchRecorder>(_ w: inout ProtoWriter, _ patches: inout P) {
        if !name.isEmpty { w.stringField(1, name) }
        if !description.isEmpty { w.stringField(2, description) }
        if !unit.isEmpty { w.stringField(3, unit) }
        w.lengthPrefix(field: dataField, length: dataSize)
        switch data {
        case .gauge(let points):
            for p in points {
                w.lengthPrefix(field: 1, length: p.encodedSize)
                p.encode(&w, &patches)
            }
        case .sum(let points, let temporality, let monotonic):
            for p in points {
                w.lengthPrefix(field: 1, length: p.encodedSize)
                p.encode(&w, &patches)
            }
            if temporality != 0 { w.varintField(2, UInt64(bitPattern: Int64(temporality))) }
            if monotonic { w.varintField(3, 1) }
        case .histogram(let points, let temporality):
            for p in points {
                w.lengthPrefix(field: 1, length: p.encodedSize)
                p.encode(&w, &patches)
            }
            if temporality != 0 { w.varintField(2, UInt64(bitPattern: Int64(temporality))) }
        }
    }
}
