import PermdCore

/// The `StoreTransaction` of a PostgreSQL store: the SQL of each read and write the rules
/// make, inside the store's READ COMMITTED transaction, every statement prepared once per
/// connection.
///
/// READ COMMITTED: each statement sees what was committed before it started, so the checks
/// see other replicas' writes; what a check depends on is held still by a row lock
/// (`lock…`, `FOR UPDATE`) or by a unique or foreign key, which makes a racing write wait
/// and then fail (the store runs the write again, and its checks then refuse it as if the
/// other had come first).
struct PostgresTransaction: StoreTransaction {
    let connection: PostgresConnection

    /// Runs `sql` (prepared on first use) with `parameters`.
    @discardableResult
    func run(_ sql: String, _ parameters: PostgresValue...) throws(PostgresError) -> PostgresResult {
        try connection.query(connection.prepare(sql), parameters: parameters)
    }

    /// The first column of the first row as text, or nil.
    private func firstText(_ sql: String, _ parameters: PostgresValue...) throws(PostgresError) -> String? {
        let result = try connection.query(connection.prepare(sql), parameters: parameters)
        return result.isEmpty ? nil : result[0].text(0)
    }

    // MARK: Reads

    func userExists(_ id: String) throws(PostgresError) -> Bool {
        try firstText("SELECT 1 FROM permd.users WHERE id = $1", .text(id)) != nil
    }

    func lockMemberships(ofUser user: String) throws(PostgresError) {
        try run("SELECT 1 FROM permd.users WHERE id = $1 FOR UPDATE", .text(user))
    }

    func lockMembers(ofOrganization organization: String) throws(PostgresError) {
        try run("""
            SELECT 1 FROM permd.users WHERE id IN (SELECT user_id FROM permd.memberships WHERE org = $1)
            ORDER BY id FOR UPDATE
            """, .text(organization))
    }

    func storedRow(ofUser id: String) throws(PostgresError) -> UserRow? {
        let result = try run("SELECT \(UserRow.columns) FROM permd.users WHERE id = $1", .text(id))
        return result.isEmpty ? nil : UserRow(result[0])
    }

    func holder(ofEmail email: String) throws(PostgresError) -> (user: String, verified: Bool)? {
        let result = try run("SELECT id, email_verified FROM permd.users WHERE email_lower = $1", .text(email.lowercased()))
        guard let row = result.first, let id = row.text(0) else { return nil }
        return (id, row.boolean(1) ?? true)
    }

    func holder(ofUsername username: String) throws(PostgresError) -> String? {
        try firstText("SELECT id FROM permd.users WHERE username = $1", .text(username))
    }

    func holder(ofPhone phone: String) throws(PostgresError) -> String? {
        try firstText("SELECT id FROM permd.users WHERE phone = $1", .text(phone))
    }

    func holder(of identity: Identity) throws(PostgresError) -> String? {
        try firstText("SELECT user_id FROM permd.identities WHERE provider = $1 AND provider_user_id = $2",
                      .text(identity.provider), .text(identity.providerUserID))
    }

    func organization(_ code: String) throws(PostgresError) -> OrganizationRecord? {
        let result = try run("SELECT code, name, external_id FROM permd.organizations WHERE code = $1", .text(code))
        guard let row = result.first, let code = row.text(0) else { return nil }
        return OrganizationRecord(code: code, name: row.text(1), externalID: row.text(2))
    }

    func organizationCode(withExternalID externalID: String, otherThan code: String?) throws(PostgresError) -> String? {
        guard let code else {
            return try firstText("SELECT code FROM permd.organizations WHERE external_id = $1", .text(externalID))
        }
        return try firstText("SELECT code FROM permd.organizations WHERE external_id = $1 AND code <> $2",
                             .text(externalID), .text(code))
    }

    func memberOnlyIn(_ organization: String) throws(PostgresError) -> String? {
        try firstText("""
            SELECT m.user_id FROM permd.memberships m WHERE m.org = $1
            AND NOT EXISTS (SELECT 1 FROM permd.memberships o WHERE o.user_id = m.user_id AND o.org <> m.org) LIMIT 1
            """, .text(organization))
    }

    func isMember(user: String, organization: String) throws(PostgresError) -> Bool {
        try firstText("SELECT 1 FROM permd.memberships WHERE user_id = $1 AND org = $2",
                      .text(user), .text(organization)) != nil
    }

    func membershipCount(ofUser user: String) throws(PostgresError) -> Int {
        Int(try firstText("SELECT count(*) FROM permd.memberships WHERE user_id = $1", .text(user)) ?? "0") ?? 0
    }

    func organizationCodes(ofUser user: String) throws(PostgresError) -> [String] {
        try run("SELECT org FROM permd.memberships WHERE user_id = $1 ORDER BY org", .text(user)).compactMap { $0.text(0) }
    }

    func holds(_ grant: MembershipGrant, user: String, organization: String) throws(PostgresError) -> Bool {
        try firstText("SELECT 1 FROM permd.\(grant.table) WHERE user_id = $1 AND org = $2 AND \(grant.column) = $3",
                      .text(user), .text(organization), .text(grant.key)) != nil
    }

    // MARK: Writes

    /// `ON CONFLICT DO NOTHING` covers the id and every unique value: a racing insert of the
    /// same email waits for the other transaction and then inserts nothing, so the row is
    /// refused without an error that would abort the transaction.
    func insertUser(_ id: String, _ row: UserRow, at now: Int64) throws(PostgresError) -> UserInsert {
        let profile = row.profile
        let result = try run(
            """
            INSERT INTO permd.users (id, email, email_lower, username, phone, first_name, last_name, picture,
                                     email_verified, phone_verified, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT DO NOTHING
            """,
            .text(id), .optional(profile.email), .optional(profile.email?.lowercased()),
            .optional(profile.username), .optional(profile.phone), .optional(profile.firstName),
            .optional(profile.lastName), .optional(profile.picture), .optional(row.emailVerified),
            .optional(row.phoneVerified), .integer(now))
        if result.affectedRows > 0 { return .inserted }
        return try userExists(id) ? .existed : .valueTaken
    }

    func updateUser(_ id: String, _ row: UserRow, at now: Int64) throws(PostgresError) {
        let profile = row.profile
        try run(
            """
            UPDATE permd.users SET email = $1, email_lower = $2, username = $3, phone = $4, first_name = $5,
                                   last_name = $6, picture = $7, email_verified = $8, phone_verified = $9, updated_at = $10
            WHERE id = $11
            """,
            .optional(profile.email), .optional(profile.email?.lowercased()), .optional(profile.username),
            .optional(profile.phone), .optional(profile.firstName), .optional(profile.lastName),
            .optional(profile.picture), .optional(row.emailVerified), .optional(row.phoneVerified),
            .integer(now), .text(id))
    }

    func clearEmail(ofUser id: String, at now: Int64) throws(PostgresError) {
        try run("UPDATE permd.users SET email = NULL, email_lower = NULL, email_verified = NULL, updated_at = $1 WHERE id = $2",
                .integer(now), .text(id))
    }

    func markSignedIn(_ id: String, at now: Int64) throws(PostgresError) {
        try run("UPDATE permd.users SET last_signed_in_at = $1 WHERE id = $2", .integer(now), .text(id))
    }

    func deleteUser(_ id: String) throws(PostgresError) {
        try run("DELETE FROM permd.users WHERE id = $1", .text(id))
    }

    func insertIdentity(_ identity: Identity, user: String) throws(PostgresError) {
        try run("INSERT INTO permd.identities (provider, provider_user_id, user_id) VALUES ($1, $2, $3)",
                .text(identity.provider), .text(identity.providerUserID), .text(user))
    }

    func insertOrganization(_ record: OrganizationRecord) throws(PostgresError) {
        try run("INSERT INTO permd.organizations (code, name, external_id) VALUES ($1, $2, $3)",
                .text(record.code), .optional(record.name), .optional(record.externalID))
    }

    func updateOrganization(_ record: OrganizationRecord) throws(PostgresError) {
        try run("UPDATE permd.organizations SET name = $1, external_id = $2 WHERE code = $3",
                .optional(record.name), .optional(record.externalID), .text(record.code))
    }

    func deleteOrganization(_ code: String) throws(PostgresError) {
        try run("DELETE FROM permd.organizations WHERE code = $1", .text(code))
    }

    func insertMembership(user: String, organization: String) throws(PostgresError) {
        try run("INSERT INTO permd.memberships (user_id, org) VALUES ($1, $2)", .text(user), .text(organization))
    }

    func deleteMembership(user: String, organization: String) throws(PostgresError) {
        try run("DELETE FROM permd.memberships WHERE user_id = $1 AND org = $2", .text(user), .text(organization))
    }

    func insert(_ grant: MembershipGrant, user: String, organization: String) throws(PostgresError) -> Bool {
        try run("INSERT INTO permd.\(grant.table) (user_id, org, \(grant.column)) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                .text(user), .text(organization), .text(grant.key)).affectedRows > 0
    }

    func delete(_ grant: MembershipGrant, user: String, organization: String) throws(PostgresError) -> Bool {
        try run("DELETE FROM permd.\(grant.table) WHERE user_id = $1 AND org = $2 AND \(grant.column) = $3",
                .text(user), .text(organization), .text(grant.key)).affectedRows > 0
    }
}

extension UserRow {
    /// The row at a result's `columns`.
    init(_ row: PostgresRow) {
        profile = UserProfile(email: row.text(0), username: row.text(1), phone: row.text(2),
                              firstName: row.text(3), lastName: row.text(4), picture: row.text(5))
        emailVerified = row.boolean(6)
        phoneVerified = row.boolean(7)
    }
}
