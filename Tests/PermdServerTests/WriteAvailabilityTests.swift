import CSQLite
import Foundation
import Testing

/// A write that finds the database locked by another process (SPEC §3): it waits up to the
/// write timeout, then answers `ERR UNAVAILABLE` with nothing stored, and the server goes on.
@Suite struct WriteAvailabilityTests {
    @Test func aWriteBehindAnotherProcesssLockAnswersUnavailableAndTheServerGoesOn() async throws {
        try await withTestServer(writeTimeout: .milliseconds(300)) { server in
            let admin = try server.admin()
            let lock = try SQLiteWriteLock(path: server.databasePath)

            let started = ContinuousClock.now
            let refused = try admin.request(#"USER.ADD {"id":"u1"}"#)
            let waited = ContinuousClock.now - started
            #expect(refused.hasPrefix("ERR UNAVAILABLE "), "\(refused)")
            #expect(waited >= .milliseconds(300), "it waited for the lock first")
            #expect(waited < .seconds(4), "and no longer than the write timeout allows")
            #expect(try admin.request("PING") == "PONG", "queries are answered while the lock is held")
            #expect(try admin.request("ORGS u1") == "OK", "nothing was stored")

            lock.release()
            let revision = try admin.request("REVISION")
            #expect(try admin.request(#"USER.ADD {"id":"u1"}"#).hasPrefix("OK u1 "))
            #expect(try admin.request("ORGS u1") == "OK org_default")
            #expect(try admin.request("REVISION") != revision)
        }
    }
}

/// Another process's write lock, as an import holds it: a raw SQLite connection inside
/// `BEGIN IMMEDIATE` until `release()` (or deinit).
final class SQLiteWriteLock {
    private var handle: OpaquePointer?

    init(path: String) throws {
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK,
              sqlite3_exec(handle, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(handle)
            throw ClientError(description: "cannot take the write lock of \(path): \(message)")
        }
    }

    /// Ends the transaction, letting other writers in.
    func release() {
        guard handle != nil else { return }
        sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
        sqlite3_close_v2(handle)
        handle = nil
    }

    deinit { release() }
}
