/// permd's tables in PostgreSQL (schema `permd`) and their migrations: the same meaning as
/// the SQLite schema (`Schema`), with PostgreSQL's types.
///
/// Differences from SQLite, each for a reason:
/// - `user` is a reserved word in PostgreSQL, so the column is `user_id` everywhere.
/// - Identifier columns are `COLLATE "C"`: ordered byte by byte like SQLite's `BINARY`, so
///   that an export sorts the same on both, whatever collation the database was created with.
/// - The revision is a single-row table, `revision`: every write transaction updates that
///   row, which serialises commits and hands out the next revision gap-free, in commit order.
///   It also holds the log floor (the revision up to which the change log was trimmed).
/// - Change-log rows have their own ascending `seq` (the order within a revision, as SQLite's
///   rowid) and the time they were logged (for `--log-retention` and `lag_ms`).
/// - Who made each revision (the audit log, SPEC §9) is a row of `revisions` per revision,
///   not columns of every change row: a million-row import copies no more per row.
/// - Migrations are recorded one row per version in `schema_migrations`.
enum PostgresSchema {
    /// The schema that holds every table.
    static let name = "permd"

    /// The channel a write transaction notifies after its commit, with the revision as payload.
    static let changesChannel = "permd_changes"

    /// The advisory lock every migration holds for its transaction ("permd" in ASCII), so
    /// that processes starting at once migrate one after the other.
    static let migrationLock: Int64 = 0x70_65_72_6D_64

    /// Migrations in order: version n is `migrations[n - 1]`.
    static let migrations: [String] = [version1, version2]

    /// The schema version this build writes.
    static var version: Int { migrations.count }

    /// Creates the schema when missing and applies the migrations the database lacks, in one
    /// transaction under the migration lock: a second process waits, then finds them done.
    /// Nothing is created that exists already, so a role without CREATE rights can open a
    /// migrated database.
    /// - Returns: the version found before migrating.
    /// - Throws: `.newerSchema` for a database migrated by a newer permd (left untouched).
    @discardableResult
    static func migrate(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        // READ COMMITTED: each statement after the lock sees what the previous holder committed.
        try connection.transaction(.readCommitted) { () throws(PostgresError) -> Int in
            try connection.query("SELECT pg_advisory_xact_lock($1)", .integer(migrationLock))
            if try connection.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", .text(name)).isEmpty {
                try connection.execute("CREATE SCHEMA \(name)")
            }
            if try connection.integer("SELECT 1 WHERE to_regclass('\(name).schema_migrations') IS NOT NULL") == nil {
                try connection.execute("""
                    CREATE TABLE \(name).schema_migrations (
                        version    integer PRIMARY KEY,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """)
            }
            let found = Int(try connection.integer("SELECT coalesce(max(version), 0) FROM \(name).schema_migrations") ?? 0)
            guard found <= version else {
                throw PostgresError(
                    .newerSchema(found: found, supported: version), location: connection.location.description,
                    message: "the database was migrated by a newer permd (schema version \(found); this permd knows up to \(version))")
            }
            for (index, script) in migrations.enumerated() where index >= found {
                try connection.execute(script)
                try connection.query("INSERT INTO \(name).schema_migrations (version) VALUES ($1)", .integer(Int64(index + 1)))
            }
            return found
        }
    }

    /// The audit log: when and by whom each revision was made. Revisions logged before it
    /// take the actor `unknown` and the time of their first change row.
    private static let version2 = """
        CREATE TABLE permd.revisions (
            revision     bigint PRIMARY KEY,
            logged_at    timestamptz,
            actor        text NOT NULL DEFAULT 'unknown',
            actor_detail text
        );
        INSERT INTO permd.revisions (revision, logged_at)
            SELECT revision, min(logged_at) FROM permd.changes GROUP BY revision;
        """

    /// The first schema: every table, the unique keys, the change log.
    private static let version1 = """
        CREATE TABLE permd.revision (
            only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            value     bigint NOT NULL DEFAULT 0 CHECK (value >= 0),
            log_floor bigint NOT NULL DEFAULT 0
        );
        INSERT INTO permd.revision DEFAULT VALUES;

        CREATE TABLE permd.users (
            id                text COLLATE "C" PRIMARY KEY,
            email             text,
            email_lower       text COLLATE "C",
            email_verified    boolean,
            username          text COLLATE "C",
            phone             text COLLATE "C",
            phone_verified    boolean,
            first_name        text,
            last_name         text,
            picture           text,
            created_at        bigint NOT NULL,
            updated_at        bigint NOT NULL,
            last_signed_in_at bigint,
            CONSTRAINT users_email_unique UNIQUE (email_lower),
            CONSTRAINT users_username_unique UNIQUE (username),
            CONSTRAINT users_phone_unique UNIQUE (phone)
        );

        CREATE TABLE permd.identities (
            provider         text COLLATE "C" NOT NULL,
            provider_user_id text COLLATE "C" NOT NULL,
            user_id          text COLLATE "C" NOT NULL REFERENCES permd.users (id) ON DELETE CASCADE,
            CONSTRAINT identities_unique PRIMARY KEY (provider, provider_user_id)
        );
        CREATE INDEX identities_by_user ON permd.identities (user_id);

        CREATE TABLE permd.organizations (
            code        text COLLATE "C" PRIMARY KEY,
            name        text,
            external_id text COLLATE "C"
        );
        CREATE INDEX organizations_by_external_id ON permd.organizations (external_id);

        CREATE TABLE permd.memberships (
            user_id text COLLATE "C" NOT NULL REFERENCES permd.users (id) ON DELETE CASCADE,
            org     text COLLATE "C" NOT NULL REFERENCES permd.organizations (code) ON DELETE CASCADE,
            PRIMARY KEY (user_id, org)
        );
        CREATE INDEX memberships_by_org ON permd.memberships (org, user_id);

        CREATE TABLE permd.role_assignments (
            user_id text COLLATE "C" NOT NULL,
            org     text COLLATE "C" NOT NULL,
            role    text COLLATE "C" NOT NULL,
            PRIMARY KEY (user_id, org, role),
            FOREIGN KEY (user_id, org) REFERENCES permd.memberships (user_id, org) ON DELETE CASCADE
        );

        CREATE TABLE permd.direct_grants (
            user_id    text COLLATE "C" NOT NULL,
            org        text COLLATE "C" NOT NULL,
            permission text COLLATE "C" NOT NULL,
            PRIMARY KEY (user_id, org, permission),
            FOREIGN KEY (user_id, org) REFERENCES permd.memberships (user_id, org) ON DELETE CASCADE
        );

        CREATE TABLE permd.changes (
            seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            revision  bigint NOT NULL,
            kind      text NOT NULL,
            user_id   text COLLATE "C",
            org       text COLLATE "C",
            key       text COLLATE "C",
            logged_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX changes_by_revision ON permd.changes (revision);
        """
}
