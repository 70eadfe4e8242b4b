import OTLPWire
import Testing

@Suite("Protobuf primitives")
struct PrimitiveTests {
    func written(_ body: (inout ProtoWriter) -> Void) -> [UInt8] {
        let b = WireBuffer(capacity: 16)
        var w = ProtoWriter(appendingTo: b)
        body(&w)
        w.finish()
        return b.bytes
    }

    static let knownVarints: [(UInt64, [UInt8])] = [
        (0, [0]), (1, [1]), (127, [0x7f]), (128, [0x80, 0x01]), (300, [0xac, 0x02]),
        (16_383, [0xff, 0x7f]), (16_384, [0x80, 0x80, 0x01]),
        (UInt64.max, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ]

    @Test("varints: known encodings and sizes")
    func varints() throws {
        for (value, bytes) in PrimitiveTests.knownVarints {
            #expect(written { $0.varint(value) } == bytes)
            #expect(ProtoSize.varint(value) == bytes.count)
            let decoded = try bytes.withUnsafeBytes { raw -> UInt64 in
                var r = WireReader(raw)
                let v = try r.varint()
                #expect(r.isAtEnd)
                return v
            }
            #expect(decoded == value)
        }
    }

    @Test(
        "padded varints decode to their value",
        arguments: [UInt64(0), 1, 127, 128, 1 << 35, 1_700_000_000_123_456_789, UInt64(Int64.max)] as [UInt64])
    func padded(value: UInt64) throws {
        let bytes = written { $0.paddedVarint(value) }
        #expect(bytes.count == paddedVarintWidth)
        let decoded = try bytes.withUnsafeBytes { raw -> UInt64 in
            var r = WireReader(raw)
            let v = try r.varint()
            #expect(r.isAtEnd)
            return v
        }
        #expect(decoded == value)
    }

    @Test("fixed64 is little-endian")
    func fixed() {
        #expect(written { $0.fixed64(0x0102_0304_0506_0708) } == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(written { $0.fixed32(0x0102_0304) } == [4, 3, 2, 1])
    }

    /// Reserve-and-backpatch gives exactly the bytes of size-first, whatever the reservation.
    @Test("backpatched prefixes equal size-first prefixes", arguments: [0, 1, 127, 128, 300, 16_383, 16_384, 70_000])
    func backpatch(length: Int) {
        let body = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let sizeFirst = written { w in
            w.lengthPrefix(field: 6, length: body.count)
            body.withUnsafeBytes { w.raw($0) }
            w.varintField(1, 5)
        }
        for reserve in 1...5 {
            let patched = written { w in
                let m = w.beginNested(field: 6, reserve: reserve)
                body.withUnsafeBytes { w.raw($0) }
                w.endNested(m)
                w.varintField(1, 5)
            }
            #expect(patched == sizeFirst, "reserve \(reserve)")
        }
    }

    @Test("nested backpatching")
    func nested() {
        let a = written { w in
            let outer = w.beginNested(field: 1)
            for i in 0..<50 {
                let inner = w.beginNested(field: 2, reserve: 3)
                w.stringField(1, String(repeating: "x", count: i * 5))
                w.endNested(inner)
            }
            w.endNested(outer)
        }
        let b = written { w in
            var total = 0
            for i in 0..<50 { total += ProtoSize.lengthDelimited(2, ProtoSize.lengthDelimited(1, i * 5)) }
            w.lengthPrefix(field: 1, length: total)
            for i in 0..<50 {
                w.lengthPrefix(field: 2, length: ProtoSize.lengthDelimited(1, i * 5))
                w.stringField(1, String(repeating: "x", count: i * 5))
            }
        }
        #expect(a == b)
    }

    @Test("the writer grows from a tiny buffer")
    func growth() {
        let b = WireBuffer(capacity: 1)
        var w = ProtoWriter(appendingTo: b)
        for i in 0..<10_000 { w.varintField(1, UInt64(i)) }
        w.finish()
        var expected = 0
        for i in 0..<10_000 { expected += ProtoSize.varintField(1, UInt64(i)) }
        #expect(b.count == expected)
    }

    @Test("run ids print and parse as 16 hex digits")
    func runIDs() {
        #expect(RunID(0xdead_beef_0000_0001).description == "deadbeef00000001")
        #expect(RunID(hex: "DEADBEEF00000001")?.value == 0xdead_beef_0000_0001)
        #expect(RunID(hex: "deadbeef0000001") == nil)
        #expect(RunID(hex: "deadbeef0000000g") == nil)
        #expect(RunID(hex: "") == nil)
    }

    @Test("SplitMix64 reference values")
    func splitmix() {
        // First outputs for seed 0, from the reference C implementation (Vigna's splitmix64.c).
        var r = SplitMix64(seed: 0)
        #expect(r.next() == 0xe220_a839_7b1d_cdaf)
        #expect(r.next() == 0x6e78_9e6a_a1b9_65f4)
    }
}

@Suite("Payload shapes and pools")
struct PayloadTests {
    @Test("invalid shapes name every bad option")
    func problems() {
        var s = PayloadShape()
        s.batchSize = 0
        s.attributes = 500
        #expect(
            s.problems() == [
                "batch-size must be between 1 and 1000000 (got 0)", "attributes must be between 0 and 128 (got 500)",
            ])
        var t = PayloadShape(signal: .logs, batchSize: 3)
        t.resources = 2
        t.scopesPerResource = 2
        #expect(t.problems().count == 1 && t.problems()[0].hasPrefix("resources × scopes (4)"))
        #expect(PayloadShape().problems().isEmpty)
    }

    @Test("a batch counts items for every signal", arguments: Signal.allCases)
    func batchCounts(signal: Signal) throws {
        for n in [1, 2, 7, 10, 11, 999, 1000] {
            var s = PayloadShape(signal: signal, batchSize: n)
            s.pointsPerMetric = 3
            let t = BatchTemplate(shape: s, seed: 1)
            #expect(t.itemCount == n)
            let counts = try t.withMessage { try OTLPScanner.count(signal, $0) }
            #expect(counts.items == n)
        }
    }

    @Test("same seed, same bytes; another seed, other bytes")
    func determinism() {
        let shape = PayloadShape(signal: .traces, batchSize: 50)
        let a = PayloadPool(shape: shape, distinct: 3, seed: 42)
        let b = PayloadPool(shape: shape, distinct: 3, seed: 42)
        let c = PayloadPool(shape: shape, distinct: 3, seed: 43)
        for i in 0..<3 {
            #expect(a.templates[i].withFramed { Array($0) } == b.templates[i].withFramed { Array($0) })
            #expect(a.templates[i].withFramed { Array($0) } != c.templates[i].withFramed { Array($0) })
        }
        #expect(a.templates[0].withFramed { Array($0) } != a.templates[1].withFramed { Array($0) })
        #expect(a.template(forBatch: 4) === a.templates[1])
    }

    @Test("five or more attributes cover every AnyValue scalar kind")
    func attributeKinds() {
        var s = PayloadShape(signal: .logs, batchSize: 1)
        s.attributes = 5
        let r = PayloadGenerator.logs(s, seed: 1)
        let kinds = r.resources[0].scopes[0].items[0].attributes.map { kv -> String in
            switch kv.value {
            case .string: return "string"
            case .int: return "int"
            case .double: return "double"
            case .bool: return "bool"
            case .bytes: return "bytes"
            default: return "other"
            }
        }
        #expect(kinds == ["string", "int", "double", "bool", "bytes"])
    }

    @Test("body and attribute sizes are exact")
    func sizes() {
        var s = PayloadShape(signal: .logs, batchSize: 20)
        s.bodySize = 117
        s.attributeSize = 33
        let r = PayloadGenerator.logs(s, seed: 5)
        for rec in r.resources[0].scopes[0].items {
            guard case .string(let body)? = rec.body, case .string(let v) = rec.attributes[0].value else {
                Issue.record("unexpected body or attribute kind")
                return
            }
            #expect(body.utf8.count == 117)
            #expect(v.utf8.count == 33)
        }
    }
}

@Suite("Varint decoding, word at a time")
struct VarintDecodingTests {
    /// Every length from 1 to 10 bytes, minimal and padded, with and without slack after the varint,
    /// decodes to the value the byte-at-a-time rule gives.
    @Test("random values at every length and padding")
    func randomValues() throws {
        var rng = SplitMix64(seed: 21)
        for _ in 0..<20_000 {
            let bits = rng.below(65)
            let value = bits == 0 ? 0 : rng.next() >> UInt64(64 - bits)
            var bytes: [UInt8] = []
            var v = value
            while v >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
            // Pad (redundant continuation bytes) up to 10 bytes when the value allows it.
            let pad = rng.below(11 - bytes.count)
            if pad > 0 {
                bytes[bytes.count - 1] |= 0x80
                bytes += Array(repeating: 0x80, count: pad - 1) + [0]
            }
            let slack = rng.below(12)
            let input = bytes + rng.bytes(slack)
            let (decoded, consumed) = try input.withUnsafeBytes { raw -> (UInt64, Int) in
                var r = WireReader(raw)
                let d = try r.varint()
                return (d, r.offset)
            }
            #expect(decoded == value && consumed == bytes.count, "value \(value) bytes \(bytes) slack \(slack)")
        }
    }

    @Test("an 11-byte varint is rejected whatever follows")
    func tooLong() {
        for slack in 0..<12 {
            let input: [UInt8] = Array(repeating: 0xff, count: 10) + [0x01] + Array(repeating: 0, count: slack)
            #expect(throws: WireError.varintTooLong(offset: 0)) {
                try input.withUnsafeBytes { raw in
                    var r = WireReader(raw)
                    _ = try r.varint()
                }
            }
        }
    }
}
