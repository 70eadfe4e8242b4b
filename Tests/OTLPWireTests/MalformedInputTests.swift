import OTLPWire
import Testing

/// Payloads off the wire: every malformation gives a `WireError` with the right offset, never a crash.
@Suite("Scanner on malformed input")
struct MalformedInputTests {
    func scan(_ signal: Signal, _ bytes: [UInt8]) -> Result<ScanCounts, WireError> {
        var v = IgnoreTracking()
        return bytes.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try OTLPScanner.scan(signal, raw, visitor: &v)) } catch {
                return .failure(error)
            }
        }
    }

    func count(_ signal: Signal, _ bytes: [UInt8]) -> Result<ScanCounts, WireError> {
        bytes.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try OTLPScanner.count(signal, raw)) } catch {
                return .failure(error)
            }
        }
    }

    @Test("empty input is an empty request")
    func empty() {
        #expect(scan(.logs, []) == .success(ScanCounts()))
    }

    @Test("specific errors carry their offsets")
    func specific() {
        // Field 1, wire type 2, length 5 but only 2 bytes follow.
        #expect(scan(.logs, [0x0a, 0x05, 0x01, 0x02]) == .failure(.lengthOutOfBounds(offset: 1, length: 5)))
        // Wire type 7 at offset 0.
        #expect(scan(.logs, [0x0f]) == .failure(.invalidWireType(offset: 0, wireType: 7)))
        // Field number 0.
        #expect(scan(.traces, [0x02, 0x00]) == .failure(.invalidFieldNumber(offset: 0, field: 0)))
        // An 11-byte varint after a valid first field.
        let long: [UInt8] = [0x08, 0x01, 0x08] + Array(repeating: 0xff, count: 10) + [0x01]
        #expect(scan(.metrics, long) == .failure(.varintTooLong(offset: 3)))
        // A varint cut short.
        #expect(scan(.logs, [0x08, 0x80]) == .failure(.truncated(offset: 2)))
        // fixed64 cut short.
        #expect(scan(.logs, [0x09, 1, 2, 3]) == .failure(.truncated(offset: 1)))
        // An end-group tag with no start.
        #expect(scan(.logs, [0x0c]) == .failure(.unmatchedEndGroup(offset: 1)))
        // Errors deep inside a log record are reported at their absolute offset:
        // resource_logs { scope_logs { log_records { wire type 6 } } }
        #expect(
            scan(.logs, [0x0a, 0x04, 0x12, 0x02, 0x12, 0x00])
                == .success(
                    {
                        var c = ScanCounts(); c.resources = 1; c.scopes = 1; c.items = 1; return c
                    }()))
        #expect(
            scan(.logs, [0x0a, 0x05, 0x12, 0x03, 0x12, 0x01, 0x0e])
                == .failure(.invalidWireType(offset: 6, wireType: 6)))
    }

    @Test("group nesting is bounded")
    func depth() {
        // field 5 start-group, nested 100 deep inside a ResourceLogs.
        var inner: [UInt8] = Array(repeating: 0x2b, count: 100) + Array(repeating: 0x2c, count: 100)
        inner = [0x0a, UInt8(inner.count & 0x7f) | 0x80, UInt8(inner.count >> 7)] + inner
        guard case .failure(.depthExceeded) = scan(.logs, inner) else {
            Issue.record("expected depthExceeded")
            return
        }
        // 10 deep is fine.
        var ok: [UInt8] = Array(repeating: 0x2b, count: 10) + Array(repeating: 0x2c, count: 10)
        ok = [0x0a, UInt8(ok.count)] + ok
        #expect(scan(.logs, ok).map(\.resources) == .success(1))
    }

    @Test("every truncation of valid requests is an error or a smaller valid request", arguments: Signal.allCases)
    func truncations(signal: Signal) throws {
        var shape = PayloadShape(signal: signal, batchSize: 6)
        shape.attributes = 5
        shape.pointsPerMetric = 2
        let full = BatchTemplate(shape: shape, seed: 2).withMessage { Array($0) }
        for cut in 0..<full.count {
            let prefix = Array(full[0..<cut])
            switch scan(signal, prefix) {
            case .success(let c): #expect(c.items <= 6)
            case .failure(let e): #expect(e.offset <= cut)
            }
            _ = count(signal, prefix)
        }
    }

    @Test("random byte flips never crash, and errors point inside the input", arguments: Signal.allCases)
    func mutations(signal: Signal) {
        var shape = PayloadShape(signal: signal, batchSize: 20)
        shape.attributes = 6
        let base = BatchTemplate(shape: shape, seed: 3).withMessage { Array($0) }
        var rng = SplitMix64(seed: 99)
        for _ in 0..<3_000 {
            var m = base
            for _ in 0..<(1 + rng.below(4)) { m[rng.below(m.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            if case .failure(let e) = scan(signal, m) { #expect(e.offset >= 0 && e.offset <= m.count) }
            if case .failure(let e) = count(signal, m) { #expect(e.offset >= 0 && e.offset <= m.count) }
        }
        for _ in 0..<2_000 {
            let junk = rng.bytes(rng.below(64))
            _ = scan(signal, junk)
            _ = count(signal, junk)
        }
    }

    @Test("a oneof seen twice keeps its last value, as protobuf parsers do")
    func oneofLastWins() {
        // metric { gauge { data_points {} data_points {} } sum { data_points {} } }: protobuf keeps only `sum`.
        let metric: [UInt8] = [0x2a, 0x04, 0x0a, 0x00, 0x0a, 0x00, 0x3a, 0x02, 0x0a, 0x00]
        let scope: [UInt8] = [0x12, UInt8(metric.count)] + metric
        let resource: [UInt8] = [0x12, UInt8(scope.count)] + scope
        let request: [UInt8] = [0x0a, UInt8(resource.count)] + resource
        #expect(scan(.metrics, request).map(\.items) == .success(1))
    }
}

@Suite("gRPC message framing")
struct FramingTests {
    func stream(_ messages: [[UInt8]], compressed: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for m in messages {
            out.append(compressed ? 1 : 0)
            out += withUnsafeBytes(of: UInt32(m.count).bigEndian) { Array($0) }
            out += m
        }
        return out
    }

    @Test("messages come out whole for every chunk size")
    func chunks() throws {
        var rng = SplitMix64(seed: 4)
        let messages: [[UInt8]] = [[], rng.bytes(1), rng.bytes(4), rng.bytes(5), rng.bytes(300), [], rng.bytes(70_000)]
        let bytes = stream(messages)
        for size in [1, 2, 3, 4, 5, 6, 7, 13, 64, 1000, 4096, 65_535, bytes.count] {
            var d = GRPCMessageDecoder()
            var got: [[UInt8]] = []
            var i = 0
            while i < bytes.count {
                let end = min(i + size, bytes.count)
                try bytes[i..<end].withUnsafeBytes { raw in try d.feed(raw) { _, m in got.append(Array(m)) } }
                i = end
            }
            try d.finish()
            #expect(got == messages, "chunk size \(size)")
            #expect(d.isIdle)
        }
    }

    @Test("bad flag, oversized and truncated streams")
    func errors() throws {
        var d = GRPCMessageDecoder(maxMessageSize: 10)
        #expect(throws: GRPCFramingError.invalidCompressedFlag(offset: 0, value: 2)) {
            try ([2, 0, 0, 0, 1, 9] as [UInt8]).withUnsafeBytes { raw in try d.feed(raw) { _, _ in } }
        }
        var d2 = GRPCMessageDecoder(maxMessageSize: 10)
        #expect(throws: GRPCFramingError.messageTooLarge(offset: 6, length: 11, limit: 10)) {
            try ([0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 11] as [UInt8]).withUnsafeBytes { raw in try d2.feed(raw) { _, _ in } }
        }
        var d3 = GRPCMessageDecoder()
        try ([0, 0, 0, 0, 9, 1, 2] as [UInt8]).withUnsafeBytes { raw in try d3.feed(raw) { _, _ in } }
        #expect(throws: GRPCFramingError.truncated(offset: 0, missing: 7)) { try d3.finish() }
        var d4 = GRPCMessageDecoder()
        try ([0, 0, 0] as [UInt8]).withUnsafeBytes { raw in try d4.feed(raw) { _, _ in } }
        #expect(throws: GRPCFramingError.truncated(offset: 0, missing: 2)) { try d4.finish() }
    }

    @Test("parseSingle reads one framed file and rejects anything else")
    func single() throws {
        let one = stream([[1, 2, 3]], compressed: true)
        let (c, m) = try one.withUnsafeBytes { raw in
            let r = try GRPCFrame.parseSingle(raw)
            return (r.compressed, Array(r.message))
        }
        #expect(c && m == [1, 2, 3])
        #expect(throws: GRPCFramingError.self) { try (one + [0]).withUnsafeBytes { _ = try GRPCFrame.parseSingle($0) } }
        #expect(throws: GRPCFramingError.self) {
            try stream([[1], [2]]).withUnsafeBytes { _ = try GRPCFrame.parseSingle($0) }
        }
        #expect(throws: GRPCFramingError.self) { try [UInt8]().withUnsafeBytes { _ = try GRPCFrame.parseSingle($0) } }
    }
}
