// The statistics behind replicates, `pipeperf compare` and `pipeperf history`: summaries with a Student t
// confidence interval, Welch's interval for a difference of means, and change points in a series by
// E-divisive means (Matteson & James 2014, the method Apache Otava uses) with a permutation test.
// Pure functions over Double arrays; deterministic (the permutations come from a seeded generator).

import OTLPWire

#if canImport(Glibc)
import Glibc
#endif

/// Mean, standard deviation, coefficient of variation and a confidence interval of the mean.
public struct Summary: Sendable, Equatable {
    public var n: Int
    public var mean: Double
    /// Sample standard deviation (n − 1); 0 for one value.
    public var stddev: Double
    /// stddev / |mean| (0 when both are 0, infinite when only the mean is 0).
    public var cv: Double
    /// The interval of the mean at `confidence` (Student t, n − 1 degrees of freedom); nil for one value.
    public var ciLow: Double?
    public var ciHigh: Double?
    public var confidence: Double

    public init(_ values: [Double], confidence: Double = 0.90) {
        n = values.count
        self.confidence = confidence
        mean = n == 0 ? .nan : values.reduce(0, +) / Double(n)
        if n > 1 {
            let m = mean
            stddev = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)).squareRoot()
            let half =
                Statistics.tQuantile(1 - (1 - confidence) / 2, df: Double(n - 1)) * stddev / Double(n).squareRoot()
            ciLow = mean - half
            ciHigh = mean + half
        } else {
            stddev = 0
        }
        cv = stddev == 0 ? 0 : mean == 0 ? .infinity : stddev / Swift.abs(mean)
    }
}

/// Welch's interval of candidate − baseline, in the metric's units and in % of the baseline mean.
public struct Difference: Sendable, Equatable {
    public var delta: Double
    public var ciLow: Double
    public var ciHigh: Double
    /// nil when the baseline mean is 0 (a percentage of nothing).
    public var deltaPct: Double?
    public var ciLowPct: Double?
    public var ciHighPct: Double?
    public var df: Double
}

public enum Statistics {
    /// Welch's t interval of mean(candidate) − mean(baseline) at `confidence`; nil when a side has fewer
    /// than two values (no variance: the verdict is impossible).
    public static func welch(baseline b: [Double], candidate c: [Double], confidence: Double = 0.90) -> Difference? {
        guard b.count >= 2, c.count >= 2 else { return nil }
        let sb = Summary(b), sc = Summary(c)
        let vb = sb.stddev * sb.stddev / Double(b.count), vc = sc.stddev * sc.stddev / Double(c.count)
        let delta = sc.mean - sb.mean
        let se = (vb + vc).squareRoot()
        var df = Double.infinity
        var half = 0.0
        if se > 0 {
            let denominator = vb * vb / Double(b.count - 1) + vc * vc / Double(c.count - 1)
            df = denominator > 0 ? (vb + vc) * (vb + vc) / denominator : .infinity
            half = tQuantile(1 - (1 - confidence) / 2, df: df) * se
        }
        var d = Difference(delta: delta, ciLow: delta - half, ciHigh: delta + half, df: df)
        if sb.mean != 0 {
            let base = Swift.abs(sb.mean)
            d.deltaPct = delta / base * 100
            d.ciLowPct = d.ciLow / base * 100
            d.ciHighPct = d.ciHigh / base * 100
        }
        return d
    }

    // MARK: Student t

    /// The Student t distribution's CDF at `t` with `df` degrees of freedom (the normal one for infinite df).
    public static func tCDF(_ t: Double, df: Double) -> Double {
        if df.isInfinite { return 0.5 * erfc(-t / 2.0.squareRoot()) }
        let x = df / (df + t * t)
        let tail = 0.5 * incompleteBeta(x, a: df / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// The p quantile of Student t with `df` degrees of freedom (0 < p < 1), by bisection of the CDF.
    public static func tQuantile(_ p: Double, df: Double) -> Double {
        precondition(p > 0 && p < 1, "a quantile needs 0 < p < 1")
        if p < 0.5 { return -tQuantile(1 - p, df: df) }
        var lo = 0.0, hi = 1.0
        while tCDF(hi, df: df) < p { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if tCDF(mid, df: df) < p { lo = mid } else { hi = mid }
            if hi - lo < 1e-12 * Swift.max(1, hi) { break }
        }
        return (lo + hi) / 2
    }

    /// The regularized incomplete beta function I_x(a, b), by its continued fraction (modified Lentz).
    public static func incompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x))
        // The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
        if x > (a + 1) / (a + b + 2) { return 1 - incompleteBeta(1 - x, a: b, b: a) }
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if Swift.abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...300 {
            let m = Double(m)
            // Even step.
            var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + num * d
            if Swift.abs(d) < tiny { d = tiny }
            c = 1 + num / c
            if Swift.abs(c) < tiny { c = tiny }
            d = 1 / d
            f *= d * c
            // Odd step.
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + num * d
            if Swift.abs(d) < tiny { d = tiny }
            c = 1 + num / c
            if Swift.abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            f *= delta
            if Swift.abs(delta - 1) < 1e-15 { break }
        }
        return front * f / a
    }

    // MARK: Change points

    /// Change points of `series` by E-divisive means: the split that maximises the energy distance between
    /// the two sides is kept when a permutation test finds it significant (p ≤ `significance`, from
    /// `permutations` shuffles), then each side is searched again. Returns the indexes where a new segment
    /// starts (the first value after each change), in order. `minSegment` values at least on each side.
    public static func changePoints(
        _ series: [Double], significance: Double = 0.01, permutations: Int = 199, minSegment: Int = 3,
        seed: UInt64 = 0x5eed
    ) -> [Int] {
        var rng = SplitMix64(seed: seed)
        var found: [Int] = []
        var pending = [(0, series.count)]
        while let (lo, hi) = pending.popLast() {
            let segment = Array(series[lo..<hi])
            guard let (split, q) = bestSplit(segment, minSegment: minSegment) else { continue }
            var atLeast = 0
            var shuffled = segment
            for _ in 0..<permutations {
                shuffle(&shuffled, &rng)
                if let (_, qp) = bestSplit(shuffled, minSegment: minSegment), qp >= q { atLeast += 1 }
            }
            let p = Double(atLeast + 1) / Double(permutations + 1)
            guard p <= significance else { continue }
            found.append(lo + split)
            pending.append((lo, lo + split))
            pending.append((lo + split, hi))
        }
        return found.sorted()
    }

    /// The split τ of `x` maximising Q(τ) = τ(n−τ)/n · Ê(τ), Ê the energy distance (α = 1) between
    /// x[..<τ] and x[τ...] (Matteson & James' sample form); nil when `x` is too short to split. O(n²) with prefix sums of distances.
    static func bestSplit(_ x: [Double], minSegment: Int) -> (Int, Double)? {
        let n = x.count
        guard minSegment >= 2, n >= 2 * minSegment else { return nil }
        // For each τ: between = Σ_{a<τ≤b} |x_a − x_b|, left = Σ_{a<b<τ}, right = Σ_{τ≤a<b}, kept up to date
        // as τ moves right; Ê = 2·between/(τm) − left/C(τ,2) − right/C(m,2).
        // rowSum[a] = Σ_b |x_a − x_b| over all b; every pair is counted twice over all rows.
        var rowSum = [Double](repeating: 0, count: n)
        for a in 0..<n { for b in 0..<n { rowSum[a] += Swift.abs(x[a] - x[b]) } }
        let total = rowSum.reduce(0, +) / 2
        var left = 0.0, between = 0.0
        var best: (Int, Double)? = nil
        // Moving x[τ−1] from the right side to the left: its distances to the left become left pairs, its
        // distances to the rest of the right become between pairs.
        var toLeft = [Double](repeating: 0, count: n)  // Σ_{a < τ} |x_a − x_k| for each k, kept up to date
        for tau in 1..<n {
            let k = tau - 1
            let dLeft = toLeft[k]
            let dRight = rowSum[k] - dLeft
            left += dLeft
            between += dRight - dLeft
            for j in 0..<n { toLeft[j] += Swift.abs(x[k] - x[j]) }
            let right = total - left - between
            let m = n - tau
            guard tau >= minSegment, m >= minSegment else { continue }
            let e =
                2 * between / Double(tau * m) - 2 * left / Double(tau * (tau - 1))
                - 2 * right / Double(m * (m - 1))
            let q = Double(tau * m) / Double(n) * e
            if best == nil || q > best!.1 { best = (tau, q) }
        }
        return best
    }

    static func shuffle(_ a: inout [Double], _ rng: inout SplitMix64) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, rng.below(i + 1))
        }
    }
}

extension SplitMix64 {
    /// Uniform in [0, 1) (the top 53 bits), for resampling and permutation tests that repeat exactly.
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
}
