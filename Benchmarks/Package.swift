// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so that the main build and CI do not pay for
// ordo-one/benchmark. Run them with `make bench` (or `swift package benchmark` here).
let benchmarkTarget: (String, [Target.Dependency]) -> Target = { name, dependencies in
    .executableTarget(
        name: name,
        dependencies: [.product(name: "Benchmark", package: "benchmark")] + dependencies,
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")])
}

let package = Package(
    name: "permd-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "permd", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        benchmarkTarget("PolicyBenchmarks", [.product(name: "PermdPolicy", package: "permd")]),
        benchmarkTarget("StoreBenchmarks", [.product(name: "PermdStore", package: "permd"),
                                            .product(name: "PermdPolicy", package: "permd")]),
        benchmarkTarget("IndexBenchmarks", [.product(name: "PermdIndex", package: "permd"),
                                            .product(name: "PermdPolicy", package: "permd"),
                                            .product(name: "PermdStore", package: "permd")]),
        // A plain CHECK timing loop (no benchmark plugin), for timing and callgrind.
        .executableTarget(name: "CheckLoop", dependencies: [.product(name: "PermdIndex", package: "permd"),
                                                            .product(name: "PermdPolicy", package: "permd")],
                          path: "CheckLoop"),
    ]
)
