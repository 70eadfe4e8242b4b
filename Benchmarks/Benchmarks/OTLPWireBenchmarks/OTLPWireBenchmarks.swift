// Hot paths of OTLPWire, on batches of 1,000 log records of the default shape (about 190 bytes each
// with tracking). Two kinds of benchmark:
// - "per record": wall clock and throughput, scalingFactor .kilo over a batch of 1,000 records, so the
//   figures printed are per record;
// - "allocations": malloc counts per batch, unscaled, so one allocation per batch shows as 1. These
//   are deterministic and are what CI gates on (scripts/bench --check); timings are never gated.

import Benchmark
import OTLPGzip
import OTLPWire

let batch = 1000

func logsShape() -> PayloadShape { PayloadShape(signal: .logs, batchSize: batch) }

func perRecord() -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .throughput], scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 100_000)
}

func allocations() -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.mallocCountTotal], scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 1_000,
        thresholds: [
            .mallocCountTotal: .init(absolute: [.p0: 0, .p25: 0, .p50: 0, .p75: 0, .p90: 0, .p99: 0, .p100: 0])
        ])
}

/// Each benchmark runs its body once per measured iteration; the body handles one batch.
func pair(_ name: String, setup: @escaping () -> () -> Void) {
    Benchmark("\(name) (per record)", configuration: perRecord()) { benchmark, body in
        benchmark.startMeasurement()
        body()
        benchmark.stopMeasurement()
    } setup: {
        setup()
    }
    Benchmark("allocations: \(name) (per batch)", configuration: allocations()) { benchmark, body in
        benchmark.startMeasurement()
        body()
        benchmark.stopMeasurement()
    } setup: {
        setup()
    }
}

let benchmarks: @Sendable () -> Void = {
    pair("encode full request") {
        let request = PayloadGenerator.logs(logsShape(), seed: 1, runID: RunID(1))
        let out = WireBuffer(capacity: request.encodedSize)
        return {
            out.removeAll()
            request.encode(into: out)
            blackHole(out.count)
        }
    }

    pair("template patch") {
        let template = BatchTemplate(shape: logsShape(), seed: 1)
        var seq: UInt64 = 0
        return {
            template.patch(firstSeq: seq, sentUnixNano: 1_800_000_000_000_000_000 &+ seq)
            seq &+= UInt64(batch)
        }
    }

    pair("scan count items") {
        let template = BatchTemplate(shape: logsShape(), seed: 1)
        return {
            let n = template.withMessage { (try? OTLPScanner.count(.logs, $0))?.items ?? -1 }
            precondition(n == batch)
            blackHole(n)
        }
    }

    pair("scan tracking fields") {
        struct Sum: TrackingVisitor {
            var total: UInt64 = 0
            mutating func item(runID: UInt64?, seq: UInt64?, sentUnixNano: UInt64?) { total &+= seq ?? 0 }
        }
        let template = BatchTemplate(shape: logsShape(), seed: 1)
        return {
            var v = Sum()
            let n = template.withMessage { (try? OTLPScanner.scan(.logs, $0, visitor: &v))?.tracked ?? -1 }
            precondition(n == batch)
            blackHole(v.total)
        }
    }

    pair("gzip compress") {
        let template = BatchTemplate(shape: logsShape(), seed: 1)
        let gzip = try! GzipCompressor()
        let out = WireBuffer(capacity: 1 << 20)
        return {
            out.removeAll()
            template.withMessage { _ = gzip.compress($0, appendingTo: out) }
            blackHole(out.count)
        }
    }

    pair("gzip decompress") {
        let template = BatchTemplate(shape: logsShape(), seed: 1)
        let compressed = WireBuffer(capacity: 1 << 20)
        template.withMessage { _ = (try! GzipCompressor()).compress($0, appendingTo: compressed) }
        let gunzip = try! GzipDecompressor()
        let out = WireBuffer(capacity: 1 << 20)
        return {
            out.removeAll()
            compressed.withUnsafeBytes { _ = try? gunzip.decompress($0, appendingTo: out, limit: 1 << 24) }
            blackHole(out.count)
        }
    }
}
