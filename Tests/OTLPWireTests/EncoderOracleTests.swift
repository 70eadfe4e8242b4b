import Foundation
import OTLPWire
import Testing

/// The encoders checked field by field against an independent decoder: `protoc --decode` over the
/// OTLP schema in Fixtures/otlp (written from the OTLP field numbers).
@Suite("Encoder vs protoc --decode", .timeLimit(.minutes(3)))
struct EncoderOracleTests {
    func check<Item: OTLPItem>(_ request: ExportRequest<Item>, item: (Item) -> [TextField]) throws {
        let bytes = request.encodedBytes()
        #expect(bytes.count == request.encodedSize)
        let decoded = try TextTreeParser.parse(try Protoc.decode(Item.signal, bytes))
        let expected = tree(request, item: item)
        let diff = firstDifference(expected, decoded)
        #expect(diff == nil, "first difference (model vs protoc): \(diff ?? "")")
    }

    @Test("rich logs, every field and AnyValue kind", arguments: [true, false])
    func richLogs(tracking: Bool) throws { try check(Rich.logs(tracking: tracking), item: tree) }

    @Test("rich traces, events, links, status", arguments: [true, false])
    func richTraces(tracking: Bool) throws { try check(Rich.traces(tracking: tracking), item: tree) }

    @Test("rich metrics, gauge, sum, histogram", arguments: [true, false])
    func richMetrics(tracking: Bool) throws { try check(Rich.metrics(tracking: tracking), item: tree) }

    @Test("randomized generated shapes", arguments: Signal.allCases)
    func randomized(signal: Signal) throws {
        var rng = SplitMix64(seed: 0x5eed ^ UInt64(signal.rawValue.count))
        for _ in 0..<12 {
            let shape = randomShape(signal, &rng)
            let seed = rng.next()
            switch signal {
            case .logs: try check(PayloadGenerator.logs(shape, seed: seed, runID: RunID(seed)), item: tree)
            case .traces: try check(PayloadGenerator.traces(shape, seed: seed, runID: RunID(seed)), item: tree)
            case .metrics: try check(PayloadGenerator.metrics(shape, seed: seed, runID: RunID(seed)), item: tree)
            }
        }
    }

    /// A patched template must decode exactly as the model with the patched values written fresh.
    func checkTemplate<Item: OTLPItem>(_ request: ExportRequest<Item>, item: (Item) -> [TextField]) throws {
        let template = BatchTemplate(request)
        var rng = SplitMix64(seed: 77)
        for round in 0..<3 {
            let first = rng.next() >> 2
            let sent = 1_700_000_000_000_000_000 + rng.next() % 1_000_000_000_000_000
            let run = RunID(rng.next())
            template.setRunID(run)
            template.patch(firstSeq: first, sentUnixNano: sent)
            let expected = patched(request, firstSeq: first, sent: sent, runID: run)
            let message = template.withMessage { Array($0) }
            #expect(message == expected.encodedBytes(), "round \(round): patched bytes differ from a fresh encode")
            let decoded = try TextTreeParser.parse(try Protoc.decode(Item.signal, message))
            let diff = firstDifference(tree(expected, item: item), decoded)
            #expect(diff == nil, "round \(round): \(diff ?? "")")
            // The gRPC header in front states the message length.
            let framed = template.withFramed { Array($0) }
            #expect(framed[0] == 0)
            #expect(Int(framed[1]) << 24 | Int(framed[2]) << 16 | Int(framed[3]) << 8 | Int(framed[4]) == message.count)
        }
    }

    @Test("patched templates decode as freshly encoded requests")
    func templates() throws {
        try checkTemplate(Rich.logs(tracking: true), item: tree)
        try checkTemplate(Rich.traces(tracking: true), item: tree)
        try checkTemplate(Rich.metrics(tracking: true), item: tree)
        try checkTemplate(Rich.logs(tracking: false), item: tree)
        var shape = PayloadShape(signal: .metrics, batchSize: 37)
        shape.pointsPerMetric = 4
        try checkTemplate(PayloadGenerator.metrics(shape, seed: 3, runID: RunID(3)), item: tree)
        // Items under 128 bytes and over 16 KiB: backpatched prefixes shrink and grow, moving the offsets.
        var tiny = PayloadShape(signal: .logs, batchSize: 40)
        tiny.bodySize = 0
        tiny.attributes = 0
        try checkTemplate(PayloadGenerator.logs(tiny, seed: 4, runID: RunID(4)), item: tree)
        var huge = PayloadShape(signal: .logs, batchSize: 3)
        huge.bodySize = 40_000
        try checkTemplate(PayloadGenerator.logs(huge, seed: 5, runID: RunID(5)), item: tree)
        var hugeSpans = PayloadShape(signal: .traces, batchSize: 2)
        hugeSpans.attributes = 3
        hugeSpans.attributeSize = 20_000
        try checkTemplate(PayloadGenerator.traces(hugeSpans, seed: 6, runID: RunID(6)), item: tree)
    }

    @Test("encoding appends after existing content")
    func appends() {
        let request = Rich.logs(tracking: true)
        let b = WireBuffer(capacity: 4)
        [UInt8(1), 2, 3].withUnsafeBytes { b.append($0) }
        request.encode(into: b)
        #expect(b.bytes == [1, 2, 3] + request.encodedBytes())
        #expect(b.count == 3 + request.encodedSize)
    }
}
