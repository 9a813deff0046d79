import Foundation
import PermdCore

/// Where an import puts what it will write, before it takes the write lock: temporary tables
/// (private to the connection, never in the database file) shaped like the tables they go to.
///
/// The staging tables are made from the schema's own `CREATE` statements, so that a merge is
/// `INSERT INTO main.t SELECT * FROM temp.import_t`: SQLite copies such rows without decoding
/// them, and into an empty table it copies whole b-tree pages (its transfer optimization).
/// Their primary keys also sort what is staged, so the merge inserts in key order.
///
/// Besides the target tables' indexes, the staging tables are indexed by the values an import
/// looks users up by (email, username, phone), so that an import finds what it staged itself.
final class ImportStaging {
    private let connection: SQLiteConnection
    /// The tables staged for, each copied as `temp.import_<name>`.
    static let copiedTables = ["users", "identities", "memberships", "role_assignments", "direct_grants"]

    /// Creates the staging tables (replacing any left by an earlier import of this connection).
    init(connection: SQLiteConnection) throws(StoreError) {
        self.connection = connection
        try drop()
        for table in Self.copiedTables {
            guard let sql = try connection.statement("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?")
                .firstText([.text(table)]),
                  let body = sql.range(of: "CREATE TABLE \(table) ") else {
                throw StoreError(.sqlite(code: 1), path: connection.path, message: "no table \"\(table)\" to import into")
            }
            try connection.execute("CREATE TEMP TABLE import_\(table) " + sql[body.upperBound...])
            let indexes = try connection.statement(
                "SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL")
            try indexes.bind([.text(table)])
            var statements: [String] = []
            while try indexes.step() {
                let name = indexes.text(0)
                statements.append(indexes.text(1).replacingFirst(
                    "INDEX \(name) ON \(table) ", with: "INDEX temp.import_\(name) ON import_\(table) "))
            }
            indexes.reset()
            for statement in statements { try connection.execute(statement) }
        }
        try connection.execute(
            """
            CREATE TEMP TABLE import_profiles (
                id TEXT PRIMARY KEY, email TEXT, email_lower TEXT, username TEXT, phone TEXT, first_name TEXT,
                last_name TEXT, picture TEXT, email_verified INTEGER, phone_verified INTEGER
            ) WITHOUT ROWID;
            CREATE TEMP TABLE import_changes (kind TEXT NOT NULL, user TEXT, org TEXT, key TEXT);
            CREATE INDEX temp.import_users_by_username_lookup ON import_users (username) WHERE username IS NOT NULL;
            CREATE INDEX temp.import_users_by_phone_lookup ON import_users (phone) WHERE phone IS NOT NULL;
            CREATE INDEX temp.import_profiles_by_email ON import_profiles (email_lower) WHERE email_lower IS NOT NULL;
            CREATE INDEX temp.import_profiles_by_username ON import_profiles (username) WHERE username IS NOT NULL;
            CREATE INDEX temp.import_profiles_by_phone ON import_profiles (phone) WHERE phone IS NOT NULL;
            """)
    }

    /// Removes the staging tables.
    func drop() throws(StoreError) {
        for table in Self.copiedTables + ["profiles", "changes"] {
            try connection.execute("DROP TABLE IF EXISTS temp.import_\(table)")
        }
    }

    // MARK: - Staging

    /// Stages a new user's row.
    func stageNewUser(_ id: String, _ row: UserRow, at now: Int64) throws(StoreError) {
        try connection.run(
            """
            INSERT INTO temp.import_users (id, email, email_lower, username, phone, first_name, last_name, picture,
                                           email_verified, phone_verified, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            .text(id), .optional(row.profile.email), .optional(row.profile.email?.lowercased()),
            .optional(row.profile.username), .optional(row.profile.phone), .optional(row.profile.firstName),
            .optional(row.profile.lastName), .optional(row.profile.picture), .optional(row.emailVerified),
            .optional(row.phoneVerified), .integer(now), .integer(now))
    }

    /// Replaces the staged row of a new user (a later record of the same user changed it).
    func restageNewUser(_ id: String, _ row: UserRow) throws(StoreError) {
        try connection.run(
            """
            UPDATE temp.import_users SET email = ?, email_lower = ?, username = ?, phone = ?, first_name = ?,
                last_name = ?, picture = ?, email_verified = ?, phone_verified = ? WHERE id = ?
            """,
            .optional(row.profile.email), .optional(row.profile.email?.lowercased()), .optional(row.profile.username),
            .optional(row.profile.phone), .optional(row.profile.firstName), .optional(row.profile.lastName),
            .optional(row.profile.picture), .optional(row.emailVerified), .optional(row.phoneVerified), .text(id))
    }

    /// Stages (or replaces) the new profile of an existing user.
    func stageProfile(_ id: String, _ row: UserRow) throws(StoreError) {
        try connection.run(
            """
            INSERT OR REPLACE INTO temp.import_profiles (id, email, email_lower, username, phone, first_name, last_name,
                                                         picture, email_verified, phone_verified)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            .text(id), .optional(row.profile.email), .optional(row.profile.email?.lowercased()),
            .optional(row.profile.username), .optional(row.profile.phone), .optional(row.profile.firstName),
            .optional(row.profile.lastName), .optional(row.profile.picture), .optional(row.emailVerified),
            .optional(row.phoneVerified))
    }

    func stageIdentity(_ identity: Identity, user: String) throws(StoreError) {
        try insert(into: "identities", identity.provider, identity.providerUserID, user)
    }

    func stageMembership(user: String, organization: String) throws(StoreError) {
        try insert(into: "memberships", user, organization)
    }

    func stageRole(user: String, organization: String, role: String) throws(StoreError) {
        try insert(into: "role_assignments", user, organization, role)
    }

    func stageGrant(user: String, organization: String, permission: String) throws(StoreError) {
        try insert(into: "direct_grants", user, organization, permission)
    }

    /// Stages one change for the change log (in order: the log keeps the order of the writes).
    func stageChange(_ change: StateChange) throws(StoreError) {
        let row = ChangeLogRow.encode(change)
        try connection.run("INSERT INTO temp.import_changes (kind, user, org, key) VALUES (?, ?, ?, ?)",
                           .text(row.kind), .optional(row.user), .optional(row.org), .optional(row.key))
    }

    private func insert(into table: String, _ first: String, _ second: String, _ third: String? = nil) throws(StoreError) {
        let statement = try connection.statement(third == nil
            ? "INSERT INTO temp.import_\(table) VALUES (?, ?)"
            : "INSERT INTO temp.import_\(table) VALUES (?, ?, ?)")
        try statement.bind(first, at: 1)
        try statement.bind(second, at: 2)
        if let third { try statement.bind(third, at: 3) }
        _ = try statement.runChangingRow()
    }

    // MARK: - Looking up what is staged

    /// The staged row of a user (new, or an existing one's new profile), or nil.
    func stagedRow(of id: String) throws(StoreError) -> UserRow? {
        for table in ["import_profiles", "import_users"] {
            let statement = try connection.statement(
                """
                SELECT email, username, phone, first_name, last_name, picture, email_verified, phone_verified
                FROM temp.\(table) WHERE id = ?
                """)
            try statement.bind([.text(id)])
            defer { statement.reset() }
            if try statement.step() { return UserRow(statement) }
        }
        return nil
    }

    /// The user whose staged row holds `value` in `column` (`email_lower`, `username`, `phone`).
    func stagedHolder(_ column: String, _ value: String) throws(StoreError) -> String? {
        if let user = try connection.statement("SELECT id FROM temp.import_profiles WHERE \(column) = ?")
            .firstText([.text(value)]) { return user }
        return try connection.statement("SELECT id FROM temp.import_users WHERE \(column) = ?").firstText([.text(value)])
    }

    /// The user a staged identity belongs to, or nil.
    func stagedHolder(of identity: Identity) throws(StoreError) -> String? {
        try connection.statement("SELECT user FROM temp.import_identities WHERE provider = ? AND provider_user_id = ?")
            .firstText([.text(identity.provider), .text(identity.providerUserID)])
    }

    func isStagedMember(user: String, organization: String) throws(StoreError) -> Bool {
        try connection.integer("SELECT 1 FROM temp.import_memberships WHERE user = ? AND org = ?",
                               .text(user), .text(organization)) != nil
    }

    func isStaged(_ grant: MembershipGrant, user: String, organization: String) throws(StoreError) -> Bool {
        try connection.integer(
            "SELECT 1 FROM temp.import_\(grant.table) WHERE user = ? AND org = ? AND \(grant.column) = ?",
            .text(user), .text(organization), .text(grant.key)) != nil
    }

    // MARK: - Merging

    /// Writes everything staged into the database, inside the caller's write transaction, and
    /// (with `logging`) the staged changes into the change log with `revision`.
    ///
    /// Foreign keys must be off (the import checked them against the state it read, which the
    /// caller made sure did not change): with them on, SQLite checks each row again and cannot
    /// copy rows without decoding them.
    func merge(revision: UInt64, at now: Int64, logging: Bool) throws(StoreError) {
        // Updated profiles first, with their unique values cleared and then set: users that
        // swap emails (or hand one to a new user) never hold one value twice on the way.
        try connection.execute(
            """
            UPDATE main.users SET email_lower = NULL, username = NULL, phone = NULL
            WHERE id IN (SELECT id FROM temp.import_profiles);
            """)
        try connection.run(
            """
            UPDATE main.users SET email = p.email, email_lower = p.email_lower, username = p.username, phone = p.phone,
                first_name = p.first_name, last_name = p.last_name, picture = p.picture,
                email_verified = p.email_verified, phone_verified = p.phone_verified, updated_at = ?
            FROM temp.import_profiles AS p WHERE main.users.id = p.id
            """, .integer(now))
        for table in Self.copiedTables {
            try connection.execute("INSERT INTO main.\(table) SELECT * FROM temp.import_\(table)")
        }
        guard logging else { return }
        try connection.run(
            """
            INSERT INTO main.changes (revision, kind, user, org, key)
            SELECT ?, kind, user, org, key FROM temp.import_changes ORDER BY rowid
            """, .integer(Int64(revision)))
    }
}

/// A user's row as an import reads and writes it: the profile and the verified flags.
struct UserRow: Hashable {
    var profile: UserProfile
    var emailVerified: Bool?
    var phoneVerified: Bool?

    init(profile: UserProfile, emailVerified: Bool?, phoneVerified: Bool?) {
        self.profile = profile
        self.emailVerified = emailVerified
        self.phoneVerified = phoneVerified
    }

    /// The row at `statement`'s columns email, username, phone, first_name, last_name,
    /// picture, email_verified, phone_verified.
    init(_ statement: SQLiteStatement) {
        profile = UserProfile(
            email: statement.optionalText(0), username: statement.optionalText(1), phone: statement.optionalText(2),
            firstName: statement.optionalText(3), lastName: statement.optionalText(4), picture: statement.optionalText(5))
        emailVerified = statement.optionalBool(6)
        phoneVerified = statement.optionalBool(7)
    }
}

extension String {
    /// This string with the first occurrence of `target` replaced.
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
