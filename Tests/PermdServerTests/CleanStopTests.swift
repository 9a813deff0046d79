import CSQLite
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A clean stop leaves the whole state in the database file (SPEC §3): the write-ahead log
/// is checkpointed, so a copy of the `.db` file alone is a complete backup.
@Suite(.serialized) struct CleanStopTests {
    @Test func afterSIGTERMTheDatabaseFileAloneHoldsEveryWrite() async throws {
        let folder = try ServeFolder()
        let server = try await ServeProcess(folder: folder)
        let client = try server.client()
        #expect(try client.request("AUTH tok3n") == "OK")
        let users = (0..<20).map { "u\($0)" }
        try client.send(users.map { "USER.ADD {\"id\": \"\($0)\"}\n" }.joined())
        #expect(try client.readLines(users.count).allSatisfy { $0.hasPrefix("OK ") })
        server.signal(SIGTERM)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)

        let backup = FileManager.default.temporaryDirectory.appendingPathComponent("permd-backup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: backup, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: backup) }
        let copy = backup.appendingPathComponent("permd.db").path
        try FileManager.default.copyItem(atPath: folder.url.appendingPathComponent("permd.db").path, toPath: copy)
        #expect(try userIDs(inDatabase: copy) == users.sorted())
    }
}

/// The user ids in the SQLite file at `path`, read with a raw connection (no permd code).
func userIDs(inDatabase path: String) throws -> [String] {
    var handle: OpaquePointer?
    defer { sqlite3_close_v2(handle) }
    var statement: OpaquePointer?
    guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY, nil) == SQLITE_OK,
          sqlite3_prepare_v2(handle, "SELECT id FROM users ORDER BY id", -1, &statement, nil) == SQLITE_OK else {
        throw ClientError(description: "cannot read \(path): \(handle.map { String(cString: sqlite3_errmsg($0)) } ?? "")")
    }
    defer { sqlite3_finalize(statement) }
    var ids: [String] = []
    while sqlite3_step(statement) == SQLITE_ROW {
        ids.append(String(cString: sqlite3_column_text(statement, 0)))
    }
    return ids
}
