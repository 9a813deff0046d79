import Foundation
import Synchronization

/// The line printed once a second on standard error while a run goes on: the last
/// second's rate, the answers so far and the mismatches so far.
final class ProgressLine: Sendable {
    private let counters: [ConnectionCounters]
    private let origin: UInt64
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - counters: every connection's counters.
    ///   - start: the run's start (monotonic nanoseconds).
    init(counters: [ConnectionCounters], start: UInt64) {
        self.counters = counters
        origin = start
    }

    func start() {
        let thread = Thread { [self] in
            var second: UInt64 = 1
            var last = 0
            while !stopped.load(ordering: .relaxed) {
                guard monotonicNanoseconds() >= origin + second * 1_000_000_000 else {
                    usleep(20_000)
                    continue
                }
                let completed = counters.reduce(0) { $0 + $1.completed.load(ordering: .relaxed) }
                let mismatches = counters.reduce(0) { $0 + $1.mismatches.load(ordering: .relaxed) }
                printError("permd-load: \(second) s: \(completed - last) requests/s, \(completed) answers, \(mismatches) mismatches")
                last = completed
                second += 1
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops the line and waits until it no longer prints.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        done.wait()
    }
}
