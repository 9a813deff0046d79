// swift-tools-version:6.1
import PackageDescription

/// libFuzzer targets (docs/security.md), kept out of the normal build: one executable per
/// entry point, built by `make fuzz` with `--sanitize=fuzzer --sanitize=address`. Each file
/// defines `LLVMFuzzerTestOneInput`; libFuzzer supplies `main`, hence `-parse-as-library`.
let fuzzTarget: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "permd-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "permd", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // The line framer and the request decoder, JSON payloads included.
        .executableTarget(
            name: "FuzzProtocol",
            dependencies: [.product(name: "PermdProtocol", package: "permd"),
                           .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: fuzzTarget),
        // A whole policy directory (files joined by a separator line) through the validator.
        .executableTarget(
            name: "FuzzPolicy",
            dependencies: [.product(name: "PermdPolicy", package: "permd")],
            swiftSettings: fuzzTarget),
        // The import readers (kinde-csv, kinde-ndjson, auth0, organizations) and the planner.
        .executableTarget(
            name: "FuzzImport",
            dependencies: [.product(name: "PermdStore", package: "permd"),
                           .product(name: "PermdPolicy", package: "permd")],
            swiftSettings: fuzzTarget),
        // Random policies and change logs: the incremental index against a full build and a
        // plain reference. Built apart with `-D DEBUG` (tiny chunks; make fuzz-build).
        .executableTarget(
            name: "FuzzIndex",
            dependencies: [.product(name: "PermdIndex", package: "permd"),
                           .product(name: "PermdPolicy", package: "permd")],
            swiftSettings: fuzzTarget),
    ]
)
