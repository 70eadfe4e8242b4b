// swift-tools-version: 6.1
// pipeperf: benchmarks telemetry pipelines end to end.
// Layout follows ../shared/DESIGN.md and the design card: one library target per role,
// thin executable shells over them, and one C shim target per system library.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]

let package = Package(
    name: "pipeperf",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "loadgen", targets: ["LoadGenCLI"]),
        .executable(name: "null-sink", targets: ["NullSinkCLI"]),
        .executable(name: "fake-backend", targets: ["FakeBackendCLI"]),
        .executable(name: "pipeperf", targets: ["PipeperfCLI"]),
        .library(name: "OTLPWire", targets: ["OTLPWire"]),
        .library(name: "OTLPGzip", targets: ["OTLPGzip"]),
        .library(name: "LoadGen", targets: ["LoadGen"]),
        .library(name: "SyslogWire", targets: ["SyslogWire"]),
        .library(name: "SinkCore", targets: ["SinkCore"]),
        .library(name: "FakeBackend", targets: ["FakeBackend"]),
        .library(name: "AdminHTTP", targets: ["AdminHTTP"]),
        .library(name: "PipeperfBase", targets: ["PipeperfBase"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        // System libraries (design card): each is imported by exactly one Swift target.
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CNGHTTP2", path: "Sources/CNGHTTP2", pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        // The history store of `pipeperf history` and `compare` (SQLite, embedded: nothing to start). The system
        // library through this shim rather than a Swift package: no extra build, one file of C declarations.
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),

        // What every target may use and needs no transport: clocks, durations, endpoints, text and number
        // formatting, console output, threads and termination signals. Standard library and Glibc only.
        .target(name: "PipeperfBase", swiftSettings: strict),

        // The OTLP wire format: encoder, batch templates, scanner, gRPC framing. Standard library only.
        .target(name: "OTLPWire", swiftSettings: strict),
        // syslog messages (RFC 5424, RFC 3164) built as patchable batches, and read back by the fake backend.
        .target(name: "SyslogWire", dependencies: ["OTLPWire"], swiftSettings: strict),
        // gzip in both directions over zlib (the only importer of CZlib).
        .target(name: "OTLPGzip", dependencies: ["CZlib", "OTLPWire"], swiftSettings: strict),

        // The shared transport: per-thread epoll loops, sockets, and the nghttp2 sessions (client and
        // server) used by the load generator and both sinks; TLS over OpenSSL. The only importer of CNGHTTP2
        // and COpenSSL.
        .target(name: "H2Transport", dependencies: ["PipeperfBase", "CNGHTTP2", "CLinux", "COpenSSL", "OTLPWire"], swiftSettings: strict),
        // Linux headers Glibc's module leaves out (epoll), like swift-nio's CNIOLinux.
        .target(name: "CLinux"),

        // The admin HTTP/1.1 surface shared by loadgen and the sinks (/healthz, /metrics, /status, ...),
        // on SwiftNIO's HTTP/1.1 codec rather than a hand-written parser.
        .target(
            name: "AdminHTTP",
            dependencies: [
                "PipeperfBase",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // The load generator's logic (importable by tests); `loadgen` is a thin shell over it.
        .target(
            name: "LoadGen",
            dependencies: [
                "PipeperfBase", "OTLPWire", "OTLPGzip", "SyslogWire", "H2Transport", "AdminHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "LoadGenCLI", dependencies: ["LoadGen", "PipeperfBase", "AdminHTTP"], path: "Sources/LoadGenCLI",
            swiftSettings: strict),

        // What both sinks share: the gRPC server on the shared transport, counters, the policy interface.
        .target(
            name: "SinkCore",
            dependencies: [
                "PipeperfBase", "OTLPWire", "H2Transport", "AdminHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // The null sink: answers every export with success, counting requests and bytes only.
        .target(
            name: "NullSink",
            dependencies: [
                "PipeperfBase", "OTLPWire", "H2Transport", "AdminHTTP", "SinkCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "NullSinkCLI", dependencies: ["NullSink", "PipeperfBase", "AdminHTTP"], path: "Sources/NullSinkCLI", swiftSettings: strict),

        // The fake backend: counts items, tracks loss, duplicates and latency, injects faults.
        .target(
            name: "FakeBackend",
            dependencies: [
                "PipeperfBase", "OTLPWire", "OTLPGzip", "SyslogWire", "H2Transport", "AdminHTTP", "SinkCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "FakeBackendCLI", dependencies: ["FakeBackend", "PipeperfBase", "AdminHTTP"], path: "Sources/FakeBackendCLI", swiftSettings: strict),

        // The orchestrator: strict suite loading (Yams), templates, the runtime; `pipeperf` is its shell.
        .target(
            name: "Orchestrator",
            dependencies: [
                "PipeperfBase", "CLinux", "AdminHTTP", "OTLPWire", "LoadGen", "CSQLite",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(name: "PipeperfCLI", dependencies: ["Orchestrator"], path: "Sources/PipeperfCLI", swiftSettings: strict),

        // Helpers shared by the tests that run real processes.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(
            name: "OTLPWireTests",
            dependencies: ["OTLPWire", "OTLPGzip", "TestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict),
        .testTarget(
            name: "LoadGenTests",
            dependencies: ["LoadGen", "PipeperfBase", "OTLPWire", "OTLPGzip", "SyslogWire", "H2Transport", "TestSupport"],
            swiftSettings: strict),
        .testTarget(name: "SyslogWireTests", dependencies: ["SyslogWire", "OTLPWire", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "FakeBackendTests", dependencies: ["FakeBackend", "PipeperfBase", "OTLPWire", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "OrchestratorTests", dependencies: ["Orchestrator", "PipeperfBase", "AdminHTTP", "TestSupport"], resources: [.copy("Suites")], swiftSettings: strict),
        .testTarget(name: "NullSinkTests", dependencies: ["NullSink", "PipeperfBase", "TestSupport"], swiftSettings: strict),
    ]
)
