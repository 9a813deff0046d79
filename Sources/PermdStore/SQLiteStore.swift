import CSQLite
import Foundation
public import Logging
public import PermdCore
public import PermdPolicy

/// The `StateStore` of one SQLite file: the state, and the single write path that keeps the
/// invariants of SPEC §1: every writer (CLI, import, server) goes through `perform`,
/// `applyImport` or `reload`.
///
/// Not thread-safe: one owner thread at a time. Several stores (in one process or in
/// several) may open the same file; writes wait for each other up to the busy timeout.
public final class SQLiteStore: StateStore {
    /// The policies that name the roles, permissions, defaults and declared organizations.
    public private(set) var policy: PolicySet
    let connection: SQLiteConnection
    let logger: Logger
    /// The changes of the write being applied; logged with its revision when it succeeds.
    var pendingChanges: [StateChange] = []
    /// Called between an import's reading and its write lock: a test commits another write there.
    var importWillTakeWriteLock: (() -> Void)?

    /// Opens (creating, migrating) the database; creates or updates the organizations the
    /// policies declare (logged as changes, bumping the revision only when something changed).
    ///
    /// A file that is not SQLite, one written by a newer permd, or one whose data breaks a rule
    /// the schema now enforces (a username or phone held twice: `.invariantBroken`, naming the
    /// values, the users and the fix) is refused unchanged.
    /// - Parameters:
    ///   - path: the database file.
    ///   - policy: the validated policies.
    ///   - logger: where the store reports migrations and slow locks.
    ///   - writeTimeout: how long a write waits for another process's lock before it fails
    ///     with `.busy` (nothing stored).
    public init(path: String, policy: PolicySet, logger: Logger,
                writeTimeout: Duration = StoreLocation.defaultWriteTimeout) throws(StoreError) {
        self.policy = policy
        self.logger = logger
        connection = try SQLiteConnection(path: path, writeTimeout: writeTimeout)
        // Read before any pragma that writes, so that a foreign or newer file stays untouched.
        let found = Int(try connection.integer("PRAGMA user_version") ?? 0)
        try refuseNewer(found)
        // A new database gets 8 KiB pages (the default is 4): a large import's merge writes
        // fewer, fuller pages and holds the write lock about a tenth less, while a small
        // commit's WAL frames stay small. An existing database keeps the size it has.
        if found == 0 { try connection.execute("PRAGMA page_size = 8192") }
        try connection.execute("PRAGMA journal_mode = WAL")
        // Savepoint journals (one per write of a group commit) stay in memory: they are small,
        // and a temporary file per savepoint costs system calls for nothing.
        try connection.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY")
        try migrate()
        _ = try writeTransaction { () throws -> UInt64 in
            try syncDeclaredOrganizations()
            return try commitPendingChanges(at: try readRevision(), by: .policy)
        }
    }

    /// Opens an existing database read-only (SPEC §3): nothing is created, migrated or synced
    /// (`SQLiteStore+ReadOnly.swift`).
    /// - Parameters:
    ///   - path: the database file; a missing one is `.notFound`.
    ///   - policy: the validated policies (used by a dry-run import; reads do not need them).
    ///   - logger: where the store reports slow locks.
    public init(readingOnly path: String, policy: PolicySet, logger: Logger) throws(StoreError) {
        self.policy = policy
        self.logger = logger
        connection = try SQLiteConnection(path: path, readOnly: true, writeTimeout: StoreLocation.defaultWriteTimeout)
        try requireCurrentSchema()
    }

    /// Switches to a reloaded policy set: syncs the declared organizations, logs
    /// `.policyReloaded` by `actor` and bumps the revision.
    public func reload(policy: PolicySet, actor: ChangeActor) throws(StoreError) -> UInt64 {
        let previous = self.policy
        self.policy = policy
        do {
            return try writeTransaction { () throws -> UInt64 in
                try syncDeclaredOrganizations()
                pendingChanges.append(.policyReloaded)
                return try commitPendingChanges(at: try readRevision(), by: actor)
            }
        } catch {
            self.policy = previous
            throw error
        }
    }

    /// Checkpoints the write-ahead log into the database file and closes the connection
    /// (a clean stop: a copy of the `.db` file alone is complete). Closing twice does nothing.
    public func close() {
        if !connection.close() {
            logger.debug("the write-ahead log was not emptied at close (another connection was using it)",
                         metadata: ["path": "\(connection.path)"])
        }
    }

    /// The revision of the last committed change.
    public func currentRevision() throws(StoreError) -> UInt64 {
        try readRevision()
    }

    /// SQLite's `PRAGMA data_version`: changes when another connection or process commits.
    public func dataVersion() throws(StoreError) -> Int64 {
        try connection.integer("PRAGMA data_version") ?? 0
    }

    /// `dataVersion()`: unchanged by this connection's own commits, so a change means another
    /// connection committed.
    public func commitMarker() throws(StoreError) -> CommitMarker {
        CommitMarker(try dataVersion())
    }

    /// Group commit: all writes in ONE transaction, each inside its own savepoint so that a
    /// refused write leaves the others intact. Every write that changes something bumps the
    /// revision by one and appends its changes to the change log, by its actor; a write that
    /// changes nothing answers the current revision.
    ///
    /// Results are in request order. Throws only when the transaction itself fails; then
    /// nothing was written.
    public func commit(_ writes: [AttributedWrite]) throws(StoreError) -> CommittedWrites {
        if writes.isEmpty { return CommittedWrites(outcomes: [], revisionBefore: try currentRevision(), changes: []) }
        return try writeTransaction { () throws -> CommittedWrites in
            var revision = try readRevision()
            var committed = CommittedWrites(outcomes: [], revisionBefore: revision, changes: [])
            committed.outcomes.reserveCapacity(writes.count)
            for write in writes {
                pendingChanges = []
                try connection.run("SAVEPOINT write")
                do {
                    let applied = try apply(write.write)
                    if !pendingChanges.isEmpty {
                        revision += 1
                        try appendToLog(pendingChanges, revision: revision, by: write.actor)
                    }
                    try connection.run("RELEASE write")
                    for change in pendingChanges {
                        committed.changes.append(ChangeRecord(revision: revision, change: change))
                    }
                    committed.outcomes.append(.success(applied.outcome(revision: revision)))
                } catch let refusal as WriteRefusal {
                    try connection.run("ROLLBACK TO write")
                    try connection.run("RELEASE write")
                    committed.outcomes.append(.failure(refusal))
                }
            }
            pendingChanges = []
            if revision != committed.revisionBefore { try writeRevision(revision) }
            return committed
        }
    }

    // MARK: - Transactions and the revision

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`; rolls back when it throws.
    /// With `rollingBack`, the transaction is rolled back at the end (a dry run).
    func writeTransaction<T>(rollingBack: Bool = false, _ body: () throws -> T) throws(StoreError) -> T {
        // Every write passes here: a read-only store refuses them all, even one that would change nothing.
        if connection.isReadOnly { throw connection.error(SQLITE_READONLY, doing: "write") }
        return try transaction("BEGIN IMMEDIATE", end: rollingBack ? "ROLLBACK" : "COMMIT", body)
    }

    /// Runs `body` inside one read transaction (one consistent snapshot).
    func readTransaction<T>(_ body: () throws -> T) throws(StoreError) -> T {
        try transaction("BEGIN", end: "COMMIT", body)
    }

    /// Inside a transaction already (a read during a write), `body` joins it.
    private func transaction<T>(_ begin: String, end: String, _ body: () throws -> T) throws(StoreError) -> T {
        let nested = connection.inTransaction
        if !nested { try connection.run(begin) }
        do {
            let value = try body()
            if !nested { try connection.run(end) }
            return value
        } catch where nested {
            if let storeError = error as? StoreError { throw storeError }
            throw StoreError(.sqlite(code: SQLITE_ERROR), path: connection.path, message: "\(error)")
        } catch {
            pendingChanges = []
            try? connection.run("ROLLBACK")
            if let storeError = error as? StoreError { throw storeError }
            throw StoreError(.sqlite(code: SQLITE_ERROR), path: connection.path, message: "\(error)")
        }
    }

    func readRevision() throws(StoreError) -> UInt64 {
        UInt64(try connection.integer("SELECT value FROM meta WHERE key = 'revision'") ?? 0)
    }

    func writeRevision(_ revision: UInt64) throws(StoreError) {
        try connection.run("UPDATE meta SET value = ? WHERE key = 'revision'", .integer(Int64(revision)))
    }

    /// Commits `pendingChanges` as one revision after `revision`, made by `actor` (no bump when empty).
    func commitPendingChanges(at revision: UInt64, by actor: ChangeActor) throws(StoreError) -> UInt64 {
        guard !pendingChanges.isEmpty else { return revision }
        let next = revision + 1
        try appendToLog(pendingChanges, revision: next, by: actor)
        try writeRevision(next)
        pendingChanges = []
        return next
    }

    func appendToLog(_ changes: [StateChange], revision: UInt64, by actor: ChangeActor) throws(StoreError) {
        try beginLogging(revision, by: actor)
        for change in changes {
            let row = ChangeLogRow.encode(change)
            try connection.run(
                "INSERT INTO changes (revision, kind, user, org, key) VALUES (?, ?, ?, ?, ?)",
                .integer(Int64(revision)), .text(row.kind), .optional(row.user), .optional(row.org),
                .optional(row.key))
        }
    }

    /// Records where the changes of `revision` begin in the log, when (now) and by whom;
    /// called before they are appended.
    func beginLogging(_ revision: UInt64, by actor: ChangeActor) throws(StoreError) {
        let (name, detail) = actor.stored
        try connection.run(
            """
            INSERT INTO revisions (revision, first_seq, logged_at, actor, actor_detail)
            VALUES (?, coalesce((SELECT max(seq) FROM changes), 0) + 1, ?, ?, ?)
            """,
            .integer(Int64(revision)), .integer(currentMilliseconds()), .text(name), .optional(detail))
    }

    // MARK: - Schema

    func refuseNewer(_ version: Int) throws(StoreError) {
        if version > Schema.version {
            throw StoreError(
                .newerSchema(found: version, supported: Schema.version), path: connection.path,
                message: "the database has schema version \(version), newer than this permd supports "
                    + "(\(Schema.version)); use a newer permd")
        }
    }

    private func migrate() throws(StoreError) {
        _ = try writeTransaction { () throws -> Void in
            let version = Int(try connection.integer("PRAGMA user_version") ?? 0)
            try refuseNewer(version)
            guard version < Schema.version else { return }
            for step in version..<Schema.version {
                try Schema.migrations[step].apply(connection)
            }
            try connection.execute("PRAGMA user_version = \(Schema.version)")
            // Creating a fresh database is routine; upgrading an existing one is worth a notice.
            logger.log(level: version == 0 ? .debug : .notice, "migrated the database", metadata: [
                "path": "\(connection.path)", "from": "\(version)", "to": "\(Schema.version)"])
        }
    }

    /// Creates the declared organizations (and the default one) or updates their name and
    /// external id to follow the files; records the changes in `pendingChanges`.
    private func syncDeclaredOrganizations() throws {
        var rules = WriteRules(SQLiteTransaction(connection: connection), policy: policy)
        try rules.syncDeclaredOrganizations(location: connection.path)
        pendingChanges += rules.changes
    }
}

/// What `apply` did, before the revision that contains it is known.
enum AppliedWrite {
    case done
    case userAdded(String)
    case signedIn(SignInResult)

    func outcome(revision: UInt64) -> WriteOutcome {
        switch self {
        case .done: .committed(revision: revision)
        case .userAdded(let id): .userAdded(id: id, revision: revision)
        case .signedIn(let result): .signedIn(result, revision: revision)
        }
    }
}
