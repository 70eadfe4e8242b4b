// The suite model: what a suite file says, validated and with its variables resolved.

import PipeperfBase

/// A whole suite.
public struct Suite: Sendable {
    public var name: String
    public var file: String
    public var baseDirectory: String
    public var variables: [String: TemplateValue]
    public var components: [Component]
    public var tests: [TestCase]
    public var hooks: PhaseHooks
    /// The git work tree whose provenance goes into run.json (`code: {path}`; the suite's folder by default).
    public var codePath: String = "."
    /// The reference test of report.html's charts across tests (`compare_to:`; the first test by default).
    public var compareTo: String? = nil

    public func component(_ name: String) -> Component? { components.first { $0.name == name } }

    /// The components a name stands for: a replicated component's copies, else itself.
    public func expand(_ name: String) -> [String] {
        let copies = components.filter { $0.replicaOf == name }.map(\.name)
        return copies.isEmpty ? [name] : copies
    }
}

/// The lifecycle phases of a component (the reference's vocabulary).
public enum ComponentPhase: String, Sendable, CaseIterable {
    case configure, deploy, start, stop, destroy
    case startMonitoring = "start_monitoring"
    case stopMonitoring = "stop_monitoring"
}

/// Hooks before and after something.
public struct PhaseHooks: Sendable {
    public var pre: [Hook] = []
    public var post: [Hook] = []
    public init() {}
}

/// What to do when something fails.
public struct OnError: Sendable, Equatable {
    public var retries = 0
    public var retryDelayNanos: UInt64 = 1_000_000_000
    public var continueOnError = false
    public init() {}
}

/// A component of the pipeline: how it is configured, deployed, driven and monitored (each a strategy
/// of its family, Strategies/), its readiness probe, snapshot and phase hooks.
public struct Component: Sendable {
    public var name: String
    public var location: SourceLocation
    var configuration: (any ConfigurationStrategy)?
    var deployment: any DeploymentStrategy
    var execution: (any ExecutionStrategy)?
    public var ready: ReadyCheck?
    public var snapshot: String?
    /// The scraped counters of what it received, passed on, failed to pass on and the requests it
    /// served (`hops: {in, out, failed, requests}`), for the hops.
    public var hops: [(key: String, metrics: [String])] = []
    var monitors: [any MonitorStrategy] = []
    public var hooks: [ComponentPhase: PhaseHooks] = [:]
    /// How a new configuration takes effect while it runs (`reload:`).
    public var reload: Reload? = nil
    /// The component this one is a copy of (`replicas: N`), and which copy (1-based).
    public var replicaOf: String? = nil
    public var replica = 0

    /// The deployment kind's name (`process`, `docker`, ...).
    public var deploymentKind: String { type(of: deployment).info.name }

    /// Whether this reading of the component deploys or monitors it otherwise than `other` (a
    /// mid-test update's variables changed its command, cores, image, ports, ...).
    func deploys(differently other: Component) -> Bool {
        String(describing: deployment) != String(describing: other.deployment)
            || String(describing: monitors) != String(describing: other.monitors)
    }

    /// Whether this reading runs its load otherwise than `other` (taken up at its next start).
    func runs(differently other: Component) -> Bool {
        String(describing: execution) != String(describing: other.execution)
    }
}

/// How a running component takes up a re-rendered configuration.
public struct Reload: Sendable {
    public enum How: Sendable {
        /// A signal to its (first) process, e.g. SIGHUP for nginx.
        case signal(Int32, name: String)
        /// An HTTP request, e.g. a collector's or an agent's reload endpoint.
        case http(method: String, url: String)
        /// Destroyed and deployed again (monitoring restarted with it).
        case restart
    }
    public var how: How
    /// Waited after the reload, before the next step.
    public var settleNanos: UInt64 = 1_000_000_000
    /// Whether it deploys the component again (the only way a changed deployment is taken up).
    var restarts: Bool { if case .restart = how { true } else { false } }
}

/// An HTTP readiness probe.
public struct ReadyCheck: Sendable {
    public var url: String
    /// Instead of the URL: a HOST:PORT that must accept a TCP connection.
    public var tcp: String? = nil
    public var status: Int = 200
    public var bodyContains: String? = nil
    public var jsonField: String? = nil
    public var jsonValue: String? = nil
    public var timeoutNanos: UInt64 = 30_000_000_000
    public var intervalNanos: UInt64 = 100_000_000
}

public struct TestCase: Sendable {
    public var name: String
    public var location: SourceLocation
    public var steps: [Step]
    public var hooks: PhaseHooks
    /// The matrix values this expansion stands for (empty without a matrix).
    public var matrix: [(String, String)]
    /// The test's own `variables` and its matrix values: rendered config templates see them too.
    public var variables: [(String, String)] = []
    /// Conditions on the test's report.
    public var assertions: [String] = []
    /// Full deploy → warm-up → observe → destroy repetitions (`replicates:`, or `pipeperf run --replicates`).
    public var replicates = 1
    /// Which repetition this is (1-based) once expanded.
    public var replicate = 1
    /// The test a replicate repeats (its name without `#<k>`): the test's own name until it is expanded.
    public var base: String {
        get { baseName ?? name }
        set { baseName = newValue }
    }
    var baseName: String? = nil
    /// Metrics `pipeperf compare` judges besides the headline ones.
    public var compare: [CompareMetric] = []
    /// A capacity search instead of steps (its `steps` are then the teardown that always runs).
    public var search: SearchSpec? = nil
    /// The components as this matrix expansion's values make them (nil: the suite's).
    public var components: [Component]? = nil

    /// The components as they run when the observation window opens: mid-test updates before it
    /// (`update_component_strategy` variables read into a new deployment) applied in step order, so a
    /// window after a redeploy reports the new allotment. Nil when no update changes a component.
    func componentsAtWindow(_ suite: [Component]) -> [Component]? {
        var out = components ?? suite
        var changed = false
        func opens(_ hooks: [Hook]) -> Bool {
            hooks.contains { if case .recordEvent("observation_start", _) = $0.kind { true } else { false } }
        }
        for s in steps {
            if opens(s.hooks.pre) { break }
            if case .recordEvent("observation_start", _) = s.action { break }
            if case .updateComponentStrategy(_, _, _, let rereads) = s.action {
                for r in rereads {
                    if let i = out.firstIndex(where: { $0.name == r.name }) {
                        out[i] = r
                        changed = true
                    }
                }
            }
            if opens(s.hooks.post) { break }
        }
        return changed ? out : components
    }

    /// Each test `replicates` times (or `override` times), interleaved: every test's first replicate,
    /// then every test's second, ... so that slow drift of the machine is spread over all configurations.
    /// Replicated tests are named `<test>#<k>`.
    public static func expandReplicates(_ tests: [TestCase], override: Int? = nil) -> [TestCase] {
        let counts = tests.map { override ?? $0.replicates }
        var out: [TestCase] = []
        for k in 1...Swift.max(1, counts.max() ?? 1) {
            for (t, n) in zip(tests, counts) where k <= n {
                var r = t
                r.base = t.name
                r.replicates = n
                r.replicate = k
                if n > 1 { r.name = "\(t.name)#\(k)" }
                out.append(r)
            }
        }
        return out
    }
}

/// A metric named in a test's `compare:`: its report path, which way is better, and its own threshold.
public struct CompareMetric: Sendable, Equatable {
    public var metric: String
    public var higherIsBetter: Bool
    public var thresholdPct: Double?

    /// Rates are better higher; everything else (loss, latency, CPU, memory, bytes) lower.
    public static func higherByName(_ path: String) -> Bool {
        path.hasSuffix("_per_s") && !path.contains("bytes")
    }
}

public struct Step: Sendable {
    public var name: String
    public var location: SourceLocation
    public var action: Action
    public var hooks: PhaseHooks
    public var onError: OnError
    /// Runs even after an earlier step of its test failed (the flow's stop monitoring and destroy).
    public var always = false
}

public enum Action: Sendable {
    case componentAction(target: String, phase: ComponentPhase)
    case multiComponentAction(phase: ComponentPhase, targets: [String]?)
    case wait(nanos: UInt64)
    /// Execution `options` for the next start; `variables`: the configuration rendered again and reloaded,
    /// and the deployment as read again with them (`rereads`: the target, or each of its copies, read
    /// with the variables; a changed command, cores or image is taken up by a `reload: restart`).
    case updateComponentStrategy(
        target: String, options: [(String, String)], variables: [(String, String)], rereads: [Component])
    case recordEvent(name: String, attributes: [(String, String)])
    case noOp
}

public struct Hook: Sendable {
    public enum Kind: Sendable {
        case runCommand(command: [String], environment: [(String, String)], timeoutNanos: UInt64, shell: Bool)
        case sendHTTPRequest(
            method: String, url: String, body: String?, headers: [(String, String)], expectStatus: Int?)
        case readyCheckHTTP(ReadyCheck)
        case recordEvent(name: String, attributes: [(String, String)])
        case renderTemplate(source: String, destination: String, variables: [String: TemplateValue])
        case raiseError(message: String)
    }
    public var kind: Kind
    public var name: String
    public var location: SourceLocation
    public var onError: OnError
}
