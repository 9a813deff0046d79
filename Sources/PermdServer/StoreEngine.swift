public import Logging
public import PermdIndex
public import PermdCore
import PermdPolicy
public import PermdProtocol
public import PermdStore

extension WriteFailure {
    /// Whether the write may succeed later (the database was locked or out of reach).
    var isUnavailable: Bool {
        if case .unavailable = self { return true }
        return false
    }
}

/// What the writer thread drives: the store behind the index (any `StateStore`). Writes are
/// committed in one `perform` per batch, and the change log is applied to the snapshot
/// (a full rebuild after a policy reload or when the log no longer reaches back).
public final class StoreEngine {
    private let store: any StateStore
    private let policiesDirectory: String
    private let logger: Logger
    /// The store's commit marker when this engine last looked: a change means another process committed.
    private var commitMarker: CommitMarker
    /// The snapshot that includes every change committed so far.
    public private(set) var snapshot: IndexSnapshot

    /// - Parameters:
    ///   - store: the open store (with the validated policies).
    ///   - policiesDirectory: where `RELOAD` reads the policies again.
    ///   - logger: where reloads and failures are logged.
    public init(store: any StateStore, policiesDirectory: String, logger: Logger) throws {
        self.store = store
        self.policiesDirectory = policiesDirectory
        self.logger = logger
        commitMarker = try store.commitMarker()
        snapshot = try Self.build(store, logger: logger)
    }

    /// A full build, its progress logged (a large state takes seconds).
    private static func build(_ store: any StateStore, logger: Logger) throws -> IndexSnapshot {
        try IndexSnapshot.build(policy: store.policy, reader: store) { rows in
            logger.info("building the index", metadata: ["rows_read": "\(rows)"])
        }
    }

    /// Carries out the writes (and `RELOAD`s) in order — consecutive writes as one group,
    /// in one transaction — and brings `snapshot` up to date; one result per request.
    public func perform(_ requests: [WriteRequest]) -> [Result<WriteOutcome, WriteFailure>] {
        var results: [Result<WriteOutcome, WriteFailure>?] = Array(repeating: nil, count: requests.count)
        var pending: [(index: Int, write: Write)] = []
        for (index, request) in requests.enumerated() {
            switch request {
            case .write(let write):
                pending.append((index, write))
            case .reload:
                commit(&pending, into: &results)
                results[index] = reload()
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
        let marker = try store.commitMarker()
        guard marker != commitMarker else { return false }
        commitMarker = marker
        let before = snapshot.revision
        try catchUp()
        return snapshot.revision != before
    }

    /// Commits the writes as one group; fills their results.
    private func commit(_ pending: inout [(index: Int, write: Write)],
                        into results: inout [Result<WriteOutcome, WriteFailure>?]) {
        guard !pending.isEmpty else { return }
        defer { pending.removeAll() }
        do {
            let outcomes = try store.perform(pending.map(\.write))
            try catchUp()
            for ((index, _), outcome) in zip(pending, outcomes) {
                results[index] = outcome.mapError(WriteFailure.refused)
            }
        } catch {
            let failure = Self.failure(error, otherwise: "the write failed; see the server log")
            logger.log(level: failure.isUnavailable ? .warning : .error, "write batch failed",
                       metadata: ["error": "\(error)", "writes": "\(pending.count)"])
            for (index, _) in pending { results[index] = .failure(failure) }
        }
    }

    /// The one mapping from a store failure to what the writer answers: another process's lock
    /// past the write timeout is `unavailable` (nothing stored, retry later); anything else failed.
    static func failure(_ error: any Error, otherwise message: String) -> WriteFailure {
        if let storeError = error as? StoreError, storeError.kind == .busy {
            return .unavailable(storeError.message)
        }
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
    private func reload() -> Result<WriteOutcome, WriteFailure> {
        let result = PolicyLoader.load(directory: policiesDirectory)
        guard let policy = result.policy else {
            for diagnostic in result.diagnostics { logger.error("reload: \(diagnostic)") }
            let first = result.diagnostics.first { $0.severity == .error } ?? result.diagnostics.first
            return .failure(.invalidPolicies(first?.description ?? "the policies do not load"))
        }
        for diagnostic in result.diagnostics { logger.warning("reload: \(diagnostic)") }
        do {
            _ = try store.reload(policy: policy)
            try catchUp()
            let statistics = snapshot.statistics
            logger.info("policies reloaded", metadata: [
                "revision": "\(snapshot.revision)", "roles": "\(statistics.roles)",
                "permissions": "\(statistics.permissions)", "build_ms": "\(statistics.buildMilliseconds)",
            ])
            return .success(.committed(revision: snapshot.revision))
        } catch {
            let failure = Self.failure(error, otherwise: "reload failed; see the server log")
            logger.log(level: failure.isUnavailable ? .warning : .error, "reload failed", metadata: ["error": "\(error)"])
            return .failure(failure)
        }
    }
}
