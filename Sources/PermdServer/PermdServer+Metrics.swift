import PermdIndex
import PermdPolicy
import PermdProtocol
import Prometheus
import Synchronization

/// A registry counter that follows a total the server keeps itself (a relaxed atomic that
/// connections add to once per read burst, or the writer once per batch): each scrape adds
/// what the total grew since the last.
/// The registry's counters can only grow, so the fold is by difference, never by setting.
struct FoldedCounter {
    let counter: Counter
    private var folded = 0

    init(_ counter: Counter) {
        self.counter = counter
    }

    mutating func fold(_ total: Int) {
        guard total > folded else { return }
        counter.increment(by: Int64(total - folded))
        folded = total
    }
}

/// The server's series (SPEC §9) in its registry, apart from the commit histogram the writer
/// records itself: the scrape sets them from the counters and the snapshot the server keeps
/// anyway, so the CHECK path never touches the registry.
struct ExposedSeries {
    private let registry: PrometheusCollectorRegistry
    /// In `Command.allCases` order.
    private var requests: [FoldedCounter]
    private var allows: FoldedCounter
    private var denies: FoldedCounter
    private var errors: [FoldedCounter]
    private let connections: Gauge
    private let revision: Gauge
    private let indexBytes: Gauge
    private let memberships: Gauge
    private let buildSeconds: Gauge
    private var reloadsOK: FoldedCounter
    private var reloadsInvalid: FoldedCounter
    private var reloadsFailed: FoldedCounter
    /// The digest exposed and its series; replaced (the old series unregistered) when a
    /// reload serves other policy files.
    private var policy: (digest: String, info: Gauge)?

    // The help of the labelled families, shared by each of their series (the registry
    // refuses one family with two texts).
    private static let requestsHelp = """
        Request lines read, by command (a line that does not parse, such as an unknown command or a wrong number \
        of words, is counted in permd_errors_total only).
        """
    private static let checksHelp = "Permissions decided by CHECK (one line may ask several), by result."
    private static let errorsHelp = "ERR replies sent, by code."
    private static let reloadsHelp = """
        RELOAD and SIGHUP, by result: ok, invalid (the policies do not load; the old ones serve), failed (the \
        database was out of reach).
        """
    private static let policyHelp = """
        Always 1; the digest label names the policy files served (first 12 hex digits of their SHA-256, as in STATS).
        """

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        func counter(_ name: String, _ label: String, _ value: String, help: String) -> FoldedCounter {
            FoldedCounter(registry.makeCounter(descriptor: .permd(name, help: help), labels: [(label, value)]))
        }
        func gauge(_ name: String, help: String) -> Gauge {
            registry.makeGauge(descriptor: .permd(name, help: help))
        }
        requests = Command.allCases.map { counter("permd_requests_total", "command", $0.word, help: Self.requestsHelp) }
        allows = counter("permd_checks_total", "result", "allow", help: Self.checksHelp)
        denies = counter("permd_checks_total", "result", "deny", help: Self.checksHelp)
        errors = ErrorCode.known.map { counter("permd_errors_total", "code", $0.rawValue, help: Self.errorsHelp) }
        connections = gauge("permd_connections", help: "Open line-protocol connections (TCP and Unix socket).")
        revision = gauge("permd_revision", help: "The database revision the served index includes.")
        indexBytes = gauge("permd_index_bytes", help: "Memory held by the served index, in bytes.")
        memberships = gauge("permd_index_memberships", help: "Memberships (user in organization) in the served index.")
        buildSeconds = gauge("permd_index_build_seconds", help: "How long the last full build of the index took, in seconds.")
        reloadsOK = counter("permd_reloads_total", "result", "ok", help: Self.reloadsHelp)
        reloadsInvalid = counter("permd_reloads_total", "result", "invalid", help: Self.reloadsHelp)
        reloadsFailed = counter("permd_reloads_total", "result", "failed", help: Self.reloadsHelp)
    }

    /// Brings every series up to `statistics` and `snapshot`.
    mutating func update(from statistics: ServerStatistics, serving snapshot: IndexSnapshot) {
        let counters = statistics.operations
        for (index, command) in Command.allCases.enumerated() {
            requests[index].fold(counters.requests[Int(command.rawValue)].value)
        }
        allows.fold(statistics.allows.load(ordering: .relaxed))
        denies.fold(statistics.denies.load(ordering: .relaxed))
        // `errors` has one slot more than `ErrorCode.known` (codes outside it); the server
        // sends only known codes, so the extra slot is not exposed.
        for index in errors.indices { errors[index].fold(counters.errors[index].value) }
        connections.set(to: Double(statistics.connections.load(ordering: .relaxed)))
        revision.set(to: Double(snapshot.revision))
        let index = snapshot.statistics
        indexBytes.set(to: Double(index.indexBytes))
        memberships.set(to: Double(index.memberships))
        buildSeconds.set(to: index.buildMilliseconds / 1000)
        reloadsOK.fold(counters.reloadsOK.value)
        reloadsInvalid.fold(counters.reloadsInvalid.value)
        reloadsFailed.fold(counters.reloadsFailed.value)
        expose(policyDigest: snapshot.policy.digest ?? "none")
    }

    private mutating func expose(policyDigest digest: String) {
        if let policy, policy.digest == digest { return }
        if let policy { registry.unregisterGauge(policy.info) }
        let info = registry.makeGauge(descriptor: .permd("permd_policy_info", help: Self.policyHelp), labels: [("digest", digest)])
        info.set(to: 1)
        policy = (digest, info)
    }
}

extension PermdServer {
    /// Appends the server's series (SPEC §9) to a scrape. Reads atomics and the current
    /// snapshot only: a scrape never waits for the writer or an event loop.
    func emitMetrics(into page: inout [UInt8]) {
        let statistics = shared.statistics
        let snapshot = shared.publisher.latest.snapshot
        let operations = statistics.operations
        // Folded and emitted under one lock, so that two scrapes at once neither count the
        // same growth twice nor show a half-updated page.
        operations.exposed.withLock { series in
            series.update(from: statistics, serving: snapshot)
            operations.registry.emit(into: &page)
        }
    }
}
