/// Wakes a replica when a commit is notified on `permd_changes` (SPEC §8), on a connection of
/// its own that only listens, so that waiting never holds the store's connection.
///
/// The connection is made on the first wait and made again after it was lost; each time it
/// answers `.possibleCommit`, since notifications sent while it was away are gone.
final class PostgresCommitWatcher: CommitWatcher {
    private let location: PostgresLocation
    private var connection: PostgresConnection?

    /// - Parameter location: the database the store is on.
    init(location: PostgresLocation) {
        self.location = location
    }

    func waitForCommit(upTo timeout: Duration) throws(StoreError) -> CommitNotice {
        guard connection != nil else {
            try connect()
            return .possibleCommit
        }
        return try notifiedRevisions(waitingUpTo: timeout).max().map { .committed(revision: $0) } ?? .quiet
    }

    /// The revisions notified since the last call, waiting up to `timeout` for the first;
    /// empty before `waitForCommit` connected.
    func notifiedRevisions(waitingUpTo timeout: Duration) throws(StoreError) -> [UInt64] {
        guard let connection else { return [] }
        do {
            return try connection.notifications(waitingUpTo: timeout)
                .filter { $0.channel == PostgresSchema.changesChannel }.compactMap { UInt64($0.payload) }
        } catch {
            self.connection = nil
            throw StoreError(.postgres(error.kind), path: location.description, message: error.message)
        }
    }

    private func connect() throws(StoreError) {
        do {
            let connection = try PostgresConnection(location)
            try connection.listen(PostgresSchema.changesChannel)
            self.connection = connection
        } catch {
            throw StoreError(.postgres(error.kind), path: location.description, message: error.message)
        }
    }
}

extension PostgresStore {
    public var backend: StoreBackend { .postgres }

    /// Notifications on a connection of the watcher's own (`PostgresCommitWatcher`).
    public func commitWatcher() -> any CommitWatcher { PostgresCommitWatcher(location: location) }
}
