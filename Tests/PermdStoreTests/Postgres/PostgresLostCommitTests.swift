import Dispatch
import Foundation
import Logging
import PermdCore
import PermdStore
import PermdTestSupport
import Synchronization
import Testing

/// The connection is lost while PostgreSQL runs a write's COMMIT (SPEC §8): the store asks the
/// database what became of the transaction instead of answering "nothing stored".
@Suite(.needsPostgres) struct PostgresLostCommitTests {
    /// A store used by one background thread at a time.
    final class Handle: @unchecked Sendable {
        let store: PostgresStore
        init(_ store: PostgresStore) { self.store = store }
    }

    /// One write performed on a thread of its own.
    final class BackgroundWrite: Sendable {
        private let outcome = Mutex<Result<[Result<WriteOutcome, WriteRefusal>], StoreError>?>(nil)
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: Handle, _ write: Write) {
            Thread { [self] in
                let result = Result { () throws(StoreError) in try handle.store.perform([write]) }
                outcome.withLock { $0 = result }
                done.signal()
            }.start()
        }

        /// The result, if the write has finished.
        var result: Result<[Result<WriteOutcome, WriteRefusal>], StoreError>? { outcome.withLock { $0 } }

        /// The result, waiting up to 30 s for it (nil if it did not come).
        func finished() -> Result<[Result<WriteOutcome, WriteRefusal>], StoreError>? {
            _ = done.wait(timeout: .now() + 30)
            return result
        }
    }

    /// On a private cluster told to wait for a synchronous standby that never connects, a
    /// COMMIT writes its commit record and then waits; terminating the backend in that wait
    /// leaves the transaction committed (PostgreSQL warns "the transaction has already
    /// committed locally") and the client without an answer. The write must be answered as
    /// committed, with the revision it took — before the fix it was `.postgres(.connection)`,
    /// answered `ERR UNAVAILABLE` (nothing stored) for a user that is stored.
    @Test func aCommitWhoseAnswerWasLostIsAnsweredAsCommitted() throws {
        let cluster = try PostgresCluster.startPrivate()
        let database = try cluster.makeDatabase()
        let location = try PostgresLocation(uri: database.uri)
        let handle = Handle(try PostgresStore(location: location, policy: testPolicy(), logger: Logger(label: "lost-commit")))
        let admin = try PostgresConnection(location)
        try admin.execute("ALTER SYSTEM SET synchronous_standby_names = 'permd_absent_standby'")
        try admin.execute("SELECT pg_reload_conf()")

        // The reload reaches the server's processes asynchronously: a write that committed
        // without waiting is answered normally, and the next one tries again.
        var terminated: (id: String, result: Result<[Result<WriteOutcome, WriteRefusal>], StoreError>)?
        for attempt in 1...20 where terminated == nil {
            let id = "lost\(attempt)"
            let write = BackgroundWrite(handle, .addUser(NewUser(id: id, organizations: ["org_default"])))
            var waiting: Int64?
            let settled = try eventually { () throws(PostgresError) -> Bool in
                waiting = try admin.integer("SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' LIMIT 1")
                return waiting != nil || write.result != nil
            }
            #expect(settled)
            if let waiting {
                try admin.query("SELECT pg_terminate_backend($1::int)", .integer(waiting))
                terminated = (id, try #require(write.finished()))
            } else {
                _ = write.finished()
            }
        }
        let (id, result) = try #require(terminated)
        try admin.execute("ALTER SYSTEM RESET synchronous_standby_names")
        try admin.execute("SELECT pg_reload_conf()")

        let outcomes = try result.get()
        let revision = try #require(try outcomes.first?.get()).revision
        #expect(try admin.integer("SELECT count(*) FROM permd.users WHERE id = $1", .text(id)) == 1)
        #expect(try admin.integer("SELECT max(revision) FROM permd.changes WHERE user_id = $1", .text(id)) == Int64(revision))
        #expect(try admin.integer("SELECT value FROM permd.revision") == Int64(revision))
        // The store goes on, on the connection it made to ask.
        let next = try handle.store.perform([.addUser(NewUser(id: "after", organizations: ["org_default"]))])
        #expect(try next[0].get().revision == revision + 1)
    }

    /// The backend is terminated before COMMIT, while the write waits for a row another
    /// session holds: the transaction is rolled back, and the write is answered as not stored.
    @Test func aTransactionEndedBeforeItsCommitIsAnsweredAsNotStored() throws {
        let cluster = try PostgresCluster.shared()
        let database = try cluster.makeDatabase()
        let location = try PostgresLocation(uri: database.uri)
        let handle = Handle(try PostgresStore(location: location, policy: testPolicy(), logger: Logger(label: "lost-commit")))
        let admin = try PostgresConnection(location)
        try admin.execute("SET application_name = 'permd_test_blocker'")
        try admin.execute("BEGIN")
        try admin.execute("SELECT value FROM permd.revision FOR UPDATE")
        let write = BackgroundWrite(handle, .addUser(NewUser(id: "never", organizations: ["org_default"])))
        let observer = try PostgresConnection(location)
        var waiting: Int64?
        #expect(try eventually { () throws(PostgresError) -> Bool in
            waiting = try observer.integer("""
                SELECT pid FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' LIMIT 1
                """)
            return waiting != nil
        })
        try observer.query("SELECT pg_terminate_backend($1::int)", .integer(try #require(waiting)))
        let result = try #require(write.finished())
        try admin.execute("ROLLBACK")
        #expect(throws: StoreError.self) { try result.get() }
        if case .failure(let error) = result { #expect(error.isUnreachable, "\(error)") }
        #expect(try observer.integer("SELECT count(*) FROM permd.users WHERE id = 'never'") == 0)
    }
}
