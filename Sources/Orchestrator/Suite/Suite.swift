// The suite model: what a suite file says, validated and with its variables resolved.

import H2Transport

/// A whole suite.
public struct Suite: Sendable {
    public var name: String
    public var file: String
    public var baseDirectory: String
    public var variables: [String: TemplateValue]
    public var components: [Component]
    public var tests: [TestCase]
    public var hooks: PhaseHooks

    public func component(_ name: String) -> Component? { components.first { $0.name == name } }
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

public struct Component: Sendable {
    public var name: String
    public var location: SourceLocation
    public var configuration: TemplateConfiguration?
    public var deployment: Deployment
    public var execution: Execution?
    public var ready: ReadyCheck?
    public var snapshot: String?
    public var monitors: [MonitorSpec] = []
    public var hooks: [ComponentPhase: PhaseHooks] = [:]
}

/// One monitoring strategy of a component.
public struct MonitorSpec: Sendable {
    public var kind: String
    public var url: String?
    public var intervalNanos: UInt64 = 1_000_000_000
    public var include: [String] = []
    public var exclude: [String] = []
}

/// `configuration: template:` — a config file rendered into the run folder before deploy.
public struct TemplateConfiguration: Sendable {
    public var source: String
    public var destination: String
    public var variables: [String: TemplateValue]
}

public enum Deployment: Sendable {
    case process(ProcessDeployment)
    case external(ExternalDeployment)

    public var kind: String {
        switch self {
        case .process: return "process"
        case .external: return "external"
        }
    }
}

public struct ProcessDeployment: Sendable {
    public var command: [String]
    public var environment: [(String, String)] = []
    public var workingDirectory: String? = nil
    public var cpus: [Int]? = nil
    public var cpusText: String? = nil
    /// After start, the process must still be alive this long.
    public var startupCheckNanos: UInt64 = 500_000_000
    /// On destroy: SIGTERM, then SIGKILL after this long.
    public var stopGraceNanos: UInt64 = 5_000_000_000
}

public struct ExternalDeployment: Sendable {
    public var endpoint: String
}

public enum Execution: Sendable {
    case loadgen(LoadgenExecution)
    case command(CommandExecution)
}

public struct LoadgenExecution: Sendable {
    public var admin: Endpoint
    /// Options of `loadgen run` (names without dashes), sent to POST /start.
    public var options: [(String, String)]
}

public struct CommandExecution: Sendable {
    public var command: [String]
    public var environment: [(String, String)] = []
}

/// An HTTP readiness probe.
public struct ReadyCheck: Sendable {
    public var url: String
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
    /// Conditions on the test's report.
    public var assertions: [String] = []
}

public struct Step: Sendable {
    public var name: String
    public var location: SourceLocation
    public var action: Action
    public var hooks: PhaseHooks
    public var onError: OnError
}

public enum Action: Sendable {
    case componentAction(target: String, phase: ComponentPhase)
    case multiComponentAction(phase: ComponentPhase, targets: [String]?)
    case wait(nanos: UInt64)
    case updateComponentStrategy(target: String, options: [(String, String)])
    case recordEvent(name: String, attributes: [(String, String)])
    case noOp
}

public struct Hook: Sendable {
    public enum Kind: Sendable {
        case runCommand(command: [String], environment: [(String, String)], timeoutNanos: UInt64, shell: Bool)
        case sendHTTPRequest(method: String, url: String, body: String?, headers: [(String, String)], expectStatus: Int?)
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
