import ArgumentParser

/// The `loadgen` command: OTLP load generation for pipeline benchmarks.
public struct LoadGenCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "pipeperf's OTLP load generator.",
        discussion:
            "Without a subcommand, loadgen runs a load (`loadgen --rate 100k --duration 30s`). Options, the JSON summary and lateness: docs/loadgen.md; tracking attributes: docs/tracking.md. `loadgen healthcheck [HOST:PORT]` exits 0 when a `loadgen serve` admin address (default 127.0.0.1:8080) answers GET /healthz with 200 (the container image's health command).",
        subcommands: [RunCommand.self, PayloadCommand.self, ServeCommand.self],
        defaultSubcommand: RunCommand.self)

    public init() {}
}
