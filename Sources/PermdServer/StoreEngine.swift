public import Logging
public import PermdIndex
import PermdCore
import PermdPolicy
public import PermdProtocol
public import PermdStore

/// The production state engine: the SQLite store behind the index. Writes are decoded,
/// committed in one `perform` per batch, and the change log is applied to the snapshot
/// (a full rebuild after a policy reload or when the log no longer reaches back).
public final class StoreEngine: StateEngine {
    private let store: SQLiteStore
    private let policiesDirectory: String
    private let logger: Logger
    private var dataVersion: Int64
    public private(set) var snapshot: IndexSnapshot

    /// - Parameters:
    ///   - store: the open store (with the validated policies).
    ///   - policiesDirectory: where `RELOAD` reads the policies again.
    ///   - logger: where reloads and failures are logged.
    public init(store: SQLiteStore, policiesDirectory: String, logger: Logger) throws {
        self.store = store
        self.policiesDirectory = policiesDirectory
        self.logger = logger
        dataVersion = try store.dataVersion()
        snapshot = try Self.build(store, logger: logger)
    }

    /// A full build, its progress logged (a large state takes seconds).
    private static func build(_ store: SQLiteStore, logger: Logger) throws -> IndexSnapshot {
        try IndexSnapshot.build(policy: store.policy, reader: store) { rows in
            logger.info("building the index", metadata: ["rows_read": "\(rows)"])
        }
    }

    public func perform(_ requests: [Request]) -> [String] {
        var replies: [String?] = Array(repeating: nil, count: requests.count)
        var pending: [(index: Int, write: Write)] = []
        for (index, request) in requests.enumerated() {
            if request.command == .reload {
                commit(&pending, into: &replies)
                replies[index] = reload()
                continue
            }
            do throws(ProtocolError) {
                pending.append((index, try WriteDecoder.write(for: request)))
            } catch {
                replies[index] = error.description
            }
        }
        commit(&pending, into: &replies)
        return replies.map { $0 ?? ProtocolError(.internal, "no answer").description }
    }

    public func refresh() throws -> Bool {
        let version = try store.dataVersion()
        guard version != dataVersion else { return false }
        dataVersion = version
        let before = snapshot.revision
        try catchUp()
        return snapshot.revision != before
    }

    /// Commits the decoded writes as one group; fills their replies.
    private func commit(_ pending: inout [(index: Int, write: Write)], into replies: inout [String?]) {
        guard !pending.isEmpty else { return }
        defer { pending.removeAll() }
        do {
            let results = try store.perform(pending.map(\.write))
            try catchUp()
            for ((index, _), result) in zip(pending, results) {
                replies[index] = Self.reply(result)
            }
        } catch {
            logger.error("write batch failed", metadata: ["error": "\(error)", "writes": "\(pending.count)"])
            for (index, _) in pending {
                replies[index] = ProtocolError(.internal, "the write failed; see the server log").description
            }
        }
    }

    /// Brings the snapshot up to the store's revision from the change log.
    private func catchUp() throws {
        if let changes = try store.changes(after: snapshot.revision), let next = snapshot.applying(changes) {
            snapshot = next
        } else {
            snapshot = try Self.build(store, logger: logger)
        }
    }

    /// `RELOAD` and SIGHUP: a policy set with errors keeps the old index serving.
    private func reload() -> String {
        let result = PolicyLoader.load(directory: policiesDirectory)
        guard let policy = result.policy else {
            for diagnostic in result.diagnostics { logger.error("reload: \(diagnostic)") }
            let first = result.diagnostics.first { $0.severity == .error } ?? result.diagnostics.first
            return ProtocolError(.invalid, first?.description ?? "the policies do not load").description
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
            return "OK \(snapshot.revision)"
        } catch {
            logger.error("reload failed", metadata: ["error": "\(error)"])
            return ProtocolError(.internal, "reload failed; see the server log").description
        }
    }

    private static func reply(_ result: Result<WriteOutcome, WriteError>) -> String {
        switch result {
        case .success(.committed(let revision)): "OK \(revision)"
        case .success(.userAdded(let id, let revision)): "OK \(id) \(revision)"
        case .success(.signedIn(let outcome, _)): outcome.reply
        case .failure(let error): error.description
        }
    }
}
