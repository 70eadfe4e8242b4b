// opentelemetry/proto/common/v1/common.proto and resource/v1/resource.proto, as plain values with
// size-first encoders. Field numbers are the upstream OTLP ones (proto tags in comments).

/// `AnyValue`: a oneof, so every case is written even when it holds a default value.
public enum AnyValue: Sendable, Equatable {
    case string(String)  // string_value = 1
    case bool(Bool)  // bool_value = 2
    case int(Int64)  // int_value = 3
    case double(Double)  // double_value = 4
    case array([AnyValue])  // array_value = 5 (ArrayValue.values = 1)
    case kvlist([KeyValue])  // kvlist_value = 6 (KeyValueList.values = 1)
    case bytes([UInt8])  // bytes_value = 7

    /// Encoded size of the `AnyValue` message body.
    @inlinable
    public var encodedSize: Int {
        switch self {
        case .string(let s): return ProtoSize.lengthDelimited(1, s.utf8.count)
        case .bool: return 2
        case .int(let v): return ProtoSize.varintField(3, UInt64(bitPattern: v))
        case .double: return 9
        case .array(let values):
            var n = 0
            for i in values.indices { n &+= ProtoSize.lengthDelimited(1, values[i].encodedSize) }
            return ProtoSize.lengthDelimited(5, n)
        case .kvlist(let kvs):
            var n = 0
            for i in kvs.indices { n &+= ProtoSize.lengthDelimited(1, kvs[i].encodedSize) }
            return ProtoSize.lengthDelimited(6, n)
        case .bytes(let b): return ProtoSize.lengthDelimited(7, b.count)
        }
    }

    /// Writes the `AnyValue` message body.
    @inlinable
    public func encode(_ w: inout ProtoWriter) {
        switch self {
        case .string(let s): w.stringField(1, s)
        case .bool(let b): w.varintField(2, b ? 1 : 0)
        case .int(let v): w.varintField(3, UInt64(bitPattern: v))
        case .double(let d): w.fixed64Field(4, d.bitPattern)
        case .array(let values):
            var n = 0
            for i in values.indices { n &+= ProtoSize.lengthDelimited(1, values[i].encodedSize) }
            w.lengthPrefix(field: 5, length: n)
            for i in values.indices {
                w.lengthPrefix(field: 1, length: values[i].encodedSize)
                values[i].encode(&w)
            }
        case .kvlist(let kvs):
            var n = 0
            for i in kvs.indices { n &+= ProtoSize.lengthDelimited(1, kvs[i].encodedSize) }
            w.lengthPrefix(field: 6, length: n)
            for i in kvs.indices {
                w.lengthPrefix(field: 1, length: kvs[i].encodedSize)
                kvs[i].encode(&w)
            }
        case .bytes(let b): w.bytesField(7, b)
        }
    }
}

/// `KeyValue { string key = 1; AnyValue value = 2; }`
public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: AnyValue

    public init(_ key: String, _ value: AnyValue) {
        self.key = key
        self.value = value
    }

    @inlinable
    public var encodedSize: Int {
        let k = key.utf8.count
        return (k == 0 ? 0 : ProtoSize.lengthDelimited(1, k)) &+ ProtoSize.lengthDelimited(2, value.encodedSize)
    }

    @inlinable @inline(__always)
    public func encode(_ w: inout ProtoWriter) {
        withUnsafePointer(to: self) { KeyValue.encode(at: $0, &w) }
    }

    /// Encodes the pair in place, without copying it (and retaining its strings) first.
    @inlinable @inline(__always)
    public static func encode(at kv: UnsafePointer<KeyValue>, _ w: inout ProtoWriter) {
        if !kv.pointee.key.isEmpty { w.stringField(1, kv.pointee.key) }
        switch kv.pointee.value {
        case .string(let s):  // the common case, written without a second switch for the size
            let n = s.utf8.count
            w.lengthPrefix(field: 2, length: ProtoSize.lengthDelimited(1, n))
            w.lengthPrefix(field: 1, length: n)
            w.utf8(s)
        case .int(let v):
            let u = UInt64(bitPattern: v)
            w.lengthPrefix(field: 2, length: ProtoSize.varintField(3, u))
            w.varintField(3, u)
        case let value:
            w.lengthPrefix(field: 2, length: value.encodedSize)
            value.encode(&w)
        }
    }
}

/// Size of a repeated `KeyValue` field (every element with its tag and length).
@inlinable
func attributesSize(_ field: Int, _ attributes: [KeyValue]) -> Int {
    var n = 0
    for i in attributes.indices { n &+= ProtoSize.lengthDelimited(field, attributes[i].encodedSize) }
    return n
}

/// Writes a repeated `KeyValue` field.
@inlinable @inline(__always)
func encodeAttributes(_ field: Int, _ attributes: [KeyValue], _ w: inout ProtoWriter) {
    // Index loops read elements in place; `for kv in attributes` would copy (and retain) each one.
    // Backpatched with one reserved byte: attributes are almost always under 128 bytes.
    attributes.withUnsafeBufferPointer { kvs in
        for i in kvs.indices {
            let m = w.beginNested(field: field, reserve: 1)
            KeyValue.encode(at: kvs.baseAddress! + i, &w)
            w.endNested(m)
        }
    }
}

/// `Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }`
///
/// When `runID` is set, the tracking attribute `pipeperf.run_id` is written first (see `Tracking`).
public struct Resource: Sendable, Equatable {
    public var attributes: [KeyValue]
    public var droppedAttributesCount: UInt32
    /// The run id carried as the first attribute, `pipeperf.run_id`, when tracking is on.
    public var runID: RunID?

    public init(attributes: [KeyValue] = [], droppedAttributesCount: UInt32 = 0, runID: RunID? = nil) {
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.runID = runID
    }

    @inlinable
    public var encodedSize: Int {
        var n = attributesSize(1, attributes)
        if runID != nil { n &+= ProtoSize.lengthDelimited(1, Tracking.runIDKeyValueSize) }
        if droppedAttributesCount != 0 { n &+= ProtoSize.varintField(2, UInt64(droppedAttributesCount)) }
        return n
    }

    @inlinable
    public func encode<P: PatchRecorder>(_ w: inout ProtoWriter, _ patches: inout P) {
        if let runID {
            w.lengthPrefix(field: 1, length: Tracking.runIDKeyValueSize)
            Tracking.encodeRunID(runID, &w, &patches)
        }
        encodeAttributes(1, attributes, &w)
        if droppedAttributesCount != 0 { w.varintField(2, UInt64(droppedAttributesCount)) }
    }
}

/// `InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3;
/// uint32 dropped_attributes_count = 4; }`
public struct InstrumentationScope: Sendable, Equatable {
    public var name: String
    public var version: String
    public var attributes: [KeyValue]
    public var droppedAttributesCount: UInt32

    public init(
        name: String = "", version: String = "", attributes: [KeyValue] = [], droppedAttributesCount: UInt32 = 0
    ) {
        self.name = name
        self.version = version
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
    }

    @inlinable
    public var encodedSize: Int {
        var n = 0
        if !name.isEmpty { n &+= ProtoSize.lengthDelimited(1, name.utf8.count) }
        if !version.isEmpty { n &+= ProtoSize.lengthDelimited(2, version.utf8.count) }
        n &+= attributesSize(3, attributes)
        if droppedAttributesCount != 0 { n &+= ProtoSize.varintField(4, UInt64(droppedAttributesCount)) }
        return n
    }

    @inlinable
    public func encode(_ w: inout ProtoWriter) {
        if !name.isEmpty { w.stringField(1, name) }
        if !version.isEmpty { w.stringField(2, version) }
        encodeAttributes(3, attributes, &w)
        if droppedAttributesCount != 0 { w.varintField(4, UInt64(droppedAttributesCount)) }
    }
}
