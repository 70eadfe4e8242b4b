// Counts the items of an OTLP export request and reads the tracking attributes, walking the wire
// format without building objects or allocating. Unknown fields are skipped (protobuf rules:
// a known field with an unexpected wire type is treated as unknown), and a oneof seen twice keeps
// its last value, as protobuf parsers do, so counts agree with real decoders.

/// What a scan found.
public struct ScanCounts: Sendable, Equatable {
    /// `ResourceLogs` / `ResourceSpans` / `ResourceMetrics` messages.
    public var resources = 0
    /// `ScopeLogs` / `ScopeSpans` / `ScopeMetrics` messages.
    public var scopes = 0
    /// Log records, spans or metric data points.
    public var items = 0
    /// Items carrying `pipeperf.seq` (only counted by `scan(_:_:visitor:)`).
    public var tracked = 0
    public init() {}
}

/// Receives the tracking fields of each item that carries `pipeperf.seq` or `pipeperf.sent_ns`.
public protocol TrackingVisitor {
    /// - Parameters:
    ///   - runID: the resource's `pipeperf.run_id` when present and well-formed (16 hex digits).
    ///   - seq: the item's `pipeperf.seq`, when present as an int.
    ///   - sentUnixNano: the item's `pipeperf.sent_ns`, when present as an int.
    mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?)
    /// The same, with the item's `pipeperf.intended_ns` when present as an int (the scanner calls this
    /// one; by default it forwards to the one above).
    mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?, intendedUnixNano: UInt64?)
}

extension TrackingVisitor {
    @inlinable @inline(__always)
    public mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?, intendedUnixNano: UInt64?) {
        item(runID: runID, seq: seq, sentUnixNano: sentUnixNano)
    }
}

/// A visitor that ignores tracking fields.
public struct IgnoreTracking: TrackingVisitor {
    public init() {}
    @inlinable public mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?) {}
}

/// Counts items and reads tracking fields of OTLP export requests.
public enum OTLPScanner {
    /// Counts resources, scopes and items without looking inside log records, spans or data points.
    @inlinable
    public static func count(_ signal: Signal, _ bytes: UnsafeRawBufferPointer) throws(WireError) -> ScanCounts {
        var v = IgnoreTracking()
        return try walk(signal, bytes, tracking: false, &v)
    }

    /// Counts like `count` and also reads the tracking attributes of every item, calling `visitor`.
    @inlinable
    public static func scan<V: TrackingVisitor>(
        _ signal: Signal, _ bytes: UnsafeRawBufferPointer, visitor: inout V
    ) throws(WireError) -> ScanCounts {
        try walk(signal, bytes, tracking: true, &visitor)
    }

    @inlinable @inline(__always)
    static func walk<V: TrackingVisitor>(
        _ signal: Signal, _ bytes: UnsafeRawBufferPointer, tracking: Bool, _ visitor: inout V
    ) throws(WireError) -> ScanCounts {
        var counts = ScanCounts()
        var r = WireReader(bytes)
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            if f == 1 && t == .lengthDelimited {
                var res = try r.lengthDelimited()
                try resource(signal, &res, tracking, &counts, &visitor)
            } else {
                try r.skip(t, field: f)
            }
        }
        return counts
    }

    /// `ResourceX { Resource resource = 1; repeated ScopeX scope_x = 2; string schema_url = 3; }`
    @inlinable @inline(__always)
    static func resource<V: TrackingVisitor>(
        _ signal: Signal, _ r: inout WireReader, _ tracking: Bool, _ counts: inout ScanCounts, _ visitor: inout V
    ) throws(WireError) {
        counts.resources &+= 1
        var runID: UInt64? = nil
        if tracking {
            // The resource usually precedes the scopes, but field order is not guaranteed: find it first.
            var pre = r
            while !pre.isAtEnd {
                let (f, t) = try pre.tag()
                if f == 1 && t == .lengthDelimited {
                    var res = try pre.lengthDelimited()
                    if let id = try resourceRunID(&res) { runID = id }
                } else {
                    try pre.skip(t, field: f)
                }
            }
        }
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            if f == 2 && t == .lengthDelimited {
                var scope = try r.lengthDelimited()
                counts.scopes &+= 1
                try self.scope(signal, &scope, tracking, runID, &counts, &visitor)
            } else {
                try r.skip(t, field: f)
            }
        }
    }

    /// `Resource { repeated KeyValue attributes = 1; ... }`: the last `pipeperf.run_id` wins.
    @inlinable
    static func resourceRunID(_ r: inout WireReader) throws(WireError) -> UInt64? {
        var found: UInt64? = nil
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            if f == 1 && t == .lengthDelimited {
                var kv = try r.lengthDelimited()
                let (key, value) = try keyValue(&kv)
                if let key, keyEquals(key, "pipeperf.run_id"), let value {
                    var v = value
                    if let s = try anyValueString(&v) { found = RunID.parseHex(s) }
                }
            } else {
                try r.skip(t, field: f)
            }
        }
        return found
    }

    /// `ScopeX { InstrumentationScope scope = 1; repeated Item items = 2; string schema_url = 3; }`
    @inlinable @inline(__always)
    static func scope<V: TrackingVisitor>(
        _ signal: Signal, _ r: inout WireReader, _ tracking: Bool, _ runID: UInt64?, _ counts: inout ScanCounts,
        _ visitor: inout V
    ) throws(WireError) {
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            if f == 2 && t == .lengthDelimited {
                var item = try r.lengthDelimited()
                switch signal {
                case .logs:
                    counts.items &+= 1
                    if tracking { try trackedItem(&item, attributesField: 6, runID, &counts, &visitor) }
                case .traces:
                    counts.items &+= 1
                    if tracking { try trackedItem(&item, attributesField: 9, runID, &counts, &visitor) }
                case .metrics:
                    try metric(&item, tracking, runID, &counts, &visitor)
                }
            } else {
                try r.skip(t, field: f)
            }
        }
    }

    /// `Metric`: the data oneof (gauge 5, sum 7, histogram 9, exponential_histogram 10, summary 11);
    /// the last one present wins, as in protobuf. Each holds `repeated XDataPoint data_points = 1`.
    @inlinable
    static func metric<V: TrackingVisitor>(
        _ r: inout WireReader, _ tracking: Bool, _ runID: UInt64?, _ counts: inout ScanCounts, _ visitor: inout V
    ) throws(WireError) {
        var data: WireReader? = nil
        var attributesField = 0
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            guard t == .lengthDelimited else {
                try r.skip(t, field: f)
                continue
            }
            switch f {
            case 5, 7, 11:  // NumberDataPoint and SummaryDataPoint: attributes = 7
                data = try r.lengthDelimited()
                attributesField = 7
            case 9:  // HistogramDataPoint: attributes = 9
                data = try r.lengthDelimited()
                attributesField = 9
            case 10:  // ExponentialHistogramDataPoint: attributes = 1
                data = try r.lengthDelimited()
                attributesField = 1
            default:
                try r.skip(t, field: f)
            }
        }
        guard var d = data else { return }
        while !d.isAtEnd {
            let (f, t) = try d.tag()
            if f == 1 && t == .lengthDelimited {
                var point = try d.lengthDelimited()
                counts.items &+= 1
                if tracking { try trackedItem(&point, attributesField: attributesField, runID, &counts, &visitor) }
            } else {
                try d.skip(t, field: f)
            }
        }
    }

    /// Walks one log record, span or data point, reading `pipeperf.seq` and `pipeperf.sent_ns` from
    /// its attributes (the last occurrence of each wins).
    @inlinable @inline(__always)
    static func trackedItem<V: TrackingVisitor>(
        _ r: inout WireReader, attributesField: Int, _ runID: UInt64?, _ counts: inout ScanCounts, _ visitor: inout V
    ) throws(WireError) {
        var seq: UInt64? = nil
        var sent: UInt64? = nil
        var intended: UInt64? = nil
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            if f == attributesField && t == .lengthDelimited {
                var kv = try r.lengthDelimited()
                let (key, value) = try keyValue(&kv)
                guard let key, var value else { continue }
                if keyEquals(key, "pipeperf.seq") {
                    if let v = try anyValueInt(&value) { seq = v }
                } else if keyEquals(key, "pipeperf.sent_ns") {
                    if let v = try anyValueInt(&value) { sent = v }
                } else if keyEquals(key, "pipeperf.intended_ns") {
                    if let v = try anyValueInt(&value) { intended = v }
                }
            } else {
                try r.skip(t, field: f)
            }
        }
        if seq != nil { counts.tracked &+= 1 }
        if seq != nil || sent != nil {
            visitor.item(runID: runID, seq: seq, sentUnixNano: sent, intendedUnixNano: intended)
        }
    }

    /// `KeyValue { string key = 1; AnyValue value = 2; }`, in any field order; the last of each wins.
    @inlinable @inline(__always)
    static func keyValue(_ r: inout WireReader) throws(WireError) -> (UnsafeRawBufferPointer?, WireReader?) {
        var key: UnsafeRawBufferPointer? = nil
        var value: WireReader? = nil
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            if f == 1 && t == .lengthDelimited {
                key = try r.lengthDelimited().bytes
            } else if f == 2 && t == .lengthDelimited {
                value = try r.lengthDelimited()
            } else {
                try r.skip(t, field: f)
            }
        }
        return (key, value)
    }

    /// The `int_value` (field 3) of an `AnyValue`, if that is the oneof's last case.
    @inlinable @inline(__always)
    static func anyValueInt(_ r: inout WireReader) throws(WireError) -> UInt64? {
        var result: UInt64? = nil
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            if f == 3 && t == .varint {
                result = try r.varint()
            } else {
                if isAnyValueCase(f, t) { result = nil }  // another oneof case replaces int_value
                try r.skip(t, field: f)
            }
        }
        return result
    }

    /// The `string_value` (field 1) of an `AnyValue`, if that is the oneof's last case.
    @inlinable
    static func anyValueString(_ r: inout WireReader) throws(WireError) -> UnsafeRawBufferPointer? {
        var result: UnsafeRawBufferPointer? = nil
        while !r.isAtEnd {
            let (f, t) = try r.tag()
            if f == 1 && t == .lengthDelimited {
                result = try r.lengthDelimited().bytes
            } else {
                if isAnyValueCase(f, t) { result = nil }
                try r.skip(t, field: f)
            }
        }
        return result
    }

    /// True when (field, wire type) is one of `AnyValue`'s oneof cases; a field with a different wire
    /// type is an unknown field and leaves the oneof alone.
    @inlinable @inline(__always)
    static func isAnyValueCase(_ f: Int, _ t: WireType) -> Bool {
        switch f {
        case 1, 5, 6, 7: return t == .lengthDelimited
        case 2, 3: return t == .varint
        case 4: return t == .fixed64
        default: return false
        }
    }

    @inlinable @inline(__always)
    static func keyEquals(_ a: UnsafeRawBufferPointer, _ b: StaticString) -> Bool {
        guard a.count == b.utf8CodeUnitCount, let pa = a.baseAddress else { return false }
        return memcmpBytes(pa, UnsafeRawPointer(b.utf8Start), a.count)
    }

    @inlinable @inline(__always)
    static func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
        var i = 0
        while i &+ 8 <= n {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                != b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            {
                return false
            }
            i &+= 8
        }
        while i < n {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i &+= 1
        }
        return true
    }

}
