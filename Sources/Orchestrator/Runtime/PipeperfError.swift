// The orchestrator's one error type (modelled on grpc-swift-2's RPCError): a code that says what kind
// of thing failed, a message that says what to do next, and the error underneath when there is one.

/// A failure of the orchestrator: loading, deploying, driving, monitoring or keeping a run's results.
public struct PipeperfError: Error, CustomStringConvertible, Sendable {
    /// What kind of thing failed.
    public enum Code: String, Sendable {
        /// A step, hook or phase of a test failed (a component did not deploy, a check did not pass, ...).
        case failed
        /// A process could not be started, or a local file or thread could not be made.
        case process
        /// An HTTP exchange failed (connection refused, time-out, a malformed answer).
        case http
        /// The Docker engine is unreachable or answered with an error.
        case docker
        /// A result of the run could not be written: the run fails, naming the file and the reason.
        case results
        /// SIGINT or SIGTERM arrived: the run unwinds to its teardown.
        case interrupted
        /// Bad input that the suite checks could not catch earlier (a template, a value).
        case invalidInput = "invalid_input"
    }

    public var code: Code
    /// What failed and what to do about it.
    public var message: String
    /// The HTTP status a peer answered with (the Docker engine's errors), 0 when there was none.
    public var status: Int
    /// The error underneath, when there is one.
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, status: Int = 0, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.cause = cause
    }

    public var description: String { message }

    /// The interruption that unwinds a run to its teardown.
    static let interrupted = PipeperfError(.interrupted, "interrupted by a signal")

    var isInterruption: Bool { code == .interrupted }
}
