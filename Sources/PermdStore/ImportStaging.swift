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
        try Self.create(connection)
        func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement { try connection.statement(sql) }
        insertUser = try prepare("""
            INSERT INTO temp.import_users (id, email, email_lower, username, phone, first_name, last_name, picture,
                                           email_verified, phone_verified, created_at, updated_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
            """)
        updateUser = try prepare("""
            UPDATE temp.import_users SET email = ?2, email_lower = ?3, username = ?4, phone = ?5, first_name = ?6,
                last_name = ?7, picture = ?8, email_verified = ?9, phone_verified = ?10 WHERE id = ?1
            """)
        insertProfile = try prepare("""
            INSERT OR REPLACE INTO temp.import_profiles (id, email, email_lower, username, phone, first_name, last_name,
                                                         picture, email_verified, phone_verified)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            """)
        insertIdentity = try prepare("INSERT INTO temp.import_identities VALUES (?, ?, ?)")
        insertMembership = try prepare("INSERT INTO temp.import_memberships VALUES (?, ?)")
        insertRole = try prepare("INSERT INTO temp.import_role_assignments VALUES (?, ?, ?)")
        insertGrant = try prepare("INSERT INTO temp.import_direct_grants VALUES (?, ?, ?)")
        insertChange = try prepare("INSERT INTO temp.import_changes (kind, user, org, key) VALUES (?, ?, ?, ?)")
        profileRow = try prepare("SELECT \(UserRow.columns) FROM temp.import_profiles WHERE id = ?")
        newUserRow = try prepare("SELECT \(UserRow.columns) FROM temp.import_users WHERE id = ?")
        identityHolder = try prepare("SELECT user FROM temp.import_identities WHERE provider = ? AND provider_user_id = ?")
        member = try prepare("SELECT 1 FROM temp.import_memberships WHERE user = ? AND org = ?")
        role = try prepare("SELECT 1 FROM temp.import_role_assignments WHERE user = ? AND org = ? AND role = ?")
        grant = try prepare("SELECT 1 FROM temp.import_direct_grants WHERE user = ? AND org = ? AND permission = ?")
        var holders: [String: (profiles: SQLiteStatement, users: SQLiteStatement)] = [:]
        for column in ["email_lower", "username", "phone"] {
            holders[column] = (try prepare("SELECT id FROM temp.import_profiles WHERE \(column) = ?"),
                               try prepare("SELECT id FROM temp.import_users WHERE \(column) = ?"))
        }
        self.holders = holders
    }

    /// Creates the tables: copies of the target tables, the staged profiles and changes.
    private static func create(_ connection: SQLiteConnection) throws(StoreError) {
        try Self.drop(connection)
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
            CREATE INDEX temp.import_profiles_by_email ON import_profiles (email_lower) WHERE email_lower IS NOT NULL;
            CREATE INDEX temp.import_profiles_by_username ON import_profiles (username) WHERE username IS NOT NULL;
            CREATE INDEX temp.import_profiles_by_phone ON import_profiles (phone) WHERE phone IS NOT NULL;
            """)
    }

    /// Removes the staging tables.
    func drop() throws(StoreError) {
        try Self.drop(connection)
    }

    private static func drop(_ connection: SQLiteConnection) throws(StoreError) {
        for table in copiedTables + ["profiles", "changes"] {
            try connection.execute("DROP TABLE IF EXISTS temp.import_\(table)")
        }
    }

    // MARK: - Staging

    // The statements an import runs per record, prepared once (looking them up by their text
    // would hash it for each of millions of rows).
    private let insertUser, updateUser, insertProfile, insertIdentity, insertMembership, insertRole, insertGrant,
                insertChange, profileRow, newUserRow, identityHolder, member, role, grant: SQLiteStatement
    /// By column (`email_lower`, `username`, `phone`): who holds a value in the staged profiles and new users.
    private let holders: [String: (profiles: SQLiteStatement, users: SQLiteStatement)]
    /// Whether a profile of an existing user is staged (until one is, nobody is looked up there).
    private var stagedProfiles = false

    /// Stages a new user's row.
    func stageNewUser(_ id: String, _ row: UserRow, at now: Int64) throws(StoreError) {
        let statement = insertUser
        try row.bind(to: statement, id: id)
        try statement.bind(now, at: 11)
        _ = try statement.runChangingRow()
    }

    /// Replaces the staged row of a new user (a later record of the same user changed it).
    func restageNewUser(_ id: String, _ row: UserRow) throws(StoreError) {
        let statement = updateUser
        try row.bind(to: statement, id: id)
        _ = try statement.runChangingRow()
    }

    /// Stages (or replaces) the new profile of an existing user.
    func stageProfile(_ id: String, _ row: UserRow) throws(StoreError) {
        let statement = insertProfile
        try row.bind(to: statement, id: id)
        _ = try statement.runChangingRow()
        stagedProfiles = true
    }

    func stageIdentity(_ identity: Identity, user: String) throws(StoreError) {
        try run(insertIdentity, identity.provider, identity.providerUserID, user)
    }

    func stageMembership(user: String, organization: String) throws(StoreError) {
        try run(insertMembership, user, organization)
    }

    func stage(_ grant: MembershipGrant, user: String, organization: String) throws(StoreError) {
        switch grant {
        case .role(let key): try run(insertRole, user, organization, key)
        case .permission(let key): try run(insertGrant, user, organization, key)
        }
    }

    /// Stages one change for the change log (in order: the log keeps the order of the writes).
    func stageChange(_ change: StateChange) throws(StoreError) {
        let row = ChangeLogRow.encode(change)
        let statement = insertChange
        try statement.bind(row.kind, at: 1)
        try statement.bind(row.user, at: 2)
        try statement.bind(row.org, at: 3)
        try statement.bind(row.key, at: 4)
        _ = try statement.runChangingRow()
    }

    private func run(_ statement: SQLiteStatement, _ texts: String...) throws(StoreError) {
        for (offset, text) in texts.enumerated() { try statement.bind(text, at: Int32(offset + 1)) }
        _ = try statement.runChangingRow()
    }

    // MARK: - Looking up what is staged

    /// The staged row of a user (an existing one's new profile, or a new user's), or nil.
    func stagedRow(of id: String) throws(StoreError) -> UserRow? {
        for statement in stagedProfiles ? [profileRow, newUserRow] : [newUserRow] {
            defer { statement.reset() }
            if try statement.find(id) { return UserRow(statement) }
        }
        return nil
    }

    /// The user whose staged row holds `value` in `column` (`email_lower`, `username`, `phone`).
    func stagedHolder(_ column: String, _ value: String) throws(StoreError) -> String? {
        guard let statements = holders[column] else { return nil }
        if stagedProfiles, let user = try statements.profiles.firstText(value) { return user }
        return try statements.users.firstText(value)
    }

    /// The user a staged identity belongs to, or nil.
    func stagedHolder(of identity: Identity) throws(StoreError) -> String? {
        try identityHolder.firstText(identity.provider, identity.providerUserID)
    }

    /// Whether a new user with `id` is staged.
    func isStagedUser(_ id: String) throws(StoreError) -> Bool {
        defer { newUserRow.reset() }
        return try newUserRow.find(id)
    }

    /// Whether a membership in organization `code` is staged.
    func hasStagedMembers(in code: String) throws(StoreError) -> Bool {
        try connection.integer("SELECT EXISTS (SELECT 1 FROM temp.import_memberships WHERE org = ?)", .text(code)) == 1
    }

    func isStagedMember(user: String, organization: String) throws(StoreError) -> Bool {
        try member.firstText(user, organization) != nil
    }

    func isStaged(_ held: MembershipGrant, user: String, organization: String) throws(StoreError) -> Bool {
        switch held {
        case .role(let key): try role.firstText(user, organization, key) != nil
        case .permission(let key): try grant.firstText(user, organization, key) != nil
        }
    }

    // MARK: - Merging

    /// Writes everything staged into the database, inside the caller's write transaction, and
    /// the staged changes into the change log with `revision` (whose start the caller recorded).
    ///
    /// Foreign keys must be off (the import checked them against the state it read, which the
    /// caller made sure did not change): with them on, SQLite checks each row again and cannot
    /// copy rows without decoding them.
    func merge(revision: UInt64, at now: Int64) throws(StoreError) {
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
            // Into an empty table SQLite copies the staged b-trees whole (the plain `SELECT *` it
            // needs for that); into a filled one the users go in id order, as the other staging
            // tables, keyed by their primary key, already give their rows.
            var ordered = false
            if table == "users" { ordered = try connection.integer("SELECT EXISTS (SELECT 1 FROM main.users)") == 1 }
            try connection.execute("INSERT INTO main.\(table) SELECT * FROM temp.import_\(table)"
                + (ordered ? " ORDER BY id" : ""))
        }
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

    /// The columns `init(_:)` reads, in order.
    static let columns = "email, username, phone, first_name, last_name, picture, email_verified, phone_verified"

    /// The row at `statement`'s `columns`.
    init(_ statement: SQLiteStatement) {
        profile = UserProfile(
            email: statement.optionalText(0), username: statement.optionalText(1), phone: statement.optionalText(2),
            firstName: statement.optionalText(3), lastName: statement.optionalText(4), picture: statement.optionalText(5))
        emailVerified = statement.optionalBool(6)
        phoneVerified = statement.optionalBool(7)
    }

    /// Binds `id` and the row to parameters 1 to 10: id, email, email_lower, username, phone,
    /// first_name, last_name, picture, email_verified, phone_verified. The lowercased email is
    /// Swift's, as the writes store it (SQLite's `lower` folds ASCII only).
    func bind(to statement: SQLiteStatement, id: String) throws(StoreError) {
        try statement.bind(id, at: 1)
        try statement.bind(profile.email, at: 2)
        try statement.bind(profile.email?.lowercased(), at: 3)
        try statement.bind(profile.username, at: 4)
        try statement.bind(profile.phone, at: 5)
        try statement.bind(profile.firstName, at: 6)
        try statement.bind(profile.lastName, at: 7)
        try statement.bind(profile.picture, at: 8)
        try statement.bind(emailVerified, at: 9)
        try statement.bind(phoneVerified, at: 10)
    }
}

extension String {
    /// This string with the first occurrence of `target` replaced.
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
