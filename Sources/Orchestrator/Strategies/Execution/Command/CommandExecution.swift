// `execution: command:` — a command that runs while the load runs: started at `start` in its own
// process group, stopped (SIGTERM to the group, SIGKILL after 2 s) at `stop`.

import PipeperfBase

#if canImport(Glibc)
import Glibc
#endif

struct CommandExecution: ExecutionStrategy {
    var command: [String]
    var environment: [(String, String)] = []

    static let info = StrategyInfo(
        name: "command", summary: "a command that runs while the load runs",
        keys: [
            KeySpec(
                "command", "list of strings", required: true,
                "started at `start`, stopped (SIGTERM to its group) at `stop`"),
            KeySpec("environment", "mapping", default: "{}", "extra environment variables"),
        ])

    static func read(_ o: ObjectReader, context: ReadContext) -> CommandExecution? {
        CommandExecution(command: o.stringList("command") ?? [], environment: o.stringMap("environment") ?? [])
    }

    func problem(updating options: [(String, String)], context: ReadContext, at: SourceLocation, path: String) {
        context.diags.add(at, path, "a command execution has no options to update (only loadgen executions have)")
    }

    func start(
        _ c: Component, overrides: [(String, String)], in run: RunContext
    ) throws(PipeperfError) -> any LiveExecution {
        let p: ChildProcess
        do {
            p = try ChildProcess(
                command: run.resolve(command), environment: run.resolve(environment), directory: run.folder.path,
                stdoutPath: run.folder.file("logs/\(c.name).execution.stdout"),
                stderrPath: run.folder.file("logs/\(c.name).execution.stderr"))
        } catch { throw PipeperfError(.process, "component '\(c.name)': \(error.message)", cause: error) }
        let live = LiveCommand(process: p)
        Interrupts.register(live)
        return live
    }
}

final class LiveCommand: LiveExecution, @unchecked Sendable {
    let process: ChildProcess
    init(process: ChildProcess) { self.process = process }

    func stop(in run: RunContext) throws(PipeperfError) {
        process.stop(graceNanos: 2_000_000_000)
        Interrupts.unregister(self)
    }

    func killNow() { kill(-process.pid, SIGKILL) }
}
