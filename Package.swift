// swift-tools-version: 6.1
import PackageDescription

// One target per piece of docs/DESIGN (see README "Layout"). A module depends only on the
// modules listed before it: Manifest → TrustedFiles → Shield → … → the CLI.
let package = Package(
    name: "SecureExecutor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "secure-executor", targets: ["SecureExecutorCLI"]),
        .executable(name: "secure-executor-bench", targets: ["SecureExecutorBench"]),
        .executable(name: "fuzz-trusted-table", targets: ["FuzzTrustedTable"]),
        .executable(name: "fuzz-node-inputs", targets: ["FuzzNodeInputs"]),
        .executable(name: "secure-executor-host-agent", targets: ["SecureExecutorHostAgent"]),
        .library(name: "TrustedFiles", targets: ["TrustedFiles"]),
        .library(name: "Shield", targets: ["Shield"]),
        .library(name: "FunctionRuntime", targets: ["FunctionRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swiftwasm/WasmKit", exact: "0.4.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
    ],
    targets: [
        // The Linux calls Swift cannot import (variadic in glibc): prctl, ptrace, keyctl.
        .target(name: "CSyscalls"),
        // Small shared helpers (parallel map, child processes) used by every module.
        .target(name: "Support", dependencies: ["CSyscalls"]),
        .target(name: "Manifest", dependencies: ["Support", "TOMLKit"]),
        .target(
            name: "TrustedFiles",
            dependencies: [
                "Manifest", "Support",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        .target(name: "Shield", dependencies: ["TrustedFiles", "Manifest", "Support", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        // EDGELESS function ABI on WasmKit: instances, limits, start-up latency, routing interface.
        .target(
            name: "FunctionRuntime",
            dependencies: [
                "Manifest", "TrustedFiles", "Shield", "Support",
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WAT", package: "WasmKit"),
                .product(name: "WasmParser", package: "WasmKit"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        // NODE_LOCAL function state: durable, sealed with the backend's key, rollback-checked.
        .target(
            name: "SealedState",
            dependencies: [
                "Support",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        // One small HTTP server (Hummingbird) behind the ingress, the node API and test peers.
        .target(
            name: "HTTPServing",
            dependencies: [
                "Support",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        // Workflows, dataplane and resources on top of the function runtime.
        .target(
            name: "Node",
            dependencies: [
                "Manifest", "TrustedFiles", "Shield", "FunctionRuntime", "HTTPServing", "SealedState",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        // Host information from an untrusted agent (docs/HOST-AGENT.md), in three modules so the
        // trust line shows: the framed wire protocol both sides speak; the agent's /proc
        // readers (UNTRUSTED, linked only into its own executable); and the trusted client
        // that checks every answer, which the runtime links without any /proc reader.
        .target(name: "HostProtocol", dependencies: ["Support"]),
        .target(
            name: "HostAgent",
            dependencies: [
                "HostProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .target(
            name: "HostBridge",
            dependencies: [
                "HostProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "SecureExecutorHostAgent",
            dependencies: [
                "HostAgent", "HostProtocol", "Support",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Where the trusted runtime runs: the backend interface, the bubblewrap sandbox, direct.
        .target(
            name: "Enclave",
            dependencies: [
                "Support", "CSyscalls", "Manifest", "Shield",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The node's HTTP API: workflows, instances, /health and Prometheus /metrics.
        .target(
            name: "NodeAPI",
            dependencies: [
                "Node", "FunctionRuntime", "HTTPServing", "HostBridge",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The EDGELESS example set under examples/: build, sign, run and check each.
        .target(
            name: "Examples",
            dependencies: [
                "Manifest", "TrustedFiles", "FunctionRuntime", "Node", "HTTPServing", "Support", "SealedState",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "SecureExecutorCLI",
            dependencies: [
                "Manifest", "TrustedFiles", "Shield", "FunctionRuntime", "Node", "NodeAPI", "HTTPServing", "Examples", "Enclave", "HostBridge", "Support",
                "CSyscalls", "SealedState",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "SecureExecutorBench",
            dependencies: [
                "Manifest", "TrustedFiles", "Shield", "FunctionRuntime", "Node", "NodeAPI", "HTTPServing", "Examples", "TOMLKit", "SealedState",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Replays inputs as a plain executable; built with `-sanitize=fuzzer -DFUZZING` it is
        // a libFuzzer target (docs/FUZZING.md).
        .executableTarget(name: "FuzzTrustedTable", dependencies: ["TrustedFiles", "Support"]),
        // The node's other hostile-input readers (function replies, workflows, manifests,
        // host-agent frames) as fuzz targets; one executable picks one by FUZZ_TARGET.
        .target(name: "NodeInputFuzzing", dependencies: ["Node", "Manifest", "HostBridge", "HostProtocol"]),
        .executableTarget(name: "FuzzNodeInputs", dependencies: ["NodeInputFuzzing", "Support"]),
        // Temporary app trees and process helpers shared by the test targets.
        .target(
            name: "TestSupport",
            dependencies: [
                "Manifest", "TrustedFiles", "FunctionRuntime", "Node",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ], path: "Tests/TestSupport"),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "TestSupport"]),
        .testTarget(name: "TrustedFilesTests", dependencies: ["TrustedFiles", "Manifest", "TestSupport"], exclude: ["FuzzCorpus"]),
        .testTarget(name: "ShieldTests", dependencies: ["Shield", "TrustedFiles", "Manifest", "TestSupport"]),
        .testTarget(
            name: "FunctionRuntimeTests",
            dependencies: [
                "FunctionRuntime", "Shield", "TrustedFiles", "Manifest", "TestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "WAT", package: "WasmKit"),
            ], exclude: ["Functions"]),
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "Node", "NodeAPI", "HTTPServing", "HostBridge", "Examples", "FunctionRuntime", "Shield", "TrustedFiles", "Manifest", "TestSupport",
                "SealedState",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ], exclude: ["Functions"]),
        .testTarget(name: "HTTPServingTests", dependencies: ["HTTPServing", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "HostProtocolTests", dependencies: ["HostProtocol"]),
        .testTarget(name: "HostAgentTests", dependencies: ["HostAgent", "HostProtocol"]),
        .testTarget(
            name: "HostBridgeTests",
            dependencies: [
                "HostBridge", "HostProtocol", "HostAgent",
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        .testTarget(name: "NodeInputFuzzingTests", dependencies: ["NodeInputFuzzing", "Node", "Manifest", "HostBridge", "HostProtocol"], exclude: ["Corpus"]),
        .testTarget(
            name: "NodeAPITests",
            dependencies: [
                "NodeAPI", "Node", "FunctionRuntime", "HTTPServing", "HostBridge", "Examples", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "SealedStateTests", dependencies: ["SealedState", "Support"]),
        .testTarget(name: "EnclaveTests", dependencies: ["Enclave", "TestSupport"]),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "TrustedFiles", "TestSupport", "Examples", "HTTPServing", "Support", "Manifest", "Shield", "FunctionRuntime", "Node", "NodeAPI",
                "Enclave", "HostProtocol", "SealedState",
            ]),
    ]
)
