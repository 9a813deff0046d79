import PermdCore
import PermdProtocol
import Synchronization

/// A total that several event loops add to; relaxed ordering, since only the sum is read.
final class SharedCounter: Sendable {
    private let storage = Atomic<Int>(0)

    func add(_ amount: Int) { storage.add(amount, ordering: .relaxed) }

    var value: Int { storage.load(ordering: .relaxed) }
}

/// The server's totals for `/metrics` (SPEC §9): requests by command, errors by code,
/// reloads by result, and how long the writer's batches take to commit.
///
/// Connections count into their own `ConnectionCounts` (plain integers, no lock, no
/// allocation per request) and add them here once per read burst, like `STATS`' checks.
final class OperationCounters: Sendable {
    /// By `Command.rawValue`.
    let requests: [SharedCounter] = Command.allCases.map { _ in SharedCounter() }
    /// By position in `ErrorCode.known`; the last one counts any other code.
    let errors: [SharedCounter] = (0...ErrorCode.known.count).map { _ in SharedCounter() }
    let reloadsOK = SharedCounter()
    /// Policies that did not load (the old ones keep serving).
    let reloadsInvalid = SharedCounter()
    /// Reloads that failed otherwise (the database out of reach).
    let reloadsFailed = SharedCounter()
    /// Each batch the writer commits, from the first write taken to the snapshot published.
    let commits = DurationHistogram(bounds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])

    /// The position of `code` in `errors`.
    static func errorSlot(_ code: ErrorCode) -> Int {
        ErrorCode.known.firstIndex(of: code) ?? ErrorCode.known.count
    }

    /// Counts what the writer answered to a batch's `RELOAD`s.
    func countReloads(_ requests: [WriteRequest], _ results: [Result<WriteOutcome, WriteFailure>]) {
        for (request, result) in zip(requests, results) {
            guard case .reload = request else { continue }
            switch result {
            case .success: reloadsOK.add(1)
            case .failure(.invalidPolicies): reloadsInvalid.add(1)
            case .failure: reloadsFailed.add(1)
            }
        }
    }
}

/// One connection's counts since its last burst, added to `OperationCounters` when the
/// burst is flushed. The arrays are made once per connection; counting writes into them.
struct ConnectionCounts {
    private var requests = [Int](repeating: 0, count: Command.allCases.count)
    private var errors = [Int](repeating: 0, count: ErrorCode.known.count + 1)
    private var pending = false

    mutating func request(_ command: Command) {
        requests[Int(command.rawValue)] += 1
        pending = true
    }

    mutating func error(_ code: ErrorCode) {
        errors[OperationCounters.errorSlot(code)] += 1
        pending = true
    }

    /// Adds the counts to `totals` and starts again from zero.
    mutating func flush(into totals: OperationCounters) {
        guard pending else { return }
        pending = false
        for index in requests.indices where requests[index] != 0 {
            totals.requests[index].add(requests[index])
            requests[index] = 0
        }
        for index in errors.indices where errors[index] != 0 {
            totals.errors[index].add(errors[index])
            errors[index] = 0
        }
    }
}

/// A Prometheus histogram of durations in seconds, with fixed bucket bounds; observed by
/// one thread (the writer), read by the scrape.
final class DurationHistogram: Sendable {
    /// The upper bounds of the buckets, in seconds, ascending (`+Inf` is implied).
    let bounds: [Double]
    private let buckets: [SharedCounter]
    private let nanoseconds = SharedCounter()
    private let observations = SharedCounter()

    init(bounds: [Double]) {
        self.bounds = bounds
        buckets = bounds.map { _ in SharedCounter() }
    }

    func observe(_ duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        // Counted in the first bucket it fits; the cumulative counts are summed at scrape.
        if let slot = bounds.firstIndex(where: { seconds <= $0 }) { buckets[slot].add(1) }
        nanoseconds.add(Int(seconds * 1e9))
        observations.add(1)
    }

    /// The cumulative count per bound, the sum in seconds and the count, as a scrape reads them.
    var reading: (cumulative: [Int], sum: Double, count: Int) {
        var running = 0
        let cumulative = buckets.map { running += $0.value; return running }
        return (cumulative, Double(nanoseconds.value) / 1e9, observations.value)
    }
}

extension ConnectionCounts {
    /// Counts the error code of a write the writer did not carry out.
    mutating func count(_ result: Result<WriteOutcome, WriteFailure>) {
        if case .failure(let failure) = result { error(ProtocolError(failure).code) }
    }
}
