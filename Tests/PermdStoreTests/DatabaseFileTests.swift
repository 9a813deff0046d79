import CSQLite
import Foundation
import Logging
import PermdCore
@testable import PermdStore
import Testing
import PermdTestSupport

/// Opening SQLite files that are not ours, and the `--db` value that names the file.
@Suite struct DatabaseFileTests {
    @Test func aFileThatIsNotSQLiteIsRefusedUnchanged() throws {
        let directory = TemporaryDirectory()
        let path = directory.path("notes.db")
        let content = Data(String(repeating: "these are not the tables you are looking for\n", count: 200).utf8)
        try content.write(to: URL(fileURLWithPath: path))
        do {
            _ = try SQLiteStore(path: path, policy: testPolicy(), logger: Logger(label: "test"))
            Issue.record("opened a text file as a database")
        } catch {
            #expect(error.kind == .notADatabase)
            #expect(error.description.contains("not an SQLite database"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func aNewDatabaseAndItsLogFilesAreTheOwnersOnly() throws {
        let directory = TemporaryDirectory()
        let path = directory.path("people.db")
        let previous = umask(0o022)  // the usual umask, which would leave the file world-readable
        defer { umask(previous) }
        let store = try SQLiteStore(path: path, policy: testPolicy(), logger: Logger(label: "test"))
        _ = try store.perform([.addUser(NewUser(id: "ana", profile: UserProfile(email: "ana@acme.io")))])
        for file in [path, path + "-wal", path + "-shm"] {
            let mode = try #require(FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
            #expect(mode == 0o600, "\(file) has mode \(String(mode, radix: 8))")
        }
        // An existing file keeps the mode its owner gave it.
        store.close()
        chmod(path, 0o640)
        _ = try SQLiteStore(path: path, policy: testPolicy(), logger: Logger(label: "test"))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o640)
    }

    @Test func aNewerSchemaIsRefusedUnchanged() throws {
        let directory = TemporaryDirectory()
        let path = directory.path("future.db")
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        #expect(sqlite3_exec(db, "CREATE TABLE t (x); PRAGMA user_version = 99", nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            _ = try SQLiteStore(path: path, policy: testPolicy(), logger: Logger(label: "test"))
            Issue.record("opened a database from the future")
        } catch {
            #expect(error.kind == .newerSchema(found: 99, supported: Schema.version))
            #expect(error.description.contains("newer"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func aMissingDirectoryIsAClearError() {
        #expect(throws: StoreError.self) {
            _ = try SQLiteStore(path: "/nonexistent-permd-dir/x.db", policy: testPolicy(), logger: Logger(label: "test"))
        }
    }

    @Test func aDBValueNamesAnSQLiteFileThatOpensAsSQLiteStore() throws {
        let directory = TemporaryDirectory()
        let location = StoreLocation(db: directory.path("permd.db"))
        #expect(location == .sqliteFile(path: directory.path("permd.db")))
        #expect(location.description == directory.path("permd.db"))
        #expect(try location.open(policy: testPolicy(), logger: Logger(label: "test")) is SQLiteStore)
        #expect(FileManager.default.fileExists(atPath: directory.path("permd.db")))
    }
}
