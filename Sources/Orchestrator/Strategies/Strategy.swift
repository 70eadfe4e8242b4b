// The strategy families: a deployment deploys a component and returns a live handle, an execution
// starts and stops what the component does during the load, a monitor turns its options into a source
// the sampler reads, a configuration renders what the component reads before deploy. Each kind is one
// type in its own folder (Strategies/<Family>/<Kind>/) that owns its options, its keys, its reading and
// its runtime; Registry.swift lists them. The runner knows these protocols only, never a kind.

import AdminHTTP
import PipeperfBase

/// What a kind tells about itself: its name in suites, what it is, its keys (which drive the strict
/// reader, `pipeperf strategies` and the key reference in docs/suites.md) and nested objects' keys.
struct StrategyInfo: Sendable {
    /// A nested object of a kind (docker's `build`, the long forms of `ports` and `volumes`).
    struct Section: Sendable {
        /// How `pipeperf strategies` names it, after the kind: `build`, `ports[]`.
        var path: String
        /// Its heading in the key reference: `docker: build`.
        var title: String
        var summary: String
        var keys: [KeySpec]
    }

    var name: String
    var summary: String
    var keys: [KeySpec]
    var sections: [Section] = []
}

/// Every kind: its description and how its options are read (already checked against its keys by the
/// caller; problems go to the context's diagnostics; nil when the options cannot be used).
protocol Strategy: Sendable {
    static var info: StrategyInfo { get }
    static func read(_ options: ObjectReader, context: ReadContext) -> Self?
}

/// Something that can be killed at once from any thread (the interrupt watcher's second signal).
protocol Killable: AnyObject, Sendable {
    func killNow()
}

// MARK: Deployment

/// A host port a deployment takes, checked across the suite at load time.
struct ClaimedPort: Sendable {
    var port: Int
    var udp: Bool
    /// What takes it, for the message: `backend (--grpc)`.
    var what: String
    /// The key under the deployment that says so (`command`, `ports`) and how the message names it.
    var key: String
    var noun = "port"
}

protocol DeploymentStrategy: Strategy {
    /// Host ports this deployment listens on or publishes (0s left out).
    func claimedPorts(component: String) -> [ClaimedPort]
    /// Deploys `component` and waits until it runs (not until it is ready: the runner probes `ready`).
    func deploy(_ component: Component, in run: RunContext) throws(PipeperfError) -> any LiveDeployment
    /// The cores the component may use (a CPU limit or CPU list), when the deployment sets one.
    var allotmentCores: Double? { get }
}

extension DeploymentStrategy {
    var allotmentCores: Double? { nil }
}

/// A deployed component.
protocol LiveDeployment: Killable {
    /// The host pid of the component's first process (for procfs monitoring), when it has one here.
    var rootPID: Int32? { get }
    /// Why it stopped when it has stopped by itself; nil while it runs (or when that cannot be known).
    var exited: String? { get }
    /// Stops and removes it, keeping what it leaves (logs) in the run folder.
    func destroy(in run: RunContext)
}

// MARK: Execution

protocol ExecutionStrategy: Strategy {
    /// A problem with `update_component_strategy` options for this execution (checked at load time),
    /// or nil when they are fine.
    func problem(updating options: [(String, String)], context: ReadContext, at: SourceLocation, path: String)
    /// Starts what the component does during the load; `overrides` are the options steps updated.
    func start(
        _ component: Component, overrides: [(String, String)], in run: RunContext
    ) throws(PipeperfError) -> any LiveExecution
}

/// A running execution.
protocol LiveExecution: Killable {
    /// Stops it and keeps what it reports (a loadgen summary) in the test's folder.
    func stop(in run: RunContext) throws(PipeperfError)
}

// MARK: Monitoring

protocol MonitorStrategy: Strategy {
    /// How this kind's samples give a component's CPU and memory in the report, when they do.
    static var resources: ResourceFields? { get }
    /// Whether its samples hold scraped metric series (`series`, `types`): the report's scraped metrics
    /// and the hops read every such kind alike.
    static var scrapes: Bool { get }
    var intervalNanos: UInt64 { get }
    /// Why this monitor cannot watch a component deployed so (checked at load time), or nil.
    func problem(with deployment: any DeploymentStrategy) -> String?
    /// The source the sampler reads for this component, or nil when there is nothing to read now.
    func source(
        component: Component, deployed: (any LiveDeployment)?, in run: RunContext
    ) throws(PipeperfError) -> (any SampleSource)?
}

extension MonitorStrategy {
    static var resources: ResourceFields? { nil }
    static var scrapes: Bool { false }
}

/// How a monitor's samples (in samples.jsonl) become a component's CPU and memory figures: the report
/// is a pure function of the run folder, and each monitor kind says how to read what it wrote.
struct ResourceFields: Sendable {
    /// When a component has samples of several such kinds, the highest wins (the engine's container
    /// stats over procfs: they count the whole container, under its limits).
    var precedence: Int
    /// Cumulative CPU seconds in a sample.
    var cpuSeconds: @Sendable (JSON) -> Double?
    /// Memory in use in a sample, bytes.
    var memoryBytes: @Sendable (JSON) -> Double?
    /// Figures this kind adds over the window (the docker monitor's network rates and CPU throttling).
    var extras: @Sendable (_ window: [JSON], _ report: inout ComponentReport) -> Void = { _, _ in }
}

/// One reading of a source: its fields (written after the sample's header), the time it was taken
/// when the source knows it better than "now", and what the live progress line shows.
struct SampleReading {
    var unixNanos: UInt64? = nil
    var cpuSeconds: Double? = nil
    /// A JSON status document embedded as the sample's `status`.
    var status: String? = nil
    var fields: (inout JSONWriter) -> Void = { _ in }
}

/// What the sampler reads: one per monitor of a monitored component.
protocol SampleSource: AnyObject, Sendable {
    /// The sample's `source` in samples.jsonl (the report reads samples by it).
    var name: String { get }
    /// One reading now, or nil when there is none (the endpoint did not answer, nothing new).
    func read() -> SampleReading?
    /// The reading at a measurement window's edge (the runner takes one of every monitor at
    /// observation_start and observation_stop). A source that can mark the window in its component
    /// does so here (the fake backend's latency window); the others read as usual.
    func read(edge: WindowEdge) -> SampleReading?
    /// Releases what it holds (a stats stream).
    func close()
    /// Why it may have read nothing at all (said when a monitor's whole life gave no reading).
    var silence: String { get }
}

/// A measurement window's edge.
enum WindowEdge: String, Sendable {
    case start, stop
}

extension SampleSource {
    func read(edge: WindowEdge) -> SampleReading? { read() }
    func close() {}
    var silence: String { "it never answered" }
}

// MARK: Configuration

protocol ConfigurationStrategy: Strategy {
    /// Prepares what the component reads before deploy; returns the path of what it wrote.
    func configure(_ component: Component, in run: RunContext) throws(PipeperfError) -> String
}

// MARK: The registry's entries

/// A kind of one family as the registry lists it: its description and its reader, type-erased.
struct StrategyKind<Family>: Sendable {
    let info: StrategyInfo
    let read: @Sendable (ObjectReader, ReadContext) -> Family?
    /// Monitors only: how their samples enter the report.
    var resources: ResourceFields? = nil
    var scrapes = false
}

extension StrategyKind where Family == any DeploymentStrategy {
    init<S: DeploymentStrategy>(_ kind: S.Type) { self.init(info: S.info, read: { S.read($0, context: $1) }) }
}

extension StrategyKind where Family == any ExecutionStrategy {
    init<S: ExecutionStrategy>(_ kind: S.Type) { self.init(info: S.info, read: { S.read($0, context: $1) }) }
}

extension StrategyKind where Family == any MonitorStrategy {
    init<S: MonitorStrategy>(_ kind: S.Type) {
        self.init(info: S.info, read: { S.read($0, context: $1) }, resources: S.resources, scrapes: S.scrapes)
    }
}

extension StrategyKind where Family == any ConfigurationStrategy {
    init<S: ConfigurationStrategy>(_ kind: S.Type) { self.init(info: S.info, read: { S.read($0, context: $1) }) }
}
