// swift-tools-version:6.1
import PackageDescription

/// Strict settings shared by every Swift target (see STYLE.md).
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "permd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "permd", targets: ["permd"]),
        .executable(name: "permd-load", targets: ["PermdLoad"]),
        .library(name: "PermdIndex", targets: ["PermdIndex"]),
        .library(name: "PermdStore", targets: ["PermdStore"]),
        .library(name: "PermdPolicy", targets: ["PermdPolicy"]),
        .library(name: "PermdProtocol", targets: ["PermdProtocol"]),
        .library(name: "PermdClient", targets: ["PermdClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries, through pkg-config; `make` installs them with apt-get when missing.
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // libpq, PostgreSQL's own client (SPEC §8).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // JSON documents over jansson: every JSON input goes through here.
        .target(name: "PermdJSON", dependencies: ["CJansson"], swiftSettings: strict),
        // Domain vocabulary shared by every module: identifiers, diagnostics, state records,
        // writes with their outcomes and refusals, EXPLAIN's answer.
        .target(name: "PermdCore", swiftSettings: strict),
        // Policy files: model, loader, validator, role flattening.
        .target(name: "PermdPolicy", dependencies: ["PermdCore", "PermdJSON"], swiftSettings: strict),
        // Database state over SQLite (and PostgreSQL's connection and schema): schema, the
        // single write path, import, export, sign-in.
        // SQLite's write-ahead log written in one system call per commit, not two per page.
        .target(name: "CSQLiteGather", dependencies: ["CSQLite"]),
        .target(
            name: "PermdStore",
            dependencies: ["PermdCore", "PermdPolicy", "PermdJSON", "CSQLite", "CSQLiteGather", "CLibPQ",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // `__builtin_prefetch` for the index (Swift has no prefetch of its own).
        .target(name: "CPrefetch"),
        // The bitset index: compiled snapshots, their full build and the queries over them.
        .target(name: "PermdIndex", dependencies: ["PermdCore", "PermdPolicy", "PermdJSON", "CPrefetch"], swiftSettings: strict),
        // The line protocol, both ways and free of I/O: lines decoded into typed requests
        // (JSON payloads included), typed outcomes encoded into replies, domain refusals
        // mapped to their `ERR` codes.
        .target(
            name: "PermdProtocol",
            dependencies: ["PermdCore", "PermdJSON", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        // The server: SwiftNIO transport, writer thread, reloads, lifecycle, and the HTTP
        // listener for metrics and health (SPEC §9).
        .target(
            name: "PermdServer",
            dependencies: [
                "PermdCore", "PermdPolicy", "PermdStore", "PermdIndex", "PermdProtocol", "PermdJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict),
        // The Swift client (SPEC §9): async/await over SwiftNIO, pipelining, a pool; the wire
        // format comes from PermdProtocol.
        .target(
            name: "PermdClient",
            dependencies: ["PermdCore", "PermdProtocol",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strict),
        // The command line.
        .executableTarget(
            name: "permd",
            dependencies: [
                "PermdCore", "PermdPolicy", "PermdStore", "PermdIndex", "PermdProtocol", "PermdServer", "PermdJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // The load generator (`permd-load`): drives a running server over plain blocking
        // sockets, checks every answer against the state it loaded, and seeds datasets.
        .executableTarget(
            name: "PermdLoad",
            dependencies: [
                "PermdCore", "PermdPolicy", "PermdStore", "PermdIndex", "PermdProtocol", "PermdJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // Helpers shared by the test targets, never by a product (as swift-nio's NIOTestUtils):
        // among them the throwaway PostgreSQL cluster.
        .target(name: "PermdTestSupport", dependencies: ["PermdIndex", "PermdCore", "PermdStore"], swiftSettings: strict),

        .testTarget(name: "PermdJSONTests", dependencies: ["PermdJSON"], swiftSettings: strict),
        .testTarget(name: "PermdPolicyTests", dependencies: ["PermdPolicy", "PermdCore", "PermdJSON"], swiftSettings: strict),
        .testTarget(
            name: "PermdStoreTests",
            dependencies: ["PermdStore", "PermdPolicy", "PermdCore", "PermdTestSupport", "CSQLite",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .testTarget(
            name: "PermdIndexTests",
            dependencies: ["PermdIndex", "PermdPolicy", "PermdCore", "PermdJSON", "PermdStore", "PermdProtocol",
                           "PermdTestSupport",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .testTarget(
            name: "PermdProtocolTests",
            dependencies: ["PermdProtocol", "PermdCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .testTarget(
            name: "PermdServerTests",
            dependencies: ["PermdServer", "PermdProtocol", "PermdIndex", "PermdStore", "PermdPolicy", "PermdCore", "CSQLite",
                           "PermdTestSupport",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strict),
        // The Swift client against a real `permd serve`.
        .testTarget(name: "PermdClientTests", dependencies: ["permd", "PermdClient", "PermdCore", "PermdProtocol", "PermdTestSupport"],
                    swiftSettings: strict),
        // Runs the built `permd` executable as a user would.
        .testTarget(name: "PermdCLITests", dependencies: ["permd", "PermdCore", "CSQLite", "PermdTestSupport"], swiftSettings: strict),
        // Runs `permd-load` against a real `permd serve` on 127.0.0.1.
        .testTarget(name: "PermdLoadTests", dependencies: ["permd", "PermdLoad", "PermdTestSupport"], swiftSettings: strict),
    ]
)
