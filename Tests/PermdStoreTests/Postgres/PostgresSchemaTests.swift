import Logging
import PermdCore
@testable import PermdStore
import PermdTestSupport
import Testing

/// The `permd` schema in PostgreSQL: migrations safe when two processes start at once, and
/// the tables' keys.
@Suite(.needsPostgres) struct PostgresSchemaTests {
    static let tables = ["revision", "users", "identities", "organizations", "memberships", "role_assignments",
                         "direct_grants", "changes", "revisions", "schema_migrations"]

    @Test func twoConcurrentMigrationsLeaveOneSchemaVersion() throws {
        try withFreshDatabase { fixture in
            let holder = try fixture.connect()
            let observer = try fixture.connect()
            var migrators: [Background<Int>] = []
            var bothWaited = false
            // Hold the migration lock so that both migrations are surely running at once, then let go.
            try holder.transaction { () throws(PostgresError) in
                try holder.query("SELECT pg_advisory_xact_lock($1)", .integer(PostgresSchema.migrationLock))
                for _ in 0 ..< 2 {
                    migrators.append(Background { () throws(PostgresError) in try PostgresSchema.migrate(fixture.connect()) })
                }
                bothWaited = try eventually { () throws(PostgresError) in try sessionsWaitingForALock(observer) == 2 }
            }
            #expect(bothWaited)
            let found = try migrators.map { try $0.value() }.sorted()
            // One migrated from nothing; the other waited, then found the work done.
            #expect(found == [0, PostgresSchema.version])
            #expect(try observer.integer("SELECT count(*) FROM permd.schema_migrations") == Int64(PostgresSchema.version))
            #expect(try observer.integer("SELECT max(version) FROM permd.schema_migrations") == Int64(PostgresSchema.version))
            #expect(try observer.integer("SELECT count(*) FROM permd.revision") == 1)
            for table in Self.tables {
                #expect(try observer.integer("SELECT 1 WHERE to_regclass($1) IS NOT NULL", .text("permd.\(table)")) == 1,
                        "permd.\(table) is missing")
            }
            #expect(try PostgresSchema.migrate(observer) == PostgresSchema.version)
        }
    }

    /// Migration 2 (the audit log) on a database a version-1 permd wrote: its logged revisions
    /// read back as `unknown`, at the time of their first change row; new ones name their actor.
    @Test func aVersionOneDatabaseGainsTheAuditLogWithItsOldEntriesUnknown() throws {
        try withFreshDatabase { fixture in
            let connection = try fixture.connect()
            try connection.execute("""
                CREATE SCHEMA permd;
                CREATE TABLE permd.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """)
            try connection.execute(PostgresSchema.migrations[0])
            try connection.execute("""
                INSERT INTO permd.schema_migrations (version) VALUES (1);
                INSERT INTO permd.organizations (code) VALUES ('org_default');
                INSERT INTO permd.users (id, created_at, updated_at) VALUES ('ana', 0, 0);
                INSERT INTO permd.memberships (user_id, org) VALUES ('ana', 'org_default');
                INSERT INTO permd.changes (revision, kind, user_id, org, logged_at) VALUES
                    (1, 'user_added', 'ana', NULL, '2026-01-02 03:04:05.678+00'),
                    (1, 'membership_added', 'ana', 'org_default', '2026-01-02 03:04:05.912+00');
                UPDATE permd.revision SET value = 1
                """)
            let store = try PostgresStore(location: fixture.location, policy: testPolicy(), logger: Logger(label: "test"))
            #expect(try connection.integer("SELECT max(version) FROM permd.schema_migrations") == 2)
            let entries = try store.auditLog(AuditQuery())
            #expect(entries.prefix(2) == [
                AuditEntry(time: 1_767_323_045_678, revision: 1, actor: .unknown, change: .userAdded(user: "ana")),
                AuditEntry(time: 1_767_323_045_678, revision: 1, actor: .unknown,
                           change: .membershipAdded(user: "ana", organization: "org_default")),
            ])
            // Opening synced the policies' organizations: revision 2, by the policy.
            #expect(!entries.dropFirst(2).isEmpty && entries.dropFirst(2).allSatisfy { $0.revision == 2 && $0.actor == .policy })
            #expect(try store.changes(after: 0)?.count == entries.count)
        }
    }

    @Test func aDatabaseFromANewerPermdIsRefusedAndLeftAsItWas() throws {
        try withFreshDatabase { fixture in
            let connection = try fixture.connect()
            try PostgresSchema.migrate(connection)
            let newer = PostgresSchema.version + 1
            try connection.query("INSERT INTO permd.schema_migrations (version) VALUES ($1)", .integer(Int64(newer)))
            let error = #expect(throws: PostgresError.self) { try PostgresSchema.migrate(connection) }
            #expect(error?.kind == .newerSchema(found: newer, supported: PostgresSchema.version))
            #expect(try connection.integer("SELECT count(*) FROM permd.schema_migrations") == Int64(newer))
        }
    }

    @Test func emailsUsernamesAndPhonesBelongToOneUser() throws {
        try withFreshDatabase { fixture in
            let connection = try fixture.connect()
            try PostgresSchema.migrate(connection)
            let insert = "INSERT INTO permd.users (id, email, email_lower, username, phone, created_at, updated_at) "
                + "VALUES ($1, $2, lower($2), $3, $4, 0, 0)"
            try connection.query(insert, "u1", "Ann@Example.com", "ann", "+15550100")
            for (values, constraint) in [(["u2", "ANN@example.COM", nil, nil], "users_email_unique"),
                                         (["u2", nil, "ann", nil], "users_username_unique"),
                                         (["u2", nil, nil, "+15550100"], "users_phone_unique")] as [([String?], String)] {
                let error = #expect(throws: PostgresError.self) {
                    try connection.query(insert, parameters: values.map(PostgresValue.optional))
                }
                #expect(error?.kind == .uniqueViolation)
                #expect(error?.constraint == constraint)
            }
            // Usernames compare exactly, as in SQLite; only emails are compared lower-cased.
            try connection.query(insert, "u2", nil, "Ann", nil)
        }
    }

    @Test func identifiersSortByteByByteAsInSQLite() throws {
        try withFreshDatabase { fixture in
            let connection = try fixture.connect()
            try PostgresSchema.migrate(connection)
            for id in ["b", "a", "B", "é", "_"] {
                try connection.query("INSERT INTO permd.users (id, created_at, updated_at) VALUES ($1, 0, 0)", .text(id))
            }
            let sorted = try connection.query("SELECT id FROM permd.users ORDER BY id").map { $0.text(0) ?? "" }
            #expect(sorted == ["B", "_", "a", "b", "é"])
        }
    }

    @Test func removingAUserRemovesWhatHangsOnIt() throws {
        try withFreshDatabase { fixture in
            let connection = try fixture.connect()
            try PostgresSchema.migrate(connection)
            try connection.execute("""
                INSERT INTO permd.users (id, created_at, updated_at) VALUES ('u1', 0, 0);
                INSERT INTO permd.organizations (code) VALUES ('org_acme');
                INSERT INTO permd.identities VALUES ('google', 'g-1', 'u1');
                INSERT INTO permd.memberships VALUES ('u1', 'org_acme');
                INSERT INTO permd.role_assignments VALUES ('u1', 'org_acme', 'viewer');
                INSERT INTO permd.direct_grants VALUES ('u1', 'org_acme', 'read:invoices');
                DELETE FROM permd.users WHERE id = 'u1';
                """)
            for table in ["identities", "memberships", "role_assignments", "direct_grants"] {
                #expect(try connection.integer("SELECT count(*) FROM permd.\(table)") == 0, "\(table) kept rows")
            }
            #expect(try connection.integer("SELECT count(*) FROM permd.organizations") == 1)
        }
    }
}
