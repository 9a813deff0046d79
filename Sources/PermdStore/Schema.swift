/// permd's database schema and its migrations, versioned by `PRAGMA user_version`.
enum Schema {
    /// Migrations in order: the database's `user_version` is the number applied so far.
    static let migrations: [String] = [
        """
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
        """,
    ]

    /// The schema version this build writes.
    static var version: Int { migrations.count }
}
