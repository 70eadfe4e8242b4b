// Capacity search: the highest open-loop rate a pipeline sustains within its objectives. A `search:` test
// offers one rate per step (warm-up, then an observation window), judges the step from the same figures
// the report computes, and moves the rate: exponential growth from `from` until a step fails, then
// bisection until the bracket is within `precision`, then a confirming step at the rate found. The
// search is honest about what limited it: the pipeline, the load generator (the answer is a lower bound)
// or the range (`to` passed). Pure logic here; the runner drives it (Runner+Search.swift) and the report
// replays it from the records (SearchReport).

import PipeperfBase

/// What a `search:` test says.
public struct SearchSpec: Sendable {
    /// The component whose execution drives the load (its `rate` option is set per step).
    public var load: String
    public var from: Double
    public var to: Double
    /// The bracket is narrow enough when (high - low) <= precision × low.
    public var precision = 0.02
    public var warmupNanos: UInt64 = 2_000_000_000
    public var observeNanos: UInt64 = 10_000_000_000
    /// Conditions every step must meet, `PATH OP NUMBER` on the step's report.
    public var slo: [String] = []
    /// Deploy and destroy the components around every step instead of once around the search.
    public var redeploy = false
    /// The exponential phase multiplies the rate by this after each passing step.
    public var growth = 2.0
    /// The search stops after this many steps whatever the bracket (its result then says so).
    public var maxSteps = 40
    /// Components to deploy (all, in suite order, by default).
    public var components: [String]? = nil

    /// Received per second must reach this fraction of the offered rate.
    public static let keptUpFraction = 0.99
}

/// How one step went.
public enum StepOutcome: String, Sendable, Equatable {
    /// Kept up with the offered rate and met every objective.
    case passed
    /// Failed because of the pipeline (fell behind, lost items, missed an objective, crashed).
    case pipeline
    /// The load generator could not offer the rate (out of CPU): the pipeline was not tested at it.
    case generator
}

/// What limited the search's answer.
public enum SearchBound: String, Sendable {
    case pipeline, generator, range
}

/// Why a step was run.
public enum StepPurpose: String, Sendable {
    case explore, bisect, confirm
}

/// The search's state: feed it each step's outcome (`record`), ask for the next rate (`next`) until it
/// returns nil; then `result` holds the capacity.
public struct CapacitySearch: Sendable {
    public struct Result: Sendable, Equatable {
        /// The highest rate that passed (confirmed), 0 when none did.
        public var capacity: Double
        public var bound: SearchBound
        /// The bracket: the capacity and the lowest rate that failed above it (nil when none did).
        public var low: Double
        public var high: Double?
        /// Whether the bracket narrowed to the precision (false when the step budget ran out, or the
        /// generator stopped the search first).
        public var converged: Bool
        public var reason: String
    }

    public let from: Double
    public let to: Double
    public let precision: Double
    public let growth: Double
    public let maxSteps: Int
    /// Steps so far: rate, purpose, outcome.
    public private(set) var steps: [(rate: Double, purpose: StepPurpose, outcome: StepOutcome)] = []
    public private(set) var result: Result? = nil
    /// The highest rate known to pass and the lowest known to fail.
    var low: Double? = nil
    var high: Double? = nil
    var pending: (rate: Double, purpose: StepPurpose)? = nil

    public init(from: Double, to: Double, precision: Double, growth: Double = 2, maxSteps: Int = 40) {
        self.from = from
        self.to = Swift.max(from, to)
        self.precision = precision
        self.growth = growth
        self.maxSteps = maxSteps
    }

    public init(_ spec: SearchSpec) {
        self.init(
            from: spec.from, to: spec.to, precision: spec.precision, growth: spec.growth, maxSteps: spec.maxSteps)
    }

    /// The lowest rate worth offering when even `from` fails (below it the answer is "none").
    var floor: Double { Swift.max(1, from / 1024) }

    /// The next rate to offer and why, or nil when the search is over.
    public mutating func next() -> (rate: Double, purpose: StepPurpose)? {
        if result != nil { return nil }
        if let p = pending { return p }
        if steps.count >= maxSteps {
            finish(converged: false, "stopped after \(maxSteps) steps before the bracket narrowed to the precision")
            return nil
        }
        let p = plan()
        pending = p
        return p
    }

    mutating func plan() -> (rate: Double, purpose: StepPurpose)? {
        switch (low, high) {
        case (nil, nil):
            return (from, .explore)
        case (let lo?, nil):
            return (Swift.min(to, (lo * growth).rounded()), .explore)
        case (nil, let hi?):
            // Even the first rate failed: come down until one passes.
            return (Swift.max(floor, (hi / growth).rounded()), .explore)
        case (let lo?, let hi?):
            if hi - lo <= precision * lo {
                return (lo, .confirm)
            }
            let mid = ((lo + hi) / 2).rounded()
            // Rates are whole items per second: a bracket one item wide cannot narrow further.
            if mid <= lo || mid >= hi { return (lo, .confirm) }
            return (mid, .bisect)
        }
    }

    /// Records the outcome of the step `next` asked for.
    public mutating func record(_ outcome: StepOutcome) {
        guard let p = pending, result == nil else { return }
        pending = nil
        steps.append((p.rate, p.purpose, outcome))
        switch outcome {
        case .generator:
            let rate = formatRate(p.rate)
            finish(
                bound: .generator, converged: false,
                "the load generator could not offer \(rate)/s: the capacity is at least \(formatRate(low ?? 0))/s, and the pipeline was not tested above it"
            )
        case .passed:
            if p.purpose == .confirm {
                finish(converged: true, "confirmed at \(formatRate(p.rate))/s")
                return
            }
            low = Swift.max(low ?? 0, p.rate)
            if high == nil && p.rate >= to {
                finish(bound: .range, converged: false, "passed at the top of the range (to: \(formatRate(to))/s)")
            }
        case .pipeline:
            high = Swift.min(high ?? .infinity, p.rate)
            if p.purpose == .confirm || (low ?? 0) >= p.rate {
                // The rate that passed before failed now (a noisy boundary): it is not the capacity; the
                // highest other rate that passed below it is the new low end.
                low = steps.filter { $0.outcome == .passed && $0.rate < p.rate }.map(\.rate).max()
            }
            if low == nil && p.rate <= floor {
                finish(converged: true, "every rate failed, down to \(formatRate(p.rate))/s")
            }
        }
    }

    /// Ends the search where it stands (a component died, the run was interrupted).
    public mutating func stop(_ reason: String) {
        guard result == nil else { return }
        pending = nil
        finish(converged: false, reason)
    }

    mutating func finish(bound: SearchBound = .pipeline, converged: Bool, _ reason: String) {
        let lo = low ?? 0
        result = Result(
            capacity: lo, bound: bound, low: lo, high: high,
            converged: converged, reason: reason)
    }
}

/// Judges one search step from its report (the same figures the report shows for it).
public enum StepJudge {
    /// The outcome of a step that offered `target` items/s, and why (empty when it passed).
    public static func judge(_ t: TestReport, target: Double, slo: [String]) -> (StepOutcome, String) {
        // A generator out of CPU sends late and its late sends inflate the corrected latency: nothing
        // else about the step can be trusted.
        for l in t.loads {
            if let c = l.cpuPerThread, c > 0.8 {
                return (
                    .generator,
                    "the load generator '\(l.name)' used \(formatFixed(c * 100, 0)) % of its threads' CPU: give it more threads or cores, or add load components"
                )
            }
        }
        if let e = t.error { return (.pipeline, e) }
        guard let tp = t.throughput else { return (.pipeline, "the step has no load figures") }
        let sent = tp.sentPerSecond
        let received = tp.receivedPerSecond ?? tp.ackedPerSecond
        let what = tp.receivedPerSecond == nil ? "acked" : "received"
        // Kept up: what arrived over the window is within 1 % of what was sent over it, so the backlog
        // between the generator and the backend grew by less than 1 % of the window's items.
        if received < sent * SearchSpec.keptUpFraction {
            return (
                .pipeline,
                "fell behind: \(what) \(formatRate(received))/s of \(formatRate(sent))/s sent (\(formatFixed(sent > 0 ? received * 100 / sent : 0, 1)) %, under 99 %)"
            )
        }
        // Every request slot waiting on a reply in some reading of the window: the pipeline answers too
        // slowly for the rate (backpressure).
        let full = t.loads.contains { l in
            guard let limit = l.inFlightLimit, let most = l.inFlightMax, limit > 0 else { return false }
            return most >= limit * 0.9
        }
        let values = ReportBuilder.flatten(t)
        for condition in slo {
            let a = ReportBuilder.evaluate(condition, in: values)
            guard !a.passed else { continue }
            // Corrected latency counts from the intended send time. When it misses the objective but the
            // latency from the actual send time meets it, and the generator had request slots free (no
            // backpressure), the waiting was the generator's own: it sent late, short of CPU.
            if condition.hasPrefix("latency_ms."), !full {
                let actual = ReportBuilder.evaluate(
                    "latency_ms_uncorrected." + condition.dropFirst("latency_ms.".count), in: values)
                if actual.passed {
                    return (
                        .generator,
                        "the load generator sent late with request slots free (short of CPU): \(a.message), but \(actual.expression) holds (\(formatFixed(actual.value ?? 0, 3)))"
                    )
                }
            }
            return (.pipeline, "slo: \(a.message)")
        }
        if sent < target * SearchSpec.keptUpFraction {
            let pct = formatFixed(target > 0 ? sent * 100 / target : 0, 1)
            if full {
                return (
                    .pipeline,
                    "pushed back: the generator sent \(formatRate(sent))/s (\(pct) % of the offered rate) with every request slot waiting on a reply during the window"
                )
            }
            return (
                .generator,
                "the load generator sent \(formatRate(sent))/s, \(pct) % of the offered rate, with CPU to spare and request slots free (the machine may be short of CPU)"
            )
        }
        return (.passed, "")
    }
}
