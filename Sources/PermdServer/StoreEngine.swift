public import Logging
public import PermdIndex
public import PermdCore
public import PermdPolicy
public import PermdProtocol
public import PermdStore

extension WriteFailure {
    /// Whether the write may succeed later (the database was locked or out of reach).
    var isUnavailable: Bool {
        if case .unavailable = self { return true }
        return false
    }
}

/// Opens the store again after its database was out of reach (`StoreLocation.open`), with the
/// policies the engine serves.
public typealias StoreOpener = (PolicySet) throws -> any StateStore

/// What the writer thread drives: the store behind the index (any `StateStore`). Writes are
/// committed in one `perform` per batch, and the change log is applied to the snapshot
/// (a full rebuild after a policy reload or when the log no longer reaches back).
///
/// On a shared database (PostgreSQL) a store whose connection was lost is opened again,
/// at most once per `reopenInterval` unless the follower found the database reachable, and
/// the index catches up from the change log; until then writes answer `ERR UNAVAILABLE`
/// and the index keeps serving.
public final class StoreEngine {
    private var store: any StateStore
    private let opener: StoreOpener?
    private let policiesDirectory: String
    private let logger: Logger
    /// A shared database's link (outages, lag); nil for SQLite.
    public let link: ReplicaLink?
    /// Whether the store's connection was lost: it is opened again before its next use.
    private var storeLost = false
    /// The last attempt to open the store again, and why it failed.
    private var lastReopen: (at: ContinuousClock.Instant, failure: any Error)?
    /// How often a lost store is opened again while the database seems down.
    static let reopenInterval: Duration = .seconds(1)
    /// The store's commit marker when this engine last looked: a change means another process committed.
    private var commitMarker: CommitMarker
    /// The snapshot that includes every change committed so far.
    public private(set) var snapshot: IndexSnapshot

    /// - Parameters:
    ///   - store: the open store (with the validated policies).
    ///   - policiesDirectory: where `RELOAD` reads the policies again.
    ///   - logger: where reloads and failures are logged.
    ///   - opener: opens the store again after its database was out of reach (nil: never).
    public init(store: any StateStore, policiesDirectory: String, logger: Logger, opener: StoreOpener? = nil) throws {
        self.store = store
        self.opener = opener
        self.policiesDirectory = policiesDirectory
        self.logger = logger
        commitMarker = try store.commitMarker()
        snapshot = try Self.build(store, logger: logger)
        link = store.backend == .postgres ? ReplicaLink(revision: snapshot.revision, logger: logger) : nil
    }

    /// Which database the state is in.
    public var backend: StoreBackend { store.backend }

    /// The store's watcher, for the follower thread.
    func commitWatcher() -> any CommitWatcher { store.commitWatcher() }

    /// Whether `error` says the database is out of reach (an outage, not a failed write).
    func isUnreachable(_ error: any Error) -> Bool {
        (error as? StoreError)?.isUnreachable == true
    }

    /// Runs `body` on the store, opened again first if its connection was lost; a lost
    /// connection is noted (and reported to the link) for the next use.
    private func usingStore<T>(_ body: () throws -> T) throws -> T {
        if storeLost { try reopen() }
        do {
            return try body()
        } catch where isUnreachable(error) || (error as? StoreError)?.kind == .commitOutcomeUnknown {
            storeLost = true
            link?.lost(error)
            throw error
        }
    }

    /// Opens the store again and catches up; fails fast (with the last failure) while the
    /// database seems down and the last attempt is recent.
    private func reopen() throws {
        guard let opener else {
            storeLost = false
            return
        }
        if let last = lastReopen, ContinuousClock.now - last.at < Self.reopenInterval, link?.databaseUp != true {
            throw last.failure
        }
        do {
            let fresh = try opener(store.policy)
            store.close()
            store = fresh
            storeLost = false
            lastReopen = nil
            link?.reached()
        } catch {
            lastReopen = (.now, error)
            link?.lost(error)
            throw error
        }
        commitMarker = try store.commitMarker()
        try catchUp()
    }

    /// A full build, its progress logged (a large state takes seconds).
    private static func build(_ store: any StateStore, logger: Logger) throws -> IndexSnapshot {
        try IndexSnapshot.build(policy: store.policy, reader: store) { rows in
            logger.info("building the index", metadata: ["rows_read": "\(rows)"])
        }
    }

    /// Carries out the writes (and `RELOAD`s) in order — consecutive writes as one group,
    /// in one transaction — and brings `snapshot` up to date; one result per request.
    /// - Parameters:
    ///   - requests: the writes and reloads, in order.
    ///   - actors: who asks for each request (the audit log), one per request.
    public func perform(_ requests: [WriteRequest], by actors: [ChangeActor]) -> [Result<WriteOutcome, WriteFailure>] {
        precondition(actors.count == requests.count, "one actor per request")
        var results: [Result<WriteOutcome, WriteFailure>?] = Array(repeating: nil, count: requests.count)
        var pending: [(index: Int, write: AttributedWrite)] = []
        for (index, (request, actor)) in zip(requests, actors).enumerated() {
            switch request {
            case .write(let write):
                pending.append((index, AttributedWrite(write, by: actor)))
            case .reload:
                commit(&pending, into: &results)
                results[index] = reload(by: actor)
            }
        }
        commit(&pending, into: &results)
        return results.map { $0 ?? .failure(.failed("no answer")) }
    }

    /// Closes the store at a clean stop (its state left whole in the database file); the
    /// engine is not used afterwards.
    public func close() {
        store.close()
    }

    /// Picks up changes committed by other processes; returns whether `snapshot` changed.
    public func refresh() throws -> Bool {
        let before = snapshot.revision
        try usingStore {
            let marker = try store.commitMarker()
            guard marker != commitMarker else { return }
            commitMarker = marker
            try catchUp()
        }
        return snapshot.revision != before
    }

    /// Commits the writes as one group; fills their results.
    private func commit(_ pending: inout [(index: Int, write: AttributedWrite)],
                        into results: inout [Result<WriteOutcome, WriteFailure>?]) {
        guard !pending.isEmpty else { return }
        defer { pending.removeAll() }
        let committed: CommittedWrites
        do {
            committed = try usingStore { try store.commit(pending.map(\.write)) }
        } catch {
            let failure = Self.failure(error, otherwise: "the write failed; see the server log")
            // An outage is logged once by the link, not once per refused batch.
            logger.log(level: isUnreachable(error) ? .debug : failure.isUnavailable ? .warning : .error,
                       "write batch failed", metadata: ["error": "\(error)", "writes": "\(pending.count)"])
            for (index, _) in pending { results[index] = .failure(failure) }
            return
        }
        // Committed: the answers are the outcomes, even when the index cannot include them yet
        // (the database went away just after the commit) — `ERR UNAVAILABLE` would say that
        // nothing was stored. The index catches up once the database is back.
        do {
            try include(committed)
        } catch {
            logger.warning("committed, but the index cannot include it until the database answers again",
                           metadata: ["error": "\(error)", "writes": "\(pending.count)"])
        }
        for ((index, _), outcome) in zip(pending, committed.outcomes) {
            results[index] = outcome.mapError(WriteFailure.refused)
        }
    }

    /// Brings the snapshot up to date after this engine's own batch: from the batch's own
    /// changes when they follow the snapshot directly (no reading back what was just
    /// written), else — another process committed in between — from the change log.
    private func include(_ committed: CommittedWrites) throws {
        if committed.revisionBefore == snapshot.revision {
            if committed.changes.isEmpty { return }
            if let next = snapshot.applying(committed.changes) {
                snapshot = next
                return
            }
        }
        try usingStore { try catchUp() }
    }

    /// Trims the audit log to `retention` (`--log-retention`); a failure is logged, and the
    /// next trim tries again. The index is untouched: a trim changes no state.
    func trimLog(keeping retention: Duration) {
        do {
            let trim = try usingStore { try store.trimLog(keeping: retention) }
            logger.log(level: trim.revisions > 0 ? .info : .debug, "trimmed the audit log", metadata: [
                "revisions": "\(trim.revisions)", "log_floor": "\(trim.floor)"])
        } catch {
            logger.log(level: isUnreachable(error) ? .debug : .warning, "cannot trim the audit log; trying again later",
                       metadata: ["error": "\(error)"])
        }
    }

    /// The one mapping from a store failure to what the writer answers: another process's lock
    /// past the write timeout, or a database out of reach, is `unavailable` (nothing stored,
    /// retry later); anything else failed.
    static func failure(_ error: any Error, otherwise message: String) -> WriteFailure {
        guard let storeError = error as? StoreError else { return .failed(message) }
        // Not `unavailable`: that says nothing was stored, and this write may have been.
        if storeError.kind == .commitOutcomeUnknown {
            return .failed("the database went away during the commit; the write may or may not be stored, read it back")
        }
        if storeError.kind == .busy { return .unavailable(storeError.message) }
        if storeError.isUnreachable { return .unavailable("the database is out of reach; nothing was stored") }
        return .failed(message)
    }

    /// Brings the snapshot up to the store's revision from the change log, read and applied
    /// in one pass: an import of 100,000 users by another process is visible within SPEC §3's
    /// second, where a full build of a million users takes longer than that.
    private func catchUp() throws {
        let started = ContinuousClock.now
        let before = snapshot.revision
        guard let next = try snapshot.applying(changesFrom: store) else {
            logger.info("rebuilding the index in full (policies reloaded, or the change log no longer reaches back)",
                        metadata: ["revision": "\(before)"])
            snapshot = try Self.build(store, logger: logger)
            return
        }
        snapshot = next
        let elapsed = ContinuousClock.now - started
        // A batch that takes long (a large import by another process) is worth a line.
        logger.log(level: elapsed >= .milliseconds(100) ? .info : .debug, "applied the change log", metadata: [
            "from_revision": "\(before)", "revision": "\(snapshot.revision)",
            "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
        ])
    }

    /// `RELOAD` and SIGHUP: a policy set with errors keeps the old index serving.
    private func reload(by actor: ChangeActor) -> Result<WriteOutcome, WriteFailure> {
        let result = PolicyLoader.load(directory: policiesDirectory)
        guard let policy = result.policy else {
            for diagnostic in result.diagnostics { logger.error("reload: \(diagnostic)") }
            let first = result.diagnostics.first { $0.severity == .error } ?? result.diagnostics.first
            return .failure(.invalidPolicies(first?.description ?? "the policies do not load"))
        }
        for diagnostic in result.diagnostics { logger.warning("reload: \(diagnostic)") }
        do {
            // In full: on PostgreSQL a reload is this replica's alone and changes no revision
            // (SPEC §8), so the change log has nothing that would make the index follow the
            // policies.
            snapshot = try usingStore {
                _ = try store.reload(policy: policy, actor: actor)
                return try Self.build(store, logger: logger)
            }
            let statistics = snapshot.statistics
            logger.info("policies reloaded", metadata: [
                "revision": "\(snapshot.revision)", "roles": "\(statistics.roles)",
                "permissions": "\(statistics.permissions)", "build_ms": "\(statistics.buildMilliseconds)",
            ])
            return .success(.committed(revision: snapshot.revision))
        } catch let error as StoreError where error.kind == .invariantBroken {
            // Policy files the database contradicts (a declared organization's external id
            // held by another): invalid policies, said as such, not a server fault.
            logger.error("reload: \(error.message)")
            return .failure(.invalidPolicies(error.message))
        } catch {
            let failure = Self.failure(error, otherwise: "reload failed; see the server log")
            logger.log(level: failure.isUnavailable ? .warning : .error, "reload failed", metadata: ["error": "\(error)"])
            return .failure(failure)
        }
    }
}
