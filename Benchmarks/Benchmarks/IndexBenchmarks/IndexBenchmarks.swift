import Benchmark

// Placeholder: the Index benchmarks are being written.
let benchmarks: @Sendable () -> Void = {
}
