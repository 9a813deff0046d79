import CSQLite
import Foundation
import Testing

/// Every CLI command ends with the whole state in the database file (SPEC §3), also while
/// another process (a server) keeps the database open.
@Suite struct CleanStopCLITests {
    @Test func aCommandLeavesItsWriteInTheDatabaseFileWhileAnotherProcessHasItOpen() throws {
        let directory = try PermdProcess.temporaryDirectory(["policies/p.json": ManagementCLITests.policy])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try PermdProcess.run(["user", "add", "--id", "ana"], in: directory).status == 0)
        var other: OpaquePointer?
        try #require(sqlite3_open_v2(directory + "/permd.db", &other, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK)
        defer { sqlite3_close_v2(other) }
        #expect(sqlite3_exec(other, "SELECT count(*) FROM users", nil, nil, nil) == SQLITE_OK)

        #expect(try PermdProcess.run(["user", "add", "--id", "bo"], in: directory).status == 0)
        try FileManager.default.createDirectory(atPath: directory + "/backup", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: directory + "/permd.db", toPath: directory + "/backup/permd.db")
        var copy: OpaquePointer?
        defer { sqlite3_close_v2(copy) }
        try #require(sqlite3_open_v2(directory + "/backup/permd.db", &copy, SQLITE_OPEN_READONLY, nil) == SQLITE_OK)
        var statement: OpaquePointer?
        defer { sqlite3_finalize(statement) }
        try #require(sqlite3_prepare_v2(copy, "SELECT group_concat(id, ' ') FROM (SELECT id FROM users ORDER BY id)",
                                        -1, &statement, nil) == SQLITE_OK, "the copy holds the schema")
        try #require(sqlite3_step(statement) == SQLITE_ROW)
        #expect(sqlite3_column_text(statement, 0).map { String(cString: $0) } == "ana bo")
    }
}
