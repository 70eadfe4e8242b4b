import OTLPWire

// The model as the text tree protoc prints: proto3 scalars only when not default, fields in field-number
// order, enums by name. Written from the OTLP .proto definitions, independently of the encoder.

private func f(_ name: String, _ value: TextValue) -> TextField { TextField(name: name, value: value) }
private func num<T: BinaryInteger>(_ v: T) -> TextValue { .number("\(v)") }
private func dbl(_ v: Double) -> TextValue { .number("\(v)") }
private func str(_ s: String) -> TextValue { .bytes(Array(s.utf8)) }

func tree(_ v: AnyValue) -> [TextField] {
    switch v {
    case .string(let s): return [f("string_value", str(s))]
    case .bool(let b): return [f("bool_value", .name(b ? "true" : "false"))]
    case .int(let i): return [f("int_value", num(i))]
    case .double(let d): return [f("double_value", dbl(d))]
    case .array(let values): return [f("array_value", .message(values.map { f("values", .message(tree($0))) }))]
    case .kvlist(let kvs): return [f("kvlist_value", .message(kvs.map { f("values", .message(tree($0))) }))]
    case .bytes(let b): return [f("bytes_value", .bytes(b))]
    }
}

func tree(_ kv: KeyValue) -> [TextField] {
    var out: [TextField] = []
    if !kv.key.isEmpty { out.append(f("key", str(kv.key))) }
    out.append(f("value", .message(tree(kv.value))))
    return out
}

func attrs(_ name: String, _ kvs: [KeyValue]) -> [TextField] { kvs.map { f(name, .message(tree($0))) } }

func trackingAttrs(_ name: String, _ t: ItemTracking?) -> [TextField] {
    guard let t else { return [] }
    return attrs(
        name,
        [
            KeyValue(Tracking.seqKey, .int(Int64(t.seq))), KeyValue(Tracking.sentKey, .int(Int64(t.sentUnixNano))),
            KeyValue(Tracking.intendedKey, .int(Int64(t.intendedUnixNano))),
        ])
}

func tree(_ r: Resource) -> [TextField] {
    var out: [TextField] = []
    if let id = r.runID { out += attrs("attributes", [KeyValue(Tracking.runIDKey, .string(id.description))]) }
    out += attrs("attributes", r.attributes)
    if r.droppedAttributesCount != 0 { out.append(f("dropped_attributes_count", num(r.droppedAttributesCount))) }
    return out
}

func tree(_ s: InstrumentationScope) -> [TextField] {
    var out: [TextField] = []
    if !s.name.isEmpty { out.append(f("name", str(s.name))) }
    if !s.version.isEmpty { out.append(f("version", str(s.version))) }
    out += attrs("attributes", s.attributes)
    if s.droppedAttributesCount != 0 { out.append(f("dropped_attributes_count", num(s.droppedAttributesCount))) }
    return out
}

func severityName(_ n: Int32) -> String {
    if n == 0 { return "SEVERITY_NUMBER_UNSPECIFIED" }
    let bases = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
    let k = Int(n - 1) / 4, step = Int(n - 1) % 4
    return "SEVERITY_NUMBER_" + bases[k] + (step == 0 ? "" : "\(step + 1)")
}

func tree(_ r: LogRecord) -> [TextField] {
    var out: [TextField] = []
    if r.timeUnixNano != 0 { out.append(f("time_unix_nano", num(r.timeUnixNano))) }
    if r.severityNumber != 0 { out.append(f("severity_number", .name(severityName(r.severityNumber)))) }
    if !r.severityText.isEmpty { out.append(f("severity_text", str(r.severityText))) }
    if let b = r.body { out.append(f("body", .message(tree(b)))) }
    out += trackingAttrs("attributes", r.tracking)
    out += attrs("attributes", r.attributes)
    if r.droppedAttributesCount != 0 { out.append(f("dropped_attributes_count", num(r.droppedAttributesCount))) }
    if r.flags != 0 { out.append(f("flags", num(r.flags))) }
    if !r.traceID.isEmpty { out.append(f("trace_id", .bytes(r.traceID))) }
    if !r.spanID.isEmpty { out.append(f("span_id", .bytes(r.spanID))) }
    if r.observedTimeUnixNano != 0 { out.append(f("observed_time_unix_nano", num(r.observedTimeUnixNano))) }
    if !r.eventName.isEmpty { out.append(f("event_name", str(r.eventName))) }
    return out
}

func tree(_ s: Span) -> [TextField] {
    let kinds = [
        "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
        "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
    ]
    var out: [TextField] = []
    if !s.traceID.isEmpty { out.append(f("trace_id", .bytes(s.traceID))) }
    if !s.spanID.isEmpty { out.append(f("span_id", .bytes(s.spanID))) }
    if !s.traceState.isEmpty { out.append(f("trace_state", str(s.traceState))) }
    if !s.parentSpanID.isEmpty { out.append(f("parent_span_id", .bytes(s.parentSpanID))) }
    if !s.name.isEmpty { out.append(f("name", str(s.name))) }
    if s.kind != 0 { out.append(f("kind", .name(kinds[Int(s.kind)]))) }
    if s.startTimeUnixNano != 0 { out.append(f("start_time_unix_nano", num(s.startTimeUnixNano))) }
    if s.endTimeUnixNano != 0 { out.append(f("end_time_unix_nano", num(s.endTimeUnixNano))) }
    out += trackingAttrs("attributes", s.tracking)
    out += attrs("attributes", s.attributes)
    if s.droppedAttributesCount != 0 { out.append(f("dropped_attributes_count", num(s.droppedAttributesCount))) }
    for e in s.events {
        var ef: [TextField] = []
        if e.timeUnixNano != 0 { ef.append(f("time_unix_nano", num(e.timeUnixNano))) }
        if !e.name.isEmpty { ef.append(f("name", str(e.name))) }
        ef += attrs("attributes", e.attributes)
        out.append(f("events", .message(ef)))
    }
    for l in s.links {
        var lf: [TextField] = []
        if !l.traceID.isEmpty { lf.append(f("trace_id", .bytes(l.traceID))) }
        if !l.spanID.isEmpty { lf.append(f("span_id", .bytes(l.spanID))) }
        lf += attrs("attributes", l.attributes)
        out.append(f("links", .message(lf)))
    }
    if let st = s.status {
        var sf: [TextField] = []
        if !st.message.isEmpty { sf.append(f("message", str(st.message))) }
        if st.code != 0 {
            sf.append(f("code", .name(["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"][Int(st.code)])))
        }
        out.append(f("status", .message(sf)))
    }
    if s.flags != 0 { out.append(f("flags", num(s.flags))) }
    return out
}

func temporalityName(_ t: Int32) -> String {
    ["AGGREGATION_TEMPORALITY_UNSPECIFIED", "AGGREGATION_TEMPORALITY_DELTA", "AGGREGATION_TEMPORALITY_CUMULATIVE"][
        Int(t)]
}

func tree(_ p: NumberDataPoint) -> [TextField] {
    var out: [TextField] = []
    if p.startTimeUnixNano != 0 { out.append(f("start_time_unix_nano", num(p.startTimeUnixNano))) }
    if p.timeUnixNano != 0 { out.append(f("time_unix_nano", num(p.timeUnixNano))) }
    var asInt: TextField? = nil
    switch p.value {
    case .double(let d): out.append(f("as_double", dbl(d)))
    case .int(let i): asInt = f("as_int", num(i))
    }
    if let asInt { out.append(asInt) }
    out += trackingAttrs("attributes", p.tracking)
    out += attrs("attributes", p.attributes)
    if p.flags != 0 { out.append(f("flags", num(p.flags))) }
    return out
}

func tree(_ p: HistogramDataPoint) -> [TextField] {
    var out: [TextField] = []
    if p.startTimeUnixNano != 0 { out.append(f("start_time_unix_nano", num(p.startTimeUnixNano))) }
    if p.timeUnixNano != 0 { out.append(f("time_unix_nano", num(p.timeUnixNano))) }
    if p.count != 0 { out.append(f("count", num(p.count))) }
    if let s = p.sum { out.append(f("sum", dbl(s))) }
    out += p.bucketCounts.map { f("bucket_counts", num($0)) }
    out += p.explicitBounds.map { f("explicit_bounds", dbl($0)) }
    out += trackingAttrs("attributes", p.tracking)
    out += attrs("attributes", p.attributes)
    if p.flags != 0 { out.append(f("flags", num(p.flags))) }
    if let m = p.min { out.append(f("min", dbl(m))) }
    if let m = p.max { out.append(f("max", dbl(m))) }
    return out
}

func tree(_ m: Metric) -> [TextField] {
    var out: [TextField] = []
    if !m.name.isEmpty { out.append(f("name", str(m.name))) }
    if !m.description.isEmpty { out.append(f("description", str(m.description))) }
    if !m.unit.isEmpty { out.append(f("unit", str(m.unit))) }
    switch m.data {
    case .gauge(let points):
        out.append(f("gauge", .message(points.map { f("data_points", .message(tree($0))) })))
    case .sum(let points, let t, let mono):
        var sf = points.map { f("data_points", .message(tree($0))) }
        if t != 0 { sf.append(f("aggregation_temporality", .name(temporalityName(t)))) }
        if mono { sf.append(f("is_monotonic", .name("true"))) }
        out.append(f("sum", .message(sf)))
    case .histogram(let points, let t):
        var hf = points.map { f("data_points", .message(tree($0))) }
        if t != 0 { hf.append(f("aggregation_temporality", .name(temporalityName(t)))) }
        out.append(f("histogram", .message(hf)))
    }
    return out
}

/// The whole request, with the signal's container names.
func tree<Item: OTLPItem>(_ request: ExportRequest<Item>, item: (Item) -> [TextField]) -> [TextField] {
    let (rName, sName, iName): (String, String, String) =
        switch Item.signal {
        case .logs: ("resource_logs", "scope_logs", "log_records")
        case .traces: ("resource_spans", "scope_spans", "spans")
        case .metrics: ("resource_metrics", "scope_metrics", "metrics")
        }
    return request.resources.map { r in
        var rf: [TextField] = []
        if let res = r.resource { rf.append(f("resource", .message(tree(res)))) }
        for s in r.scopes {
            var sf: [TextField] = []
            if let scope = s.scope { sf.append(f("scope", .message(tree(scope)))) }
            sf += s.items.map { f(iName, .message(item($0))) }
            if !s.schemaURL.isEmpty { sf.append(f("schema_url", str(s.schemaURL))) }
            rf.append(f(sName, .message(sf)))
        }
        if !r.schemaURL.isEmpty { rf.append(f("schema_url", str(r.schemaURL))) }
        return f(rName, .message(rf))
    }
}

/// Finds the first difference between two trees, as a path, for readable failures.
func firstDifference(_ a: [TextField], _ b: [TextField], path: String = "") -> String? {
    for i in 0..<max(a.count, b.count) {
        guard i < a.count else { return "\(path)[\(i)]: missing on the left, right has \(b[i].name)" }
        guard i < b.count else { return "\(path)[\(i)]: left has \(a[i].name), missing on the right" }
        let p = "\(path)/\(a[i].name)[\(i)]"
        if a[i].name != b[i].name { return "\(p): field \(a[i].name) vs \(b[i].name)" }
        switch (a[i].value, b[i].value) {
        case (.message(let x), .message(let y)):
            if let d = firstDifference(x, y, path: p) { return d }
        default:
            if a[i].value != b[i].value { return "\(p): \(a[i].value) vs \(b[i].value)" }
        }
    }
    return nil
}
