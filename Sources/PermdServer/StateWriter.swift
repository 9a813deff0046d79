import Foundation
import Logging
import PermdCore
import PermdIndex
import PermdProtocol
import Prometheus

/// The dedicated writer thread (never an event loop): it commits everything queued as
/// one batch, publishes the new snapshot, and only then completes the requests; between
/// batches it catches up with the commits made elsewhere when the follower (`StoreFollower`)
/// or a `SYNC` asks.
final class StateWriter: @unchecked Sendable {
    /// Writes from one connection, answered together.
    struct Job: Sendable {
        var requests: [WriteRequest]
        /// Who asks for them (the connection's token or peer; SIGHUP: the policy files).
        var actor: ChangeActor
        /// Called with one result per request, in order.
        var completion: @Sendable ([Result<WriteOutcome, WriteFailure>]) -> Void
    }

    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var refreshRequested = false
    private var stopping = false
    private var finished = false

    // Owned by the writer thread once it runs.
    private let engine: StoreEngine
    private let publisher: SnapshotPublisher
    private let counters: OperationCounters
    private let tokens: ServerTokens
    private let logger: Logger
    /// A shared database's link, told what the published index includes; nil for SQLite.
    let link: ReplicaLink?
    /// How long the audit log keeps a revision; nil: forever.
    private let logRetention: Duration?
    /// When the log was last trimmed (nil: not yet; the writer trims first thing).
    private var lastTrim: ContinuousClock.Instant?
    /// How often the log is trimmed: retention is counted in days, an hour late is nothing.
    static let trimInterval: Duration = .seconds(3600)

    /// - Parameters:
    ///   - engine: the state the writes go to; the writer thread is its only user.
    ///   - publisher: where new snapshots go.
    ///   - counters: where commit times and reload results are counted.
    ///   - tokens: the token files `RELOAD` reads again.
    ///   - logger: where commit failures and refreshes are logged.
    ///   - link: a shared database's link (the engine reports outages to it too); nil for SQLite.
    ///   - logRetention: how long the audit log keeps a revision (nil: forever).
    init(engine: StoreEngine, publisher: SnapshotPublisher, counters: OperationCounters, tokens: ServerTokens,
         logger: Logger, link: ReplicaLink?, logRetention: Duration?) {
        self.link = link
        self.logRetention = logRetention
        self.tokens = tokens
        self.engine = engine
        self.publisher = publisher
        self.counters = counters
        self.logger = logger
    }

    /// Starts the thread.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "permd-writer"
        thread.start()
    }

    /// Queues writes; `completion` runs on the writer thread after the batch is published.
    func submit(_ job: Job) {
        condition.lock()
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Asks for a check for outside changes now (a `SYNC` for a revision not seen yet).
    func requestRefresh() {
        condition.lock()
        refreshRequested = true
        condition.signal()
        condition.unlock()
    }

    /// Finishes the queued writes, then stops the thread; returns when it has stopped.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        // Before the first job: the log is trimmed once the server starts (and hourly below),
        // on this thread, never on a connection's.
        trimLogWhenDue()
        while true {
            condition.lock()
            while queue.isEmpty && !refreshRequested && !stopping {
                guard let due = nextTrim else {
                    condition.wait()
                    continue
                }
                let seconds = Double(due.components.seconds) + Double(due.components.attoseconds) / 1e18
                if !condition.wait(until: Date(timeIntervalSinceNow: seconds)) { break }
            }
            let jobs = queue
            queue.removeAll(keepingCapacity: true)
            let refresh = refreshRequested
            refreshRequested = false
            let stop = stopping && jobs.isEmpty
            condition.unlock()

            if !jobs.isEmpty { commit(jobs) }
            if refresh { pollForOutsideChanges() }
            trimLogWhenDue()
            if stop { break }
        }
        // The last write is done: a clean stop leaves the whole state in the database file.
        engine.close()
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    private func commit(_ jobs: [Job]) {
        let started = ContinuousClock.now
        let requests = jobs.flatMap(\.requests)
        // Each revision is logged as made by its own connection, though the batch commits together.
        var results = engine.perform(requests, by: jobs.flatMap { job in job.requests.map { _ in job.actor } })
        publish()
        rereadTokens(for: requests, results: &results)
        counters.commits.record(ContinuousClock.now - started)
        counters.countReloads(requests, results)
        var start = 0
        for job in jobs {
            let end = start + job.requests.count
            job.completion(Array(results[start..<end]))
            start = end
        }
    }

    /// `RELOAD` reads the token files again too (a rotation needs no restart). A token file
    /// that cannot be used keeps its old token, and the `RELOAD` answers `ERR INVALID` naming
    /// it, even though the policies were reloaded: the operator must hear of it.
    private func rereadTokens(for requests: [WriteRequest], results: inout [Result<WriteOutcome, WriteFailure>]) {
        guard requests.contains(.reload) else { return }
        let problems = tokens.reread()
        for problem in problems {
            logger.error("reload: token file kept its previous token: \(problem)")
        }
        guard let first = problems.first else {
            logger.info("token files read again")
            return
        }
        for (index, request) in requests.enumerated() where request == .reload {
            if case .success(.committed(let revision)) = results[index] {
                results[index] = .failure(.invalidPolicies(
                    "policies reloaded (revision \(revision)), but \(first); its previous token is kept"))
            }
        }
    }

    /// How long until the next trim is due (zero or less: now); nil when the log is kept forever.
    private var nextTrim: Duration? {
        guard logRetention != nil else { return nil }
        guard let lastTrim else { return .zero }
        return Self.trimInterval - (ContinuousClock.now - lastTrim)
    }

    /// Trims the audit log when the last trim is an hour old (`--log-retention`).
    private func trimLogWhenDue() {
        guard let retention = logRetention, let due = nextTrim, due <= .zero else { return }
        lastTrim = .now
        engine.trimLog(keeping: retention)
    }

    private func pollForOutsideChanges() {
        do {
            if try engine.refresh() {
                publish()
                logger.debug("picked up outside changes", metadata: ["revision": "\(engine.snapshot.revision)"])
            }
        } catch {
            // An outage is logged once, by the link; anything else each time.
            if !engine.isUnreachable(error) {
                logger.error("cannot read outside changes", metadata: ["error": "\(error)"])
            }
        }
    }

    private func publish() {
        publisher.publish(engine.snapshot)
        link?.applied(engine.snapshot.revision)
    }
}
