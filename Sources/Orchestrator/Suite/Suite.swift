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
    case docker(DockerDeployment)

    public var kind: String {
        switch self {
        case .process: return "process"
        case .external: return "external"
        case .docker: return "docker"
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

/// `deployment: docker:` — a container through the Docker Engine API.
public struct DockerDeployment: Sendable {
    public var image: String? = nil
    public var build: DockerBuildSpec? = nil
    public var command: [String]? = nil
    public var entrypoint: [String]? = nil
    public var environment: [(String, String)] = []
    public var ports: [PortMapping] = []
    public var volumes: [VolumeMount] = []
    public var network: String? = nil
    public var cpuset: String? = nil
    public var cpus: Double? = nil
    public var memoryBytes: Int64? = nil
    /// The container's name (default pipeperf-<suite>-<component>).
    public var name: String? = nil
    /// Replaces the image's health command; `[]` turns it off.
    public var healthcheck: [String]? = nil
    public var startupTimeoutNanos: UInt64 = 60_000_000_000
    public var startupCheckNanos: UInt64 = 500_000_000
    public var stopGraceNanos: UInt64 = 5_000_000_000
}

public struct DockerBuildSpec: Sendable {
    /// Absolute path of the context folder.
    public var context: String
    public var dockerfile = "Dockerfile"
    public var args: [(String, String)] = []
    public var target: String? = nil
}

/// A published port: container port/protocol on the host's address and port (0: any free port).
public struct PortMapping: Sendable, Equatable {
    public var hostIP = "127.0.0.1"
    public var hostPort = 0
    public var containerPort: Int
    public var proto = "tcp"
}

/// A bind mount (absolute host path) or a named volume.
public struct VolumeMount: Sendable, Equatable {
    public var source: String
    public var target: String
    public var readOnly = false
    public var isBind = true
    /// A file of the run folder's rendered/ (the source is the file's name): always read-only.
    public var rendered = false
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
