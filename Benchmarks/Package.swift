// swift-tools-version: 6.1
// Microbenchmarks of pipeperf's hot paths (package-benchmark). Run with scripts/bench.
import Foundation
import PackageDescription

// A path dependency's identity is its folder name, which depends on where the repository was cloned.
let rootIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "pipeperf-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // On this toolchain package-benchmark resolves only with the MallocInterposer trait alone.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "OTLPWireBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "OTLPWire", package: rootIdentity),
                .product(name: "OTLPGzip", package: rootIdentity),
            ],
            path: "Benchmarks/OTLPWireBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
