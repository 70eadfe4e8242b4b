import ArgumentParser

/// The `loadgen` command: OTLP load generation for pipeline benchmarks.
public struct LoadGenCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "pipeperf's OTLP load generator.",
        discussion: "Payload shapes, tracking attributes and the wire format are described in docs/tracking.md and docs/loadgen.md.",
        subcommands: [PayloadCommand.self])

    public init() {}
}
