import Benchmark

// Placeholder: the Policy benchmarks are being written.
let benchmarks: @Sendable () -> Void = {
}
