import CSQLite
import Foundation
import Testing

/// `--write-timeout` on the CLI's writes (SPEC §3): a write that finds the database locked by
/// another process waits that long, then answers `ERR UNAVAILABLE` and stores nothing.
@Suite struct WriteTimeoutCLITests {
    @Test func aCommandBehindAnotherProcesssLockAnswersUnavailableAfterTheTimeout() throws {
        let directory = try PermdProcess.temporaryDirectory(["policies/p.json": ManagementCLITests.policy])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try PermdProcess.run(["user", "add", "--id", "ana"], in: directory).status == 0)
        var lock = try RawWriteLock(path: directory + "/permd.db")

        let started = ContinuousClock.now
        let flag = try PermdProcess.run(["user", "add", "--id", "bo", "--write-timeout", "1"], in: directory)
        #expect(flag.status == 1, "\(flag)")
        #expect(flag.standardError.hasPrefix("ERR UNAVAILABLE "), "\(flag)")
        #expect(ContinuousClock.now - started >= .seconds(1))

        let variable = try PermdProcess.run(["member", "add", "ana", "org_acme"],
                                            environment: ["PERMD_WRITE_TIMEOUT": "1"], in: directory)
        #expect(variable.status == 1 && variable.standardError.hasPrefix("ERR UNAVAILABLE "), "\(variable)")
        let bad = try PermdProcess.run(["user", "add", "--id", "bo"], environment: ["PERMD_WRITE_TIMEOUT": "soon"],
                                       in: directory)
        #expect(bad.status == 2 && bad.standardError.contains("PERMD_WRITE_TIMEOUT"), "\(bad)")

        lock.release()
        #expect(try PermdProcess.run(["user", "show", "bo"], in: directory).status == 1, "nothing was stored")
        #expect(try PermdProcess.run(["user", "add", "--id", "bo", "--write-timeout", "1"], in: directory).status == 0)
    }
}

/// Another process's write lock: a raw SQLite connection inside `BEGIN IMMEDIATE`.
struct RawWriteLock: ~Copyable {
    private var handle: OpaquePointer?

    init(path: String) throws {
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK,
              sqlite3_exec(handle, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else {
            sqlite3_close_v2(handle)
            throw PermdProcess.HarnessError(description: "cannot take the write lock of \(path)")
        }
    }

    /// Ends the transaction, letting other writers in.
    mutating func release() {
        guard handle != nil else { return }
        sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
        sqlite3_close_v2(handle)
        handle = nil
    }

    deinit {
        sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
        sqlite3_close_v2(handle)
    }
}
