import Foundation

/// Which kind of database a store keeps its state in, as `STATS` names it (`store=`).
public enum StoreBackend: String, Sendable, Hashable {
    /// An SQLite file, owned by one server (other processes on the machine may write it too).
    case sqlite
    /// A PostgreSQL database shared by a fleet of replicas (SPEC §8).
    case postgres
}

/// What a `CommitWatcher` heard while it waited.
public enum CommitNotice: Sendable, Hashable {
    /// Nothing: the wait ran out. A follower reads the store anyway now and then, since a
    /// notification may be lost.
    case quiet
    /// Something may have been committed (a poll, or the watcher has just connected and may
    /// have missed notifications): compare the store's revision.
    case possibleCommit
    /// Another handle committed up to `revision`.
    case committed(revision: UInt64)
}

/// Wakes a server that follows its store when another handle may have committed: another
/// process writing the SQLite file, another replica or the CLI on PostgreSQL. The store
/// provides it (`StateStore.commitWatcher()`); one thread waits on it, apart from the thread
/// that uses the store, so that it never holds a write back.
public protocol CommitWatcher: AnyObject {
    /// Waits until a commit by another handle may have happened or `timeout` passed.
    /// - Throws: `StoreError` when the database is out of reach (`isUnreachable`); the next
    ///   call tries to reach it again.
    func waitForCommit(upTo timeout: Duration) throws(StoreError) -> CommitNotice
}

/// The watcher of a store that cannot notify: it waits the poll interval and says that
/// something may have been committed (SQLite: the caller then compares `PRAGMA data_version`).
public final class PollingCommitWatcher: CommitWatcher {
    /// How often the store is read for changes made by other processes.
    public let interval: Duration

    /// - Parameter interval: how often the store is read for outside changes.
    public init(interval: Duration = .milliseconds(200)) {
        self.interval = interval
    }

    public func waitForCommit(upTo timeout: Duration) throws(StoreError) -> CommitNotice {
        let wait = min(timeout, interval)
        Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
        return wait == interval ? .possibleCommit : .quiet
    }
}

extension SQLiteStore {
    public var backend: StoreBackend { .sqlite }

    /// SQLite cannot notify: the watcher polls (`commitMarker()` then tells what changed).
    public func commitWatcher() -> any CommitWatcher { PollingCommitWatcher() }
}

extension StoreError {
    /// Whether the database is out of reach (PostgreSQL down or unreachable): an outage to
    /// wait out, not a failed write. Never for SQLite (a file is always there).
    public var isUnreachable: Bool {
        kind == .postgres(.connection)
    }
}

extension StoreLocation {
    /// ` on host HOST (port PORT)` for a database on a server, for messages; empty for a file.
    public var hostDescription: String {
        switch self {
        case .sqliteFile, .invalidPostgres: ""
        case .postgres(let location):
            " on host \(location.host ?? "localhost (the default socket)")" + (location.port.map { " port \($0)" } ?? "")
        }
    }
}
