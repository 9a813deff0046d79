import Dispatch
import Foundation
@testable import PermdStore
import PermdTestSupport
import Synchronization
import Testing

extension Trait where Self == ConditionTrait {
    /// Runs the test on the shared throwaway cluster; skipped only when `PERMD_TEST_POSTGRES=0`.
    static var needsPostgres: Self {
        .enabled(if: PostgresCluster.isEnabled, Comment(rawValue: PostgresCluster.skipReason))
    }
}

/// A fresh database on the test cluster, and connections to it bounded in time (a test that
/// waits on a lock fails after 20 s instead of hanging).
final class PostgresFixture: Sendable {
    let database: PostgresTestDatabase
    let location: PostgresLocation

    init() throws {
        database = try PostgresCluster.shared().makeDatabase()
        location = try PostgresLocation(uri: database.uri)
    }

    var cluster: PostgresCluster { database.cluster }

    func connect() throws(PostgresError) -> PostgresConnection {
        let connection = try PostgresConnection(location)
        try connection.execute("SET lock_timeout = '20s'; SET statement_timeout = '60s'")
        return connection
    }
}

/// Work on a thread of its own (a second client), joined with a deadline.
final class Background<Value: Sendable>: Sendable {
    private let outcome = Mutex<Result<Value, PostgresError>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws(PostgresError) -> Value) {
        let thread = Thread { [self] in
            let result = Result { () throws(PostgresError) in try body() }
            self.outcome.withLock { $0 = result }
            self.done.signal()
        }
        thread.start()
    }

    /// The thread's value (or its error), waiting up to `seconds`.
    func value(waitingUpTo seconds: Double = 30) throws -> Value {
        guard done.wait(timeout: .now() + seconds) == .success else {
            throw PostgresError(.server, location: "test", message: "the background client did not finish in \(seconds) s")
        }
        return try outcome.withLock { $0! }.get()
    }
}

/// Polls `condition` every 10 ms for up to 10 s; whether it became true.
func eventually(_ condition: () throws(PostgresError) -> Bool) throws(PostgresError) -> Bool {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return false
}

/// How many sessions of this database wait for a lock (seen from `observer`).
func sessionsWaitingForALock(_ observer: PostgresConnection) throws(PostgresError) -> Int64 {
    try observer.integer("""
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'
        """) ?? 0
}

/// Runs `body` with a fresh database, which lives (and its connections with it) until
/// `body` returns, then is dropped.
func withFreshDatabase(_ body: (PostgresFixture) throws -> Void) throws {
    let fixture = try PostgresFixture()
    try withExtendedLifetime(fixture) { try body(fixture) }
}
