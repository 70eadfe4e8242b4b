import Foundation
import OTLPWire
import Testing

/// Collects what the scanner reports, per item, in order.
struct Recorded: TrackingVisitor {
    var items: [(UInt64?, UInt64?, UInt64?)] = []
    mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?) { items.append((runID, seq, sentUnixNano)) }
}

/// Items and tracking values read from protoc's decoding, independently of the scanner.
struct OracleItems {
    var resources = 0, scopes = 0, items = 0
    var tracked: [(runID: UInt64?, seq: UInt64?, sent: UInt64?)] = []

    init(_ signal: Signal, _ fields: [TextField]) {
        for r in fields {
            guard case .message(let rf) = r.value else { continue }
            resources += 1
            var runID: UInt64? = nil
            for f in rf where f.name == "resource" {
                if case .message(let res) = f.value {
                    for a in res where a.name == "attributes" {
                        if let (k, v) = OracleItems.keyValue(a), k == Tracking.runIDKey,
                            case .bytes(let b)? = v["string_value"]
                        {
                            runID = RunID(hex: String(decoding: b, as: UTF8.self))?.value
                        }
                    }
                }
            }
            for s in rf where s.name.hasPrefix("scope_") {
                guard case .message(let sf) = s.value else { continue }
                scopes += 1
                for i in sf where ["log_records", "spans", "metrics"].contains(i.name) {
                    guard case .message(let itemFields) = i.value else { continue }
                    if signal == .metrics {
                        for data in itemFields where ["gauge", "sum", "histogram"].contains(data.name) {
                            guard case .message(let df) = data.value else { continue }
                            for p in df where p.name == "data_points" {
                                if case .message(let pf) = p.value { add(pf, runID) }
                            }
                        }
                    } else {
                        add(itemFields, runID)
                    }
                }
            }
        }
    }

    mutating func add(_ item: [TextField], _ runID: UInt64?) {
        items += 1
        var seq: UInt64? = nil, sent: UInt64? = nil
        for a in item where a.name == "attributes" {
            guard let (k, v) = OracleItems.keyValue(a), case .number(let n)? = v["int_value"] else { continue }
            if k == Tracking.seqKey { seq = UInt64(n) }
            if k == Tracking.sentKey { sent = UInt64(n) }
        }
        if seq != nil || sent != nil { tracked.append((runID, seq, sent)) }
    }

    static func keyValue(_ f: TextField) -> (String, [String: TextValue])? {
        guard case .message(let kv) = f.value else { return nil }
        var key = ""
        var value: [String: TextValue] = [:]
        for x in kv {
            if x.name == "key", case .bytes(let b) = x.value { key = String(decoding: b, as: UTF8.self) }
            if x.name == "value", case .message(let vf) = x.value { for v in vf { value[v.name] = v.value } }
        }
        return (key, value)
    }
}

@Suite("Scanner vs protoc --decode", .timeLimit(.minutes(3)))
struct ScannerOracleTests {
    func check(_ signal: Signal, _ message: [UInt8]) throws {
        let oracle = OracleItems(signal, try TextTreeParser.parse(try Protoc.decode(signal, message)))
        var seen = Recorded()
        let counts = try message.withUnsafeBytes { try OTLPScanner.scan(signal, $0, visitor: &seen) }
        let fast = try message.withUnsafeBytes { try OTLPScanner.count(signal, $0) }
        #expect(counts.items == oracle.items)
        #expect(counts.resources == oracle.resources)
        #expect(counts.scopes == oracle.scopes)
        #expect(fast.items == oracle.items && fast.resources == oracle.resources && fast.scopes == oracle.scopes)
        #expect(counts.tracked == oracle.tracked.filter { $0.seq != nil }.count)
        #expect(seen.items.count == oracle.tracked.count)
        for (a, b) in zip(seen.items, oracle.tracked) {
            #expect(a.0 == b.runID && a.1 == b.seq && a.2 == b.sent)
        }
    }

    @Test("randomized batches, patched templates", arguments: Signal.allCases)
    func randomized(signal: Signal) throws {
        var rng = SplitMix64(seed: 0xabc ^ UInt64(signal.rawValue.count))
        for _ in 0..<12 {
            let shape = randomShape(signal, &rng)
            let template = BatchTemplate(shape: shape, seed: rng.next(), runID: RunID(rng.next()))
            template.patch(firstSeq: rng.next() >> 3, sentUnixNano: rng.next() >> 2)
            try check(signal, template.withMessage { Array($0) })
        }
    }

    @Test("rich requests")
    func rich() throws {
        for t in [true, false] {
            try check(.logs, Rich.logs(tracking: t).encodedBytes())
            try check(.traces, Rich.traces(tracking: t).encodedBytes())
            try check(.metrics, Rich.metrics(tracking: t).encodedBytes())
        }
    }

    @Test("the tracking values the scanner reads are the ones the template wrote")
    func trackingValues() throws {
        var shape = PayloadShape(signal: .logs, batchSize: 500)
        shape.resources = 2
        shape.scopesPerResource = 3
        let template = BatchTemplate(shape: shape, seed: 9, runID: RunID(0x0123_4567_89ab_cdef))
        template.patch(firstSeq: 10_000, sentUnixNano: 1_800_000_000_123_456_789)
        var seen = Recorded()
        let counts = try template.withMessage { try OTLPScanner.scan(.logs, $0, visitor: &seen) }
        #expect(counts.items == 500 && counts.tracked == 500 && counts.resources == 2 && counts.scopes == 6)
        #expect(seen.items.map { $0.1! } == Array(10_000..<10_500))
        #expect(seen.items.allSatisfy { $0.0 == 0x0123_4567_89ab_cdef && $0.2 == 1_800_000_000_123_456_789 })
    }
}
