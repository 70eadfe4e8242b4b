// A request encoded once, then reused for every batch: the fields that change per batch or per item
// (timestamps, sequence numbers, send time) are fixed-width on the wire and rewritten in place, with
// no allocation and no byte moved. The gRPC message prefix sits in front of the message, so the
// framed request is one contiguous buffer ready for the transport.

/// An encoded export request whose per-batch fields are patched in place.
///
/// Owned by one thread at a time (it is mutable); give each sender thread its own templates.
public final class BatchTemplate: @unchecked Sendable {
    /// The signal of the request.
    public let signal: Signal
    /// Items in the request (log records, spans, data points).
    public let itemCount: Int
    /// Whether items carry the tracking attributes.
    public let tracked: Bool
    /// Nanoseconds between an item's start timestamp and its end (send) timestamp.
    public let startOffsetNanos: UInt64

    /// Bytes of the gRPC length-prefixed-message header in front of the message.
    public static let grpcHeaderSize = 5

    @usableFromInline let buffer: WireBuffer
    /// Per item: offsets of timeStart, timeEnd, seq, sent, intended (-1 when absent), from the buffer's
    /// start (`TemplateRecorder.stride` entries per item).
    @usableFromInline let entries: [Int32]
    @usableFromInline let runIDOffsets: [Int32]

    /// Encodes `request` into a new template.
    public init<Item: OTLPItem>(_ request: ExportRequest<Item>) {
        let buf = WireBuffer(capacity: BatchTemplate.grpcHeaderSize + request.encodedSize)
        buf.resize(to: BatchTemplate.grpcHeaderSize)
        var recorder = TemplateRecorder()
        request.encode(into: buf, patches: &recorder)
        buffer = buf
        entries = recorder.entries
        runIDOffsets = recorder.runIDs
        signal = Item.signal
        itemCount = recorder.entries.count / TemplateRecorder.stride
        tracked = recorder.entries.count >= TemplateRecorder.stride && recorder.entries[2] >= 0
        switch Item.signal {
        case .logs: startOffsetNanos = 0
        case .traces: startOffsetNanos = PayloadGenerator.spanDurationNanos
        case .metrics: startOffsetNanos = PayloadGenerator.metricIntervalNanos
        }
        // gRPC "Length-Prefixed-Message": compressed flag 0, then the length as 4 bytes big-endian.
        // Source: grpc/grpc doc/PROTOCOL-HTTP2.md.
        let length = UInt32(buf.count - BatchTemplate.grpcHeaderSize)
        buf.base.storeBytes(of: 0, as: UInt8.self)
        buf.base.storeBytes(of: length.bigEndian, toByteOffset: 1, as: UInt32.self)
    }

    /// A template for `shape` generated from `seed`.
    public convenience init(shape: PayloadShape, seed: UInt64, runID: RunID = RunID(0)) {
        switch shape.signal {
        case .logs: self.init(PayloadGenerator.logs(shape, seed: seed, runID: runID))
        case .traces: self.init(PayloadGenerator.traces(shape, seed: seed, runID: runID))
        case .metrics: self.init(PayloadGenerator.metrics(shape, seed: seed, runID: runID))
        }
    }

    /// Bytes of the encoded message (without the gRPC header).
    public var messageSize: Int { buffer.count - BatchTemplate.grpcHeaderSize }

    /// Rewrites `pipeperf.run_id` on every resource (once per run, not per batch).
    public func setRunID(_ id: RunID) {
        for o in runIDOffsets { id.storeHex(buffer.base + Int(o)) }
    }

    /// Rewrites the per-batch fields: item i gets sequence number `firstSeq + i`, its end timestamp
    /// and `pipeperf.sent_ns` become `sentUnixNano`, its start timestamp `sentUnixNano - startOffsetNanos`,
    /// `pipeperf.intended_ns` becomes `intendedUnixNano` (the send time when nil).
    /// No allocation; the cost is a few stores per item.
    @inlinable
    public func patch(firstSeq: UInt64, sentUnixNano: UInt64, intendedUnixNano: UInt64? = nil) {
        let base = buffer.base
        // Wrapping subtraction: send times are Unix nanoseconds (> 1.7e18), far above the offset.
        let start = sentUnixNano &- startOffsetNanos
        // The send time is the same for every item: encode its padded varint once, copy it per item.
        var sentVarint: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &sentVarint) { WirePatch.storePaddedVarint($0.baseAddress!, sentUnixNano) }
        let sentLow = sentVarint.0
        let sentHigh = UInt8(truncatingIfNeeded: sentVarint.1)
        var dueVarint: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &dueVarint) {
            WirePatch.storePaddedVarint($0.baseAddress!, intendedUnixNano ?? sentUnixNano)
        }
        let dueLow = dueVarint.0
        let dueHigh = UInt8(truncatingIfNeeded: dueVarint.1)
        entries.withUnsafeBufferPointer { e in
            var i = 0
            var seq = firstSeq
            let n = e.count
            while i < n {
                WirePatch.storeFixed64(base + Int(e[i]), start)
                WirePatch.storeFixed64(base + Int(e[i &+ 1]), sentUnixNano)
                let seqAt = Int(e[i &+ 2])
                if seqAt >= 0 {
                    WirePatch.storePaddedVarint(base + seqAt, seq)
                    let sentAt = base + Int(e[i &+ 3])
                    sentAt.storeBytes(of: sentLow, as: UInt64.self)
                    sentAt.storeBytes(of: sentHigh, toByteOffset: 8, as: UInt8.self)
                    let dueAt = base + Int(e[i &+ 4])
                    dueAt.storeBytes(of: dueLow, as: UInt64.self)
                    dueAt.storeBytes(of: dueHigh, toByteOffset: 8, as: UInt8.self)
                }
                // Sequence numbers stay below 2^63 (documented); the add cannot wrap before that.
                seq &+= 1
                i &+= 5
            }
        }
    }

    /// The encoded message, without the gRPC header (for OTLP/HTTP bodies).
    @inlinable
    public func withMessage<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: buffer.base + BatchTemplate.grpcHeaderSize, count: messageSize))
    }

    /// The gRPC-framed message: flag 0, 4-byte big-endian length, message.
    @inlinable
    public func withFramed<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: buffer.base, count: buffer.count))
    }
}

/// Collects patch offsets while a template is encoded.
struct TemplateRecorder: PatchRecorder {
    /// Entries per item: timeStart, timeEnd, seq, sent, intended.
    static let stride = 5
    var entries: [Int32] = []
    var runIDs: [Int32] = []
    var current: (Int32, Int32, Int32, Int32, Int32) = (-1, -1, -1, -1, -1)

    mutating func record(_ kind: PatchKind, _ offset: Int) {
        let o = Int32(offset)
        switch kind {
        case .timeStart: current.0 = o
        case .timeEnd: current.1 = o
        case .seq: current.2 = o
        case .sent: current.3 = o
        case .intended: current.4 = o
        case .runID: runIDs.append(o)
        }
    }

    mutating func endItem() {
        entries.append(contentsOf: [current.0, current.1, current.2, current.3, current.4])
        current = (-1, -1, -1, -1, -1)
    }

    mutating func shift(from offset: Int, by delta: Int) {
        let from = Int32(offset), d = Int32(delta)
        // A moved body holds whole items, and items are recorded in order: walk back item by item while
        // an item's first timestamp lies inside the moved range.
        let n = TemplateRecorder.stride
        var i = entries.count - n
        while i >= 0 && entries[i] >= from {
            for k in i..<(i + n) where entries[k] >= 0 { entries[k] += d }
            i -= n
        }
        for k in runIDs.indices where runIDs[k] >= from { runIDs[k] += d }
        if current.0 >= from { current.0 += d }
        if current.1 >= from { current.1 += d }
        if current.2 >= from { current.2 += d }
        if current.3 >= from { current.3 += d }
        if current.4 >= from { current.4 += d }
    }
}

/// A pool of distinct templates of one shape, built from one seed: the same seed gives the same bytes.
/// Senders rotate through it so that compression and caches in the pipeline see varied content.
public final class PayloadPool: @unchecked Sendable {
    /// The templates, each built from a seed derived from the pool's seed.
    public let templates: [BatchTemplate]
    public let shape: PayloadShape

    /// Builds `distinct` templates (at least one).
    public init(shape: PayloadShape, distinct: Int, seed: UInt64, runID: RunID = RunID(0)) {
        var seeds = SplitMix64(seed: seed)
        self.shape = shape
        templates = (0..<max(1, distinct)).map { _ in BatchTemplate(shape: shape, seed: seeds.next(), runID: runID) }
    }

    /// The template for batch number `batch` (round robin).
    @inlinable
    public func template(forBatch batch: UInt64) -> BatchTemplate {
        templates[Int(batch % UInt64(templates.count))]
    }
}
