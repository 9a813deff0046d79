public import Foundation
public import Logging
public import PermdCore
public import PermdPolicy

/// The database state behind permd, as every backend (the SQLite file today, PostgreSQL
/// next) keeps it: the one write path that enforces SPEC §1, the revision, the change log,
/// and the reads that the server, the CLI and import/export need.
///
/// `Tests/PermdStoreTests/Contract` holds the rules every conformer must pass; read them
/// with this list.
///
/// - Opening (see `StoreLocation.open`) creates or migrates the schema, then creates the
///   organizations the policies declare (and the default one) or makes their name and
///   external id follow the files, as one revision when anything changed (by `.policy`).
/// - Opening read-only (`StoreAccess.readOnly`, SPEC §3) does none of that: a missing store
///   is `.notFound`, a schema other than the current one is refused, the state and revision
///   are read as stored, and every write (`perform`, `reload`, an import that is not a dry
///   run) throws `.readOnly` and changes nothing. A dry-run import still answers its summary.
/// - Every committed change bumps the revision by exactly one, gap-free, and is logged
///   with that revision in the same transaction, with who made it and when (the store's
///   clock, milliseconds; SPEC §9's audit log); a write that changes nothing answers the
///   current revision and logs nothing.
/// - `auditLog(_:)` reads the log back with who and when; `trimLog(loggedBefore:)` removes
///   the revisions logged before a time and raises the log floor past them (`--log-retention`).
/// - From `StateReader`: `readState(into:)` feeds the whole state from one consistent
///   read and returns its revision; `changes(after:)` lists the log after a revision,
///   oldest first, or nil when it no longer reaches back (the reader then rebuilds);
///   `stateCounts()` may size the build's tables.
///
/// A store is a handle on a connection, used by one thread at a time; several handles
/// (in one process or in several) may share the same state.
public protocol StateStore: AnyObject, StateReader {
    /// The policies that name the roles, permissions, defaults and declared organizations
    /// the writes are checked against.
    var policy: PolicySet { get }

    /// The revision of the last committed change.
    func currentRevision() throws(StoreError) -> UInt64

    /// Ends the handle at a clean stop, leaving the whole state where a copy finds it (SQLite:
    /// the write-ahead log checkpointed into the database file). Later calls fail; closing
    /// twice does nothing. A handle released without it is closed then.
    func close()

    /// A cheap reading that tells whether anyone else committed: a marker equal to an
    /// earlier one means nothing was committed in between by another handle; a different
    /// one means something may have been (also this handle's own commits may change it).
    func commitMarker() throws(StoreError) -> CommitMarker

    /// Which database this is (`STATS` shows it).
    var backend: StoreBackend { get }

    /// A watcher that wakes a follower when another handle may have committed (SQLite: a
    /// poll; PostgreSQL: its notifications, on a connection of its own). Callable from any
    /// thread; the watcher is then used by one thread, not the store's.
    func commitWatcher() -> any CommitWatcher

    /// Group commit: all writes in one transaction, each isolated so that a refused write
    /// leaves the others; results in request order, with the change-log rows the batch
    /// wrote. Every write that changes something is one revision with its change-log rows,
    /// logged as made by its own actor (a batch holds the writes of several connections).
    /// Throws only when the transaction itself fails; then nothing was written.
    func commit(_ writes: [AttributedWrite]) throws(StoreError) -> CommittedWrites

    /// Switches to a reloaded policy set: the declared organizations follow it; returns the
    /// revision after. SQLite (one server) logs `.policyReloaded` in a new revision. On
    /// PostgreSQL a reload is one replica's own (SPEC §8): only a change to the declared
    /// organizations takes a revision, and the caller rebuilds its index itself. What is
    /// logged is logged as made by `actor` (who asked for the reload).
    func reload(policy: PolicySet, actor: ChangeActor) throws(StoreError) -> UInt64

    /// Imports checked records (an `ImportPlan`'s users) in one transaction and one
    /// revision, through the rules of SPEC §4: never removes anything, idempotent. When any
    /// record is refused nothing is written (kind `.importRefused`, every refused line);
    /// a dry run answers the same summary and writes nothing. Logged as made by `actor`.
    func applyImport(_ users: [ImportedUser], dryRun: Bool, actor: ChangeActor) throws(StoreError) -> ImportSummary

    /// Imports organizations (an `OrganizationImportPlan`'s) in one transaction and one
    /// revision, each through the rules of `ORG.ADD`: adds it, or updates the name and external
    /// id given. When any is refused nothing is written (kind `.importRefused`, every refused
    /// line); importing the same organizations again changes nothing; a dry run writes nothing.
    /// Logged as made by `actor`.
    func applyOrganizationImport(_ organizations: [OrganizationImport], dryRun: Bool, actor: ChangeActor)
        throws(StoreError) -> OrganizationImportSummary

    /// The audit log (SPEC §9): hands `body` the changes after `query.after` that match its
    /// user and organization, each with its revision's time and actor, oldest first, from one
    /// consistent read; with a limit, the newest that many, still oldest first. Without a
    /// limit the entries are streamed (a large import's are never all in memory). Entries
    /// below the log floor are gone.
    func forEachAuditEntry(_ query: AuditQuery, _ body: (AuditEntry) -> Void) throws(StoreError)

    /// Removes from the log every revision up to the newest one logged before `cutoff`
    /// (`--log-retention`), with their changes, and raises the log floor to it, in one
    /// transaction: the log stays a suffix of the history, so an older entry without a time
    /// goes once a newer one with a time is old enough. The state and the revision do not
    /// change; a reader behind the new floor rebuilds (`changes(after:)` answers nil).
    func trimLog(loggedBefore cutoff: UnixMilliseconds) throws(StoreError) -> LogTrim

    /// Every organization, sorted by code.
    func organizations() throws(StoreError) -> [OrganizationRecord]

    /// Every user, sorted by id, with profile, identities and memberships (sorted by
    /// organization; roles and permissions sorted), from one consistent read — for export.
    /// Errors `body` throws reach the caller unchanged.
    func forEachUser(_ body: (UserRecord) throws -> Void) throws

    /// The user with `id` as `forEachUser` gives it, or nil.
    func user(_ id: String) throws(StoreError) -> UserRecord?

    /// When `user` was created, last changed and last signed in; nil for an unknown user.
    func activity(ofUser user: String) throws(StoreError) -> UserActivity?

    /// The ids of the users in organization `code` (every user when nil), sorted.
    func userIDs(inOrganization code: String?) throws(StoreError) -> [String]
}

/// What a group commit answered and what it logged: the writer brings its index up to date
/// from `changes` (when nobody else committed since its index) instead of reading its own
/// batch back from the log.
public struct CommittedWrites: Sendable {
    /// One result per write, in request order.
    public var outcomes: [Result<WriteOutcome, WriteRefusal>]
    /// The store's revision just before the batch: `changes` start at the next one.
    public var revisionBefore: UInt64
    /// The change-log rows the batch wrote, oldest first, as `changes(after:)` reads them.
    public var changes: [ChangeRecord]

    public init(outcomes: [Result<WriteOutcome, WriteRefusal>], revisionBefore: UInt64, changes: [ChangeRecord]) {
        self.outcomes = outcomes
        self.revisionBefore = revisionBefore
        self.changes = changes
    }
}

extension StateStore {
    /// Group commit (`commit(_:)`), its results alone.
    public func perform(_ writes: [AttributedWrite]) throws(StoreError) -> [Result<WriteOutcome, WriteRefusal>] {
        try commit(writes).outcomes
    }

    /// Group commit of writes that all come from `actor` (a CLI command, one connection).
    /// - Parameters:
    ///   - writes: the writes, in order.
    ///   - actor: who asks for them (a sign-in is still logged as its provider's).
    public func perform(_ writes: [Write], by actor: ChangeActor) throws(StoreError)
        -> [Result<WriteOutcome, WriteRefusal>]
    {
        try perform(writes.map { AttributedWrite($0, by: actor) })
    }

    /// The audit entries `forEachAuditEntry` hands out, oldest first.
    public func auditLog(_ query: AuditQuery) throws(StoreError) -> [AuditEntry] {
        var entries: [AuditEntry] = []
        try forEachAuditEntry(query) { entries.append($0) }
        return entries
    }

    /// Trims the revisions logged more than `retention` ago (`--log-retention`), by the store's clock.
    public func trimLog(keeping retention: Duration) throws(StoreError) -> LogTrim {
        try trimLog(loggedBefore: currentMilliseconds() - retention.milliseconds)
    }
}

/// What `StateStore.commitMarker()` reads; only compared with another marker of the same store.
public struct CommitMarker: Sendable, Hashable {
    /// The backend's reading (SQLite: `PRAGMA data_version`).
    public var value: Int64

    /// - Parameter value: the backend's reading.
    public init(_ value: Int64) {
        self.value = value
    }
}

/// When a user was created, last changed and last signed in.
public struct UserActivity: Sendable, Hashable {
    public var created: Date
    public var updated: Date
    public var lastSignedIn: Date?

    /// - Parameters: see each property.
    public init(created: Date, updated: Date, lastSignedIn: Date?) {
        self.created = created
        self.updated = updated
        self.lastSignedIn = lastSignedIn
    }
}

/// Whether a store is opened to be changed or only to be read.
public enum StoreAccess: Sendable, Hashable {
    /// Created when missing, migrated, the declared organizations synced; writes allowed.
    case readWrite
    /// Never created, migrated or synced; every write refused (SPEC §3's read-only commands).
    case readOnly
}

/// Where the state lives, as a `--db` value names it: the one place that picks a backend,
/// so that `serve`, the CLI and the tests open "the store for this value" alike.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// An SQLite database file.
    case sqliteFile(path: String)
    /// A PostgreSQL database (SPEC §8).
    case postgres(PostgresLocation)
    /// A `postgres://` value libpq does not read: opening it fails with `reason`.
    case invalidPostgres(description: String, reason: String)

    /// The location `db` names: a `postgres://` or `postgresql://` URI is a PostgreSQL
    /// database, anything else an SQLite file path.
    /// - Parameter db: the `--db` value (or `PERMD_DB`).
    public init(db: String) {
        guard PostgresLocation.isURI(db) else {
            self = .sqliteFile(path: db)
            return
        }
        do {
            self = .postgres(try PostgresLocation(uri: db))
        } catch {
            self = .invalidPostgres(description: error.location, reason: error.message)
        }
    }

    /// The location for messages: what a person typed, never a secret (a URI without its password).
    public var description: String {
        switch self {
        case .sqliteFile(let path): path
        case .postgres(let location): location.description
        case .invalidPostgres(let description, _): description
        }
    }

    /// How long a write waits for another process's lock by default (`--write-timeout`, SPEC §3).
    public static let defaultWriteTimeout: Duration = .seconds(30)

    /// Opens the store here: read-write, created when missing, migrated, declared
    /// organizations synced; or read-only, as it is (see `StoreAccess`).
    /// - Parameters:
    ///   - policy: the validated policies.
    ///   - logger: where the store reports migrations and slow locks.
    ///   - access: whether the store may be changed (default) or only read.
    ///   - writeTimeout: how long a write waits for another process's lock; then it fails with
    ///     `StoreError.Kind.busy` and nothing is stored.
    public func open(policy: PolicySet, logger: Logger, access: StoreAccess = .readWrite,
                     writeTimeout: Duration = defaultWriteTimeout) throws(StoreError) -> any StateStore
    {
        switch (self, access) {
        case (.sqliteFile(let path), .readWrite):
            try SQLiteStore(path: path, policy: policy, logger: logger, writeTimeout: writeTimeout)
        case (.sqliteFile(let path), .readOnly): try SQLiteStore(readingOnly: path, policy: policy, logger: logger)
        case (.postgres(let location), .readWrite): try PostgresStore(location: location, policy: policy, logger: logger, writeTimeout: writeTimeout)
        case (.postgres(let location), .readOnly):
            try PostgresStore(readingOnly: location, policy: policy, logger: logger)
        case (.invalidPostgres(let description, let reason), _):
            throw StoreError(.postgres(.invalidLocation), path: description, message: reason)
        }
    }

    /// Whether writing a file at `path` would overwrite this store: for an SQLite file, the
    /// database itself or the `-wal`, `-shm` and `-journal` files SQLite keeps beside it.
    /// Files that exist are compared by device and inode (so `./x.db`, `../d/x.db`, links
    /// and symbolic links all count); others by their absolute, resolved path.
    /// - Parameter path: the file about to be written.
    public func isOverwritten(byWriting path: String) -> Bool {
        switch self {
        case .sqliteFile(let database):
            let written = FileIdentity(path)
            // SQLite keeps its files beside the file a symbolic link names, not beside the link.
            let names = Set([database, URL(fileURLWithPath: database).resolvingSymlinksInPath().path])
            return names.contains { name in
                ["", "-wal", "-shm", "-journal"].contains { FileIdentity(name + $0) == written }
            }
        case .postgres, .invalidPostgres:
            // A database on a server is no file here.
            return false
        }
    }
}

/// What makes two paths the same file: its device and inode when it exists, else its
/// resolved absolute path (a file not there yet).
private enum FileIdentity: Equatable {
    case file(device: UInt64, inode: UInt64)
    case path(String)

    init(_ path: String) {
        var info = stat()
        if stat(path, &info) == 0 {
            self = .file(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        } else {
            self = .path(URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path)
        }
    }
}
