import ArgumentParser

/// The `loadgen` command: OTLP load generation for pipeline benchmarks.
public struct LoadGenCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "pipeperf's OTLP load generator.",
        discussion: "Without a subcommand, loadgen runs a load (`loadgen --rate 100k --duration 30s`). Options, the JSON summary and lateness: docs/loadgen.md; tracking attributes: docs/tracking.md.",
        subcommands: [RunCommand.self, PayloadCommand.self, ServeCommand.self],
        defaultSubcommand: RunCommand.self)

    public init() {}
}
