import Foundation
public import Logging
public import PermdCore
public import PermdPolicy

/// The `StateStore` of a PostgreSQL database (SPEC §8): the state in schema `permd`, shared by
/// every permd that opens it, each on its own connection.
///
/// Every write is one READ COMMITTED transaction through `WriteRules` over a
/// `PostgresTransaction`; it ends by bumping the single-row revision counter
/// (`UPDATE permd.revision … RETURNING`), writing its change-log rows with those revisions and
/// `pg_notify('permd_changes', revision)`, then commits. The counter's row lock, held from that
/// update to the commit, serialises the commits that change something: revisions are
/// gap-free and in commit order, and the notification is delivered only after the commit.
/// A serialization failure or deadlock reruns the whole transaction (a few times, with
/// jittered backoff; then `.busy`, answered `ERR UNAVAILABLE`), never success or `INTERNAL`.
///
/// Not thread-safe: one owner thread at a time, like `SQLiteStore`.
public final class PostgresStore: StateStore {
    /// The policies that name the roles, permissions, defaults and declared organizations.
    public private(set) var policy: PolicySet
    /// The database, for messages (no password).
    public let location: PostgresLocation
    let logger: Logger
    let isReadOnly: Bool
    private var openConnection: PostgresConnection?
    /// What the store's connection runs before its first statement (the write timeout).
    private var sessionSetup: String?

    /// How many times a transaction runs when PostgreSQL reports a serialization failure or a deadlock.
    static let attempts = 5
    /// How many times one write of a group commit runs again after a unique or foreign key
    /// refused a statement (another transaction committed the row first).
    static let writeReruns = 3

    /// Connects, creates or migrates the schema (`PostgresSchema.migrate`, safe when several
    /// processes start at once), then creates the organizations the policies declare or makes
    /// them follow the files, as one revision when anything changed (every replica may do it:
    /// unchanged files change nothing).
    /// - Parameters:
    ///   - location: the database.
    ///   - policy: the validated policies.
    ///   - logger: where the store reports migrations and retries.
    ///   - writeTimeout: how long a statement waits for another transaction's row lock
    ///     (`lock_timeout`); then the write fails with `.busy` and nothing is stored.
    public convenience init(location: PostgresLocation, policy: PolicySet, logger: Logger,
                            writeTimeout: Duration = StoreLocation.defaultWriteTimeout) throws(StoreError) {
        try self.init(location, policy: policy, logger: logger, readOnly: false)
        let connection = try connection()
        do {
            sessionSetup = "SET lock_timeout = \(max(1, writeTimeout.milliseconds))"
            try connection.execute(sessionSetup!)
            let found = try PostgresSchema.migrate(connection)
            if found < PostgresSchema.version {
                logger.log(level: found == 0 ? .debug : .notice, "migrated the database", metadata: [
                    "db": "\(location)", "from": "\(found)", "to": "\(PostgresSchema.version)"])
            }
        } catch {
            throw storeError(error)
        }
        _ = try syncDeclaredOrganizations(thenLogging: [], by: .policy)
    }

    /// Opens an existing database read-only (SPEC §3): nothing is created, migrated or synced;
    /// every read runs in a `READ ONLY` transaction and every write is refused (`.readOnly`).
    /// - Parameters:
    ///   - location: the database; one without permd's schema is `.notFound`.
    ///   - policy: the validated policies (used by a dry-run import).
    ///   - logger: where the store reports.
    public convenience init(readingOnly location: PostgresLocation, policy: PolicySet, logger: Logger) throws(StoreError) {
        try self.init(location, policy: policy, logger: logger, readOnly: true)
        try requireCurrentSchema(try connection())
    }

    /// Connects; the public initialisers then prepare the schema or check it.
    private init(_ location: PostgresLocation, policy: PolicySet, logger: Logger, readOnly: Bool) throws(StoreError) {
        self.location = location
        self.policy = policy
        self.logger = logger
        isReadOnly = readOnly
        do {
            openConnection = try PostgresConnection(location)
        } catch {
            throw StoreError(.postgres(error.kind), path: location.description, message: error.message)
        }
    }

    /// Refuses a database without permd's schema (`.notFound`) or with another version than this build's.
    private func requireCurrentSchema(_ connection: PostgresConnection) throws(StoreError) {
        do {
            guard try connection.integer("SELECT 1 WHERE to_regclass('permd.schema_migrations') IS NOT NULL") != nil else {
                throw StoreError(.notFound, path: location.description, message: "database not found")
            }
            let found = Int(try connection.integer("SELECT coalesce(max(version), 0) FROM permd.schema_migrations") ?? 0)
            if found > PostgresSchema.version {
                throw StoreError(.newerSchema(found: found, supported: PostgresSchema.version), path: location.description,
                                 message: "the database has schema version \(found), newer than this permd supports "
                                     + "(\(PostgresSchema.version)); use a newer permd")
            }
            if found < PostgresSchema.version {
                throw StoreError(.olderSchema(found: found, supported: PostgresSchema.version), path: location.description,
                                 message: "the database has schema version \(found), older than this permd's "
                                     + "(\(PostgresSchema.version)); this command only reads it, and a command that writes "
                                     + "(or `permd serve`) migrates it")
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw storeError(error)
        }
    }

    /// The connection, or `.postgres(.connection)` once closed.
    func connection() throws(StoreError) -> PostgresConnection {
        guard let openConnection else {
            throw StoreError(.postgres(.connection), path: location.description, message: "the store was closed")
        }
        return openConnection
    }

    public func close() {
        openConnection = nil
    }

    /// Makes `connection` the store's in place of one that was lost, set up like the first;
    /// if the set-up fails, the lost one stays (and its next use reports the outage).
    func adopt(_ connection: PostgresConnection) {
        do {
            if let sessionSetup { try connection.execute(sessionSetup) }
            openConnection = connection
        } catch {}
    }

    public func currentRevision() throws(StoreError) -> UInt64 {
        // One statement has one snapshot by itself: no BEGIN and COMMIT round trips (a
        // replica asks this after every notification).
        let connection = try connection()
        do {
            return try Self.revision(connection)
        } catch {
            throw storeError(error)
        }
    }

    /// The revision: every commit that changes something bumps it, whichever handle made it.
    public func commitMarker() throws(StoreError) -> CommitMarker {
        CommitMarker(Int64(try currentRevision()))
    }

    static func revision(_ connection: PostgresConnection) throws(PostgresError) -> UInt64 {
        UInt64(try connection.integer("SELECT value FROM permd.revision") ?? 0)
    }

    // MARK: - Writes

    public func commit(_ writes: [AttributedWrite]) throws(StoreError) -> CommittedWrites {
        if writes.isEmpty { return CommittedWrites(outcomes: [], revisionBefore: try currentRevision(), changes: []) }
        /// Each write's outcome, with how many revisions the batch had handed out when it ended.
        var outcomes: [Result<(AppliedWrite, Int), WriteRefusal>] = []
        var logged: [LoggedRevision] = []
        let base = try writeTransaction { transaction, groups in
            outcomes = []
            outcomes.reserveCapacity(writes.count)
            var savepoint = false
            for write in writes {
                outcomes.append(try self.apply(write.write, by: write.actor, in: transaction, groups: &groups,
                                               savepoint: &savepoint)
                    .map { ($0, groups.count) })
            }
            // Released before the revisions are handed out: the counter and the log are then
            // written by the transaction itself (their xmin is its id; see `CommitTicket`).
            if savepoint { try transaction.connection.execute("RELEASE write") }
            logged = groups
        }.base
        // The revisions are handed out in the groups' order, one each, from `base + 1`.
        var changes: [ChangeRecord] = []
        for (offset, group) in logged.enumerated() {
            let revision = base + UInt64(offset + 1)
            changes += group.changes.map { ChangeRecord(revision: revision, change: $0) }
        }
        return CommittedWrites(
            outcomes: outcomes.map { outcome in
                outcome.map { applied, handedOut in applied.outcome(revision: base + UInt64(handedOut)) }
            },
            revisionBefore: base, changes: changes)
    }

    /// One write of a group commit, in its own savepoint: a refusal rolls back only this write.
    /// A unique or foreign key that refused a statement means another transaction committed
    /// first: the write runs again, and its checks now see that commit.
    ///
    /// The savepoint is left open (`savepoint` true) and released together with the next
    /// one's creation, in one round trip — each round trip to the server is what a durable
    /// write costs most (docs/benchmarks.md, durable writes).
    private func apply(_ write: Write, by actor: ChangeActor, in transaction: PostgresTransaction,
                       groups: inout [LoggedRevision], savepoint: inout Bool) throws -> Result<AppliedWrite, WriteRefusal> {
        var reruns = 0
        while true {
            try transaction.connection.execute(savepoint ? "RELEASE write; SAVEPOINT write" : "SAVEPOINT write")
            savepoint = true
            var rules = WriteRules(transaction, policy: policy)
            do {
                let applied = try rules.apply(write)
                if !rules.changes.isEmpty { groups.append(LoggedRevision(rules.changes, by: actor)) }
                return .success(applied)
            } catch let refusal as WriteRefusal {
                try transaction.connection.execute("ROLLBACK TO write")
                return .failure(refusal)
            } catch let error as PostgresError where error.isKeyViolation && reruns < Self.writeReruns {
                try transaction.connection.execute("ROLLBACK TO write")
                reruns += 1
            }
        }
    }

    public func reload(policy: PolicySet, actor: ChangeActor) throws(StoreError) -> UInt64 {
        let previous = self.policy
        self.policy = policy
        do {
            // Nothing logged: the other replicas serve their own policy files.
            return try syncDeclaredOrganizations(thenLogging: [], by: actor)
        } catch {
            self.policy = previous
            throw error
        }
    }

    /// Syncs the declared organizations and logs their changes with `more`, in one revision
    /// by `actor` when anything changed. The revision row is locked first: processes opening
    /// at once sync one after the other, and the second finds nothing to do.
    private func syncDeclaredOrganizations(thenLogging more: [StateChange], by actor: ChangeActor)
        throws(StoreError) -> UInt64
    {
        try writeTransaction { transaction, groups in
            try transaction.run("SELECT value FROM permd.revision FOR UPDATE")
            var rules = WriteRules(transaction, policy: self.policy)
            try rules.syncDeclaredOrganizations(location: self.location.description)
            let changes = rules.changes + more
            if !changes.isEmpty { groups.append(LoggedRevision(changes, by: actor)) }
        }.last
    }

    /// Runs `body` in a READ COMMITTED write transaction; `body` appends one group of changes
    /// per revision it needs. Then the revisions are handed out, the changes logged, the
    /// replicas notified, and the transaction committed; rerun from the start on a
    /// serialization failure or deadlock (and, with `retryingKeyViolations`, when a unique or
    /// foreign key refused a statement).
    /// - Returns: `body`'s value, the revision before the first handed out and the last one
    ///   (equal when nothing changed: then the current revision).
    @discardableResult
    func writeTransaction<T>(retryingKeyViolations: Bool = false, rollingBack: Bool = false,
                             _ body: (PostgresTransaction, inout [LoggedRevision]) throws -> T)
        throws(StoreError) -> (value: T, base: UInt64, last: UInt64)
    {
        if isReadOnly && !rollingBack {
            throw StoreError(.readOnly, path: location.description, message: "the database is open read-only")
        }
        let connection = try connection()
        var attempt = 0
        while true {
            attempt += 1
            do {
                try connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
                let transaction = PostgresTransaction(connection: connection)
                var groups: [LoggedRevision] = []
                let value = try body(transaction, &groups)
                if rollingBack {
                    let current = try Self.revision(connection)
                    try connection.execute("ROLLBACK")
                    return (value, current, current)
                }
                let (base, last, ticket) = try handOutRevisions(groups, in: transaction)
                try commit(connection, settling: ticket)
                return (value, base, last)
            } catch let error as PostgresError
                where attempt < Self.attempts && (error.isRetryable || retryingKeyViolations && error.isKeyViolation) {
                rollBack(connection)
                logger.debug("the transaction raced another; running it again",
                             metadata: ["attempt": "\(attempt)", "sqlstate": "\(error.sqlState ?? "")"])
                // Jittered backoff, so that the transactions that raced do not meet again.
                Thread.sleep(forTimeInterval: Double.random(in: 0.001...0.005) * Double(1 << attempt))
            } catch {
                rollBack(connection)
                throw storeError(error)
            }
        }
    }

    /// Commits; when the connection is lost during the COMMIT, the transaction may have
    /// committed: the database is asked (`settleLostCommit`) before anything is answered.
    private func commit(_ connection: PostgresConnection, settling ticket: CommitTicket?) throws {
        do {
            try connection.execute("COMMIT")
        } catch {
            guard error.kind == .connection else { throw error }
            try settleLostCommit(ticket, lost: error)
        }
    }

    /// Bumps the counter by one per group, logs each group with its revision (and who made
    /// it), and notifies.
    /// - Returns: the revisions, and what tells afterwards whether the commit happened
    ///   (read in the same statement: no extra round trip).
    private func handOutRevisions(_ groups: [LoggedRevision], in transaction: PostgresTransaction)
        throws(PostgresError) -> (base: UInt64, last: UInt64, ticket: CommitTicket?)
    {
        guard !groups.isEmpty else {
            // An import's merge bumps the counter itself; the row's xmin says whether it did.
            let result = try transaction.run("SELECT value, \(CommitTicket.columns) FROM permd.revision")
            let current = UInt64(result[0].integer(0) ?? 0)
            return (current, current, CommitTicket(result[0], revision: current, backend: transaction.connection))
        }
        // The notification rides on the same statement (one round trip less; it is delivered
        // at the commit all the same).
        let result = try transaction.run("""
            UPDATE permd.revision SET value = value + $1
            RETURNING value, \(CommitTicket.columns), pg_notify($2, value::text)
            """, .integer(Int64(groups.count)), .text(PostgresSchema.changesChannel))
        let last = UInt64(result[0].integer(0) ?? 0)
        let ticket = CommitTicket(result[0], revision: last, backend: transaction.connection)
        let base = last - UInt64(groups.count)
        var rows: [(UInt64, StateChange)] = []
        for (offset, group) in groups.enumerated() {
            for change in group.changes { rows.append((base + UInt64(offset) + 1, change)) }
        }
        try appendToLog(rows, in: transaction)
        try Self.logRevisions(groups.map(\.actor), after: base, in: transaction.connection)
        return (base, last, ticket)
    }

    /// Inserts change-log rows, up to `logRowsPerStatement` per statement.
    private func appendToLog(_ rows: [(UInt64, StateChange)], in transaction: PostgresTransaction) throws(PostgresError) {
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + Self.logRowsPerStatement, rows.count)]
            var values: [String] = []
            var parameters: [PostgresValue] = []
            for (revision, change) in chunk {
                let row = ChangeLogRow.encode(change)
                let first = parameters.count
                values.append("($\(first + 1)::bigint, $\(first + 2), $\(first + 3), $\(first + 4), $\(first + 5))")
                parameters += [.integer(Int64(revision)), .text(row.kind), .optional(row.user), .optional(row.org),
                               .optional(row.key)]
            }
            try transaction.connection.query(
                "INSERT INTO permd.changes (revision, kind, user_id, org, key) VALUES " + values.joined(separator: ", "),
                parameters: parameters)
            start += chunk.count
        }
    }

    /// Five parameters a row, within PostgreSQL's 65,535 parameters a statement.
    static let logRowsPerStatement = 1000

    private func rollBack(_ connection: PostgresConnection) {
        if connection.isConnected && connection.inTransaction { try? connection.execute("ROLLBACK") }
    }

    /// Runs `body` in one `REPEATABLE READ READ ONLY` transaction (one consistent snapshot);
    /// inside a transaction already, `body` joins it.
    func reading<T>(_ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        let connection = try connection()
        if connection.inTransaction {
            do { return try body(connection) } catch { throw storeError(error) }
        }
        do {
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            let value = try body(connection)
            try connection.execute("COMMIT")
            return value
        } catch {
            rollBack(connection)
            throw storeError(error)
        }
    }

    /// `error` as a `StoreError` naming this database (never its password).
    func storeError(_ error: any Error) -> StoreError {
        switch error {
        case let error as StoreError:
            return error
        case let refused as ImportRefused:
            let count = refused.refusals.count
            return StoreError(.importRefused(refused.refusals), path: location.description,
                              message: "\(count) \(refused.noun)\(count == 1 ? "" : "s") refused; nothing was imported")
        case let error as PostgresError:
            switch error.kind {
            case .newerSchema(let found, let supported):
                return StoreError(.newerSchema(found: found, supported: supported), path: location.description,
                                  message: error.message)
            case _ where error.sqlState == "25006":
                return StoreError(.readOnly, path: location.description, message: error.message)
            case _ where error.sqlState == "55P03":
                return StoreError(.busy, path: location.description, message:
                    "another writer held a row this write needs past the write timeout; nothing was stored")
            case .serializationFailure, .deadlock:
                return StoreError(.busy, path: location.description, message:
                    "the write raced others \(Self.attempts) times and was not stored; try again (\(error.message))")
            default:
                return StoreError(.postgres(error.kind), path: location.description, message: error.message)
            }
        default:
            return StoreError(.postgres(.server), path: location.description, message: "\(error)")
        }
    }
}

extension PostgresError {
    /// A unique key (23505) or foreign key (23503) refused a statement: another transaction
    /// committed the row first, or removed the one referred to.
    var isKeyViolation: Bool { kind == .uniqueViolation || sqlState == "23503" }
}
