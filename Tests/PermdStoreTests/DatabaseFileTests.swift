import CSQLite
import Foundation
import Logging
import PermdCore
@testable import PermdStore
import Testing

/// Opening files that are not ours, and several writers at once.
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

    @Test func theStateSurvivesReopening() throws {
        let db = try StoreFixture()
        try db.addUser("alice", email: "a@x.io", organizations: ["org_acme"], roles: ["billing-admin"])
        let revision = try db.store.currentRevision()
        let reopened = try SQLiteStore(path: db.path, policy: testPolicy(), logger: Logger(label: "test"))
        #expect(try reopened.currentRevision() == revision)
        #expect(try reopened.user("alice") == db.store.user("alice"))
    }

    @Test func twoConnectionsWritingAtOnceLoseNothing() throws {
        let db = try StoreFixture()
        let start = try db.store.currentRevision()
        let perWriter = 40
        let path = db.path
        let outcomes = Mutex2<[String: [Result<UInt64, StoreError>]]>([:])
        let threads = ["a", "b"].map { name in
            Thread {
                var mine: [Result<UInt64, StoreError>] = []
                do {
                    let store = try SQLiteStore(path: path, policy: testPolicy(), logger: Logger(label: name))
                    for i in 0..<perWriter {
                        do {
                            let result = try store.perform([.addUser(NewUser(id: "\(name)\(i)"))])[0]
                            mine.append(.success(try result.get().revision))
                        } catch let error as StoreError {
                            mine.append(.failure(error))
                        }
                    }
                } catch {
                    mine.append(.failure(error as! StoreError))
                }
                outcomes.withLock { $0[name] = mine }
            }
        }
        threads.forEach { $0.start() }
        let deadline = Date().addingTimeInterval(60)
        while outcomes.withLock({ $0.count }) < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let all = outcomes.withLock { $0 }
        #expect(all.count == 2)
        var revisions: [UInt64] = []
        var committed = 0
        for (_, results) in all {
            let mine = results.compactMap { try? $0.get() }
            #expect(mine == mine.sorted() && Set(mine).count == mine.count, "strictly increasing per writer")
            for case .failure(let error) in results { #expect(error.kind == .busy) }
            revisions += mine
            committed += mine.count
        }
        #expect(Set(revisions).count == revisions.count, "no revision given twice")
        #expect(try db.store.currentRevision() == start + UInt64(committed))
        #expect(try db.store.userIDs(inOrganization: nil).count == committed)
        #expect(committed == 2 * perWriter, "with a 5 s busy timeout both writers get through")
    }
}

/// A lock around a value, for collecting results from threads.
final class Mutex2<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
