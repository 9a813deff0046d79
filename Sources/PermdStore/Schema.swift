import Foundation
import PermdCore

/// permd's database schema and its migrations, versioned by `PRAGMA user_version`.
enum Schema {
    /// One step from a version to the next, run inside the migration's transaction: when it
    /// throws, the database is left as it was.
    struct Migration: Sendable {
        let apply: @Sendable (SQLiteConnection) throws(StoreError) -> Void
    }

    /// Migrations in order: the database's `user_version` is the number applied so far.
    static let migrations: [Migration] = [
        Migration { connection throws(StoreError) in try connection.execute(version1) },
        Migration { connection throws(StoreError) in
            try clearBlankValues(connection)
            // Emails were written without their state; operators' emails are verified (SPEC §1).
            try connection.execute("UPDATE users SET email_verified = 1 WHERE email IS NOT NULL AND email_verified IS NULL")
            try refuseSharedValues(connection)
            try connection.execute("""
                CREATE UNIQUE INDEX users_by_username ON users (username);
                CREATE UNIQUE INDEX users_by_phone ON users (phone);
                """)
        },
        Migration { connection throws(StoreError) in try connection.execute(version3) },
        Migration { connection throws(StoreError) in try connection.execute(version4) },
    ]

    /// The schema version this build writes.
    static var version: Int { migrations.count }

    /// The first schema: tables, the unique lowercased email, the change log.
    private static let version1 = """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('revision', 0), ('log_floor', 0);

        CREATE TABLE users (
            id                TEXT PRIMARY KEY,
            email             TEXT,
            email_lower       TEXT UNIQUE,
            username          TEXT,
            phone             TEXT,
            first_name        TEXT,
            last_name         TEXT,
            picture           TEXT,
            email_verified    INTEGER,
            phone_verified    INTEGER,
            created_at        INTEGER NOT NULL,
            updated_at        INTEGER NOT NULL,
            last_signed_in_at INTEGER
        );

        CREATE TABLE identities (
            provider         TEXT NOT NULL,
            provider_user_id TEXT NOT NULL,
            user             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            PRIMARY KEY (provider, provider_user_id)
        ) WITHOUT ROWID;
        CREATE INDEX identities_by_user ON identities (user);

        CREATE TABLE organizations (
            code        TEXT PRIMARY KEY,
            name        TEXT,
            external_id TEXT
        ) WITHOUT ROWID;
        CREATE INDEX organizations_by_external_id ON organizations (external_id);

        CREATE TABLE memberships (
            user TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            org  TEXT NOT NULL REFERENCES organizations (code) ON DELETE CASCADE,
            PRIMARY KEY (user, org)
        ) WITHOUT ROWID;
        CREATE INDEX memberships_by_org ON memberships (org, user);

        CREATE TABLE role_assignments (
            user TEXT NOT NULL,
            org  TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (user, org, role),
            FOREIGN KEY (user, org) REFERENCES memberships (user, org) ON DELETE CASCADE
        ) WITHOUT ROWID;

        CREATE TABLE direct_grants (
            user       TEXT NOT NULL,
            org        TEXT NOT NULL,
            permission TEXT NOT NULL,
            PRIMARY KEY (user, org, permission),
            FOREIGN KEY (user, org) REFERENCES memberships (user, org) ON DELETE CASCADE
        ) WITHOUT ROWID;

        CREATE TABLE changes (
            revision INTEGER NOT NULL,
            kind     TEXT NOT NULL,
            user     TEXT,
            org      TEXT,
            key      TEXT
        );
        CREATE INDEX changes_by_revision ON changes (revision);
        """

    /// The change log without an index on its revision, and the unique usernames and phones
    /// indexed only where there is one: a large import writes each of its rows into fewer
    /// b-trees, and so holds the write lock for less time (SPEC §3). A change's place in the
    /// log is its `seq`; `revisions` says where each revision's changes begin, which is how a
    /// reader finds the changes after its revision (revisions are logged in `seq` order).
    private static let version3 = """
        CREATE TABLE changes_by_seq (
            seq      INTEGER PRIMARY KEY,
            revision INTEGER NOT NULL,
            kind     TEXT NOT NULL,
            user     TEXT,
            org      TEXT,
            key      TEXT
        );
        INSERT INTO changes_by_seq (revision, kind, user, org, key)
            SELECT revision, kind, user, org, key FROM changes ORDER BY revision, rowid;
        DROP TABLE changes;
        ALTER TABLE changes_by_seq RENAME TO changes;
        CREATE TABLE revisions (
            revision  INTEGER PRIMARY KEY,
            first_seq INTEGER NOT NULL
        );
        INSERT INTO revisions (revision, first_seq) SELECT revision, min(seq) FROM changes GROUP BY revision;

        DROP INDEX users_by_username;
        DROP INDEX users_by_phone;
        CREATE UNIQUE INDEX users_by_username ON users (username) WHERE username IS NOT NULL;
        CREATE UNIQUE INDEX users_by_phone ON users (phone) WHERE phone IS NOT NULL;
        """

    /// The audit log (SPEC §9): when and by whom each revision was made, kept per revision
    /// (not per change row, so that a large import writes no more rows than before).
    /// Revisions logged before this version have no time and the actor `unknown`.
    private static let version4 = """
        ALTER TABLE revisions ADD COLUMN logged_at INTEGER;
        ALTER TABLE revisions ADD COLUMN actor TEXT NOT NULL DEFAULT 'unknown';
        ALTER TABLE revisions ADD COLUMN actor_detail TEXT;
        """

    /// The profile columns that blank values are cleared from (SPEC §1: a blank value is no value).
    private static let profileColumns = ["email", "username", "phone", "first_name", "last_name", "picture"]

    /// Makes every blank profile value (and blank external id) NULL, with the same notion of
    /// white space as `ProfileValue.isBlank`; an email cleared loses its lowercase key and state.
    private static func clearBlankValues(_ connection: SQLiteConnection) throws(StoreError) {
        let whitespace = SQLiteValue.text(ProfileValue.whitespaceScalars)
        for column in profileColumns {
            let alsoCleared = column == "email" ? ", email_lower = NULL, email_verified = NULL" : ""
            try connection.run("UPDATE users SET \(column) = NULL\(alsoCleared) WHERE trim(\(column), ?1) = ''", whitespace)
        }
        try connection.run("UPDATE organizations SET external_id = NULL WHERE trim(external_id, ?1) = ''", whitespace)
    }

    /// The most shared values one refusal lists.
    static let sharedValuesListed = 10

    /// Refuses (kind `.invariantBroken`) a database where two users hold one username or one
    /// phone number: which user keeps it is the operator's decision, never a silent one.
    private static func refuseSharedValues(_ connection: SQLiteConnection) throws(StoreError) {
        var shared: [(column: String, value: String, holders: [String])] = []
        for column in ["username", "phone"] {
            let statement = try connection.statement("""
                SELECT \(column), id FROM users WHERE \(column) IN
                    (SELECT \(column) FROM users WHERE \(column) IS NOT NULL GROUP BY \(column) HAVING count(*) > 1)
                ORDER BY \(column), id
                """)
            defer { statement.reset() }
            while try statement.step() {
                let value = statement.text(0)
                if shared.last?.column == column && shared.last?.value == value {
                    shared[shared.count - 1].holders.append(statement.text(1))
                } else {
                    shared.append((column, value, [statement.text(1)]))
                }
            }
        }
        guard !shared.isEmpty else { return }
        let listed = shared.prefix(sharedValuesListed)
        var lines = ["two or more users share a username or a phone number, which this permd keeps unique "
            + "(each belongs to at most one user); nothing was changed:"]
        for item in listed {
            lines.append("  \(item.column) \"\(item.value)\" is held by users "
                + item.holders.map { "\"\($0)\"" }.joined(separator: ", "))
        }
        if shared.count > listed.count { lines.append("  and \(shared.count - listed.count) more shared values") }
        let fixes = listed.map { item in
            "UPDATE users SET \(item.column) = NULL WHERE id IN ("
                + item.holders.dropFirst().map(sqlLiteral).joined(separator: ", ") + ");"
        }
        lines.append("to fix: keep each value on one user and clear it on the others (or change it), then run "
            + "permd again; for example, keeping it on the first user listed:")
        lines.append("  sqlite3 \(shellQuoted(connection.path)) \"" + fixes.joined(separator: " ") + "\"")
        throw StoreError(.invariantBroken, path: connection.path, message: lines.joined(separator: "\n"))
    }

    /// `text` as an SQL string literal.
    private static func sqlLiteral(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// `text` as one shell word.
    private static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
