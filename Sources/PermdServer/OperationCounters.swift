import PermdCore
import PermdProtocol
import Prometheus
import Synchronization

/// A total that several event loops add to; relaxed ordering, since only the sum is read.
final class SharedCounter: Sendable {
    private let storage = Atomic<Int>(0)

    func add(_ amount: Int) { storage.add(amount, ordering: .relaxed) }

    var value: Int { storage.load(ordering: .relaxed) }
}

/// The server's totals for `/metrics` (SPEC §9): requests by command, errors by code,
/// reloads by result, and how long the writer's batches take to commit; with the server's
/// own Prometheus registry, which the scrape folds the totals into (`PermdServer+Metrics`).
///
/// Connections count into their own `ConnectionCounts` (plain integers, no lock, no
/// allocation per request) and add them here once per read burst, like `STATS`' checks.
final class OperationCounters: Sendable {
    /// One registry per server, never swift-metrics' process-wide `MetricsSystem`: tests run
    /// several servers in one process, and each scrape shows its own server only.
    let registry: PrometheusCollectorRegistry
    /// By `Command.rawValue`.
    let requests: [SharedCounter] = Command.allCases.map { _ in SharedCounter() }
    /// By position in `ErrorCode.known`; the last one counts any other code.
    let errors: [SharedCounter] = (0...ErrorCode.known.count).map { _ in SharedCounter() }
    let reloadsOK = SharedCounter()
    /// Policies that did not load (the old ones keep serving).
    let reloadsInvalid = SharedCounter()
    /// Reloads that failed otherwise (the database out of reach).
    let reloadsFailed = SharedCounter()
    /// Each batch the writer commits, from the first write taken to the snapshot published;
    /// recorded by the writer thread straight into the registry (its lock is never on the
    /// CHECK path).
    let commits: DurationHistogram
    /// The series the scrape sets from the totals (`PermdServer+Metrics`); the lock keeps two
    /// scrapes from folding the same growth twice.
    let exposed: Mutex<ExposedSeries>

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        commits = registry.makeDurationHistogram(
            descriptor: .permd("permd_write_commit_seconds", help: """
                Batches of writes (and RELOADs) the writer carried out: from taking the batch to publishing the index \
                that includes it, in seconds.
                """),
            buckets: [.microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
                      .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                      .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10)])
        exposed = Mutex(ExposedSeries(registry: registry))
    }

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

    mutating func request(_ command: Command, times: Int = 1) {
        requests[Int(command.rawValue)] += times
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

extension ConnectionCounts {
    /// Counts the error code of a write the writer did not carry out.
    mutating func count(_ result: Result<WriteOutcome, WriteFailure>) {
        if case .failure(let failure) = result { error(ProtocolError(failure).code) }
    }
}

extension MetricNameDescriptor {
    /// A series under its full name, as SPEC §9 spells it, with the `# HELP` text a person
    /// reads in the scrape.
    static func permd(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
