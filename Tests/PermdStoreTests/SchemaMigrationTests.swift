import CSQLite
import Foundation
import Logging
import PermdCore
@testable import PermdStore
import Testing
import PermdTestSupport

/// Upgrading a database written by an earlier permd (schema version 1): blank values become
/// no value, operators' emails verified, and data that breaks the unique usernames and phone
/// numbers is refused with the fix, never silently changed (SPEC §1, §3).
@Suite struct SchemaMigrationTests {
    /// A database at `path` as permd wrote it at schema `version` (the first `version`
    /// migrations applied, `org_default` created), then holding `inserts` (SQL run as is).
    static func makeDatabase(at path: String, version: Int, _ inserts: String) throws {
        do {
            let connection = try SQLiteConnection(path: path, writeTimeout: .seconds(5))
            for migration in Schema.migrations.prefix(version) { try migration.apply(connection) }
        }
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        defer { sqlite3_close(db) }
        let sql = """
            PRAGMA user_version = \(version);
            INSERT INTO organizations (code) VALUES ('org_default');
            \(inserts)
            """
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(db, sql, nil, nil, &message)
        let error = message.map { String(cString: $0) } ?? ""
        sqlite3_free(message)
        try #require(status == SQLITE_OK, "\(error)")
    }

    /// A version-1 database (it had no unique usernames or phones, and let every value in).
    static func makeVersionOneDatabase(at path: String, _ inserts: String) throws {
        try makeDatabase(at: path, version: 1, inserts)
    }

    static func insertUser(_ id: String, email: String? = nil, username: String? = nil, phone: String? = nil,
                           firstName: String? = nil, emailVerified: Int? = nil) -> String {
        func value(_ text: String?) -> String { text.map { "'\($0)'" } ?? "NULL" }
        return """
            INSERT INTO users (id, email, email_lower, username, phone, first_name, email_verified, created_at, updated_at)
            VALUES ('\(id)', \(value(email)), \(value(email?.lowercased())), \(value(username)), \(value(phone)),
                    \(value(firstName)), \(emailVerified.map(String.init) ?? "NULL"), 0, 0);
            INSERT INTO memberships (user, org) VALUES ('\(id)', 'org_default');
            """
    }

    @Test func blankValuesBecomeNoValueAndOperatorsEmailsVerified() throws {
        let directory = TemporaryDirectory()
        let path = directory.path("old.db")
        try Self.makeVersionOneDatabase(at: path, [
            Self.insertUser("e1", email: "", username: " ", phone: "\t", firstName: ""),
            Self.insertUser("e2", email: "  ", username: "", phone: " "),
            Self.insertUser("ana", email: "ana@acme.io", username: "ana", firstName: "Ana"),
            Self.insertUser("bob", email: "bob@acme.io", emailVerified: 0),
        ].joined())
        let store = try SQLiteStore(path: path, policy: testPolicy(), logger: Logger(label: "test"))
        #expect(try store.user("e1")?.profile == UserProfile())
        #expect(try store.user("e2")?.profile == UserProfile())
        #expect(try store.user("e1")?.emailVerified == nil)
        #expect(try store.user("ana")?.profile == UserProfile(email: "ana@acme.io", username: "ana", firstName: "Ana"))
        #expect(try store.user("ana")?.emailVerified == true)
        #expect(try store.user("bob")?.emailVerified == false)
        // The blank email that was a login key finds nobody now.
        let results = try store.perform([.signIn(SignInRequest(provider: "evil", providerUserID: "1", email: "",
                                                               emailVerified: true))])
        guard case .success(.signedIn(.signedUp, _)) = results[0] else {
            Issue.record("a blank email still finds a user: \(results)")
            return
        }
        // And the schema holds the rule from now on.
        #expect(try store.connection.integer("PRAGMA user_version") == Int64(Schema.version))
        #expect(Schema.version >= 2)
    }

    @Test func duplicatedUsernamesOrPhonesAreRefusedWithTheFixAndLeftUnchanged() throws {
        let directory = TemporaryDirectory()
        let path = directory.path("old.db")
        try Self.makeVersionOneDatabase(at: path, [
            Self.insertUser("u1", username: "jdoe", phone: "+15550100"),
            Self.insertUser("u2", username: "jdoe"),
            Self.insertUser("u3", phone: "+15550100"),
            Self.insertUser("u4", email: "", username: "ok"),
        ].joined())
        do {
            _ = try SQLiteStore(path: path, policy: testPolicy(), logger: Logger(label: "test"))
            Issue.record("opened a database where two users share a username")
        } catch {
            #expect(error.kind == .invariantBroken)
            let message = error.description
            for name in ["\"jdoe\"", "\"u1\"", "\"u2\"", "\"+15550100\"", "\"u3\"", "username", "phone", "sqlite3",
                         "UPDATE users SET username = NULL WHERE id IN ('u2')", path] {
                #expect(message.contains(name), "\(message) does not name \(name)")
            }
        }
        // Nothing was changed: not even the blank email of u4 was cleared.
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        defer { sqlite3_close(db) }
        #expect(try Self.scalar(db, "SELECT email FROM users WHERE id = 'u4'") == "")
        #expect(try Self.scalar(db, "PRAGMA user_version") == "1")
    }

    @Test func theChangeLogOfAVersionTwoDatabaseReadsTheSameAfterTheUpgrade() throws {
        let directory = TemporaryDirectory()
        let path = directory.path("v2.db")
        // Rows of one revision interleaved with another's in rowid order: the log is read by
        // revision, then by the order each revision's rows were written.
        try Self.makeDatabase(at: path, version: 2, Self.insertUser("ana") + Self.insertUser("bob") + """
            INSERT INTO changes (revision, kind, user, org, key) VALUES
                (1, 'user_added', 'ana', NULL, NULL), (2, 'user_added', 'bob', NULL, NULL),
                (1, 'membership_added', 'ana', 'org_default', NULL), (3, 'profile_updated', 'bob', NULL, NULL),
                (2, 'membership_added', 'bob', 'org_default', NULL);
            UPDATE meta SET value = 3 WHERE key = 'revision';
            """)
        let store = try SQLiteStore(path: path, policy: testPolicy(), logger: Logger(label: "test"))
        #expect(try store.connection.integer("PRAGMA user_version") == Int64(Schema.version))
        // Opening logged revision 4: the declared organizations made to follow the policies.
        #expect(try store.currentRevision() == 4)
        let all = try #require(try store.changes(after: 0))
        #expect(all.map(\.revision) == [1, 1, 2, 2, 3, 4, 4])
        #expect(all.prefix(5).map(\.change) == [
            .userAdded(user: "ana"), .membershipAdded(user: "ana", organization: "org_default"),
            .userAdded(user: "bob"), .membershipAdded(user: "bob", organization: "org_default"),
            .profileUpdated(user: "bob"),
        ])
        #expect(try store.changes(after: 2)?.map(\.change).first == .profileUpdated(user: "bob"))
        #expect(try store.changes(after: 4)?.isEmpty == true)
        // And what is written after the upgrade follows in order.
        let added = try store.perform([.addMember(user: "ana", organization: "org_acme", roles: nil)])
        guard case .success = added[0] else { Issue.record("\(added)"); return }
        let later = try #require(try store.changes(after: 2)).map(\.revision)
        #expect(later.first == 3 && later.last == 5 && later == later.sorted(), "\(later)")
        #expect(Set(try #require(try store.changes(after: 4)).map(\.revision)) == [5])
    }

    /// Schema 3 → 4 (the audit log): a file as permd wrote it at schema 3, with two revisions
    /// logged, opens; those revisions read back as `unknown` without a time, later ones with
    /// theirs; and the unknown ones are trimmed only with a newer entry old enough (SPEC §9).
    @Test func aVersionThreeDatabaseGainsTheAuditLogWithItsOldEntriesUnknown() throws {
        let directory = TemporaryDirectory()
        let path = directory.path("v3.db")
        try Self.makeDatabase(at: path, version: 3, Self.insertUser("ana") + """
            INSERT INTO changes (revision, kind, user, org) VALUES (1, 'user_added', 'ana', NULL),
                (1, 'membership_added', 'ana', 'org_default'), (2, 'profile_updated', 'ana', NULL);
            INSERT INTO revisions (revision, first_seq) VALUES (1, 1), (2, 3);
            UPDATE meta SET value = 2 WHERE key = 'revision';
            """)
        let before = UnixMilliseconds(Date().timeIntervalSince1970 * 1000)
        let store = try SQLiteStore(path: path, policy: testPolicy(), logger: Logger(label: "test"))
        #expect(try store.connection.integer("PRAGMA user_version") == 4)
        let entries = try store.auditLog(AuditQuery())
        #expect(entries.prefix(3) == [
            AuditEntry(time: nil, revision: 1, actor: .unknown, change: .userAdded(user: "ana")),
            AuditEntry(time: nil, revision: 1, actor: .unknown, change: .membershipAdded(user: "ana", organization: "org_default")),
            AuditEntry(time: nil, revision: 2, actor: .unknown, change: .profileUpdated(user: "ana")),
        ])
        // Opening synced the declared organizations: revision 3, by the policy, stamped now.
        let synced = Array(entries.dropFirst(3))
        #expect(!synced.isEmpty && synced.allSatisfy { $0.revision == 3 && $0.actor == .policy && ($0.time ?? 0) >= before },
                "\(synced)")
        let syncedAt = try #require(synced.first?.time)
        // No entry with a time is older than the cutoff yet: the unknown ones stay.
        #expect(try store.trimLog(loggedBefore: syncedAt) == LogTrim(revisions: 0, floor: 0))
        #expect(try store.auditLog(AuditQuery()).count == entries.count)
        // Revision 3 is old enough: it goes, and every revision before it.
        #expect(try store.trimLog(loggedBefore: syncedAt + 1) == LogTrim(revisions: 3, floor: 3))
        #expect(try store.auditLog(AuditQuery()).isEmpty)
        #expect(try store.changes(after: 2) == nil)
        #expect(try store.user("ana") != nil)
    }

    @Test func aNewDatabaseHasEightKiBPagesAndAnUpgradedOneKeepsItsOwn() throws {
        let directory = TemporaryDirectory()
        let fresh = try SQLiteStore(path: directory.path("new.db"), policy: testPolicy(), logger: Logger(label: "test"))
        #expect(try fresh.connection.integer("PRAGMA page_size") == 8192)
        let path = directory.path("v2.db")
        try Self.makeDatabase(at: path, version: 2, "")
        let upgraded = try SQLiteStore(path: path, policy: testPolicy(), logger: Logger(label: "test"))
        #expect(try upgraded.connection.integer("PRAGMA page_size") == 4096)
    }

    static func scalar(_ db: OpaquePointer?, _ sql: String) throws -> String? {
        var statement: OpaquePointer?
        try #require(sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return nil }
        return String(cString: text)
    }
}
