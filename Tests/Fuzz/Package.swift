// swift-tools-version: 6.1
// libFuzzer targets for pipeperf's decoders (payloads off the wire). Built by scripts/fuzz with
// `-sanitize=fuzzer,address`; a separate package so the main build never links libFuzzer.
import Foundation
import PackageDescription

// A path dependency's identity is its folder name, which depends on where the repository was cloned.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

let package = Package(
    name: "pipeperf-fuzz",
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "FuzzWire",
            dependencies: [
                .product(name: "OTLPWire", package: rootIdentity),
                .product(name: "OTLPGzip", package: rootIdentity),
                .product(name: "SyslogWire", package: rootIdentity),
                .product(name: "FakeBackend", package: rootIdentity),
                .product(name: "SinkCore", package: rootIdentity),
                .product(name: "LoadGen", package: rootIdentity),
                .product(name: "AdminHTTP", package: rootIdentity),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
