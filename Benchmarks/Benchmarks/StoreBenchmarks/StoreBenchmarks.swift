import Benchmark

// Placeholder: the Store benchmarks are being written.
let benchmarks: @Sendable () -> Void = {
}
