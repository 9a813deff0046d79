import PermdCore

/// The `StoreTransaction` of an SQLite store: the SQL of each read and write the rules make,
/// inside the store's `BEGIN IMMEDIATE` transaction. That transaction holds the database's
/// write lock, so nothing another connection commits can change what a check read: the
/// `lock…` calls have nothing to do.
struct SQLiteTransaction: StoreTransaction {
    let connection: SQLiteConnection

    // MARK: Reads

    func userExists(_ id: String) throws -> Bool {
        try connection.integer("SELECT 1 FROM users WHERE id = ?", .text(id)) != nil
    }

    func lockMemberships(ofUser user: String) throws {}

    func lockMembers(ofOrganization organization: String) throws {}

    func storedRow(ofUser id: String) throws -> UserRow? {
        let statement = try connection.statement(
            "SELECT email, username, phone, first_name, last_name, picture, email_verified, phone_verified FROM users WHERE id = ?")
        try statement.bind([.text(id)])
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return UserRow(statement)
    }

    func holder(ofEmail email: String) throws -> (user: String, verified: Bool)? {
        let statement = try connection.statement("SELECT id, email_verified FROM users WHERE email_lower = ?")
        try statement.bind([.text(email.lowercased())])
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return (statement.text(0), statement.optionalBool(1) ?? true)
    }

    func holder(ofUsername username: String) throws -> String? {
        try connection.statement("SELECT id FROM users WHERE username = ?").firstText([.text(username)])
    }

    func holder(ofPhone phone: String) throws -> String? {
        try connection.statement("SELECT id FROM users WHERE phone = ?").firstText([.text(phone)])
    }

    func holder(of identity: Identity) throws -> String? {
        try connection.statement("SELECT user FROM identities WHERE provider = ? AND provider_user_id = ?")
            .firstText([.text(identity.provider), .text(identity.providerUserID)])
    }

    func organization(_ code: String) throws(StoreError) -> OrganizationRecord? {
        let statement = try connection.statement("SELECT code, name, external_id FROM organizations WHERE code = ?")
        try statement.bind([.text(code)])
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return OrganizationRecord(code: statement.text(0), name: statement.optionalText(1),
                                  externalID: statement.optionalText(2))
    }

    func organizationCode(withExternalID externalID: String, otherThan code: String?) throws -> String? {
        guard let code else {
            return try connection.statement("SELECT code FROM organizations WHERE external_id = ?").firstText([.text(externalID)])
        }
        return try connection.statement("SELECT code FROM organizations WHERE external_id = ? AND code <> ?")
            .firstText([.text(externalID), .text(code)])
    }

    func memberOnlyIn(_ organization: String) throws -> String? {
        try connection.statement(
            """
            SELECT m.user FROM memberships m WHERE m.org = ?
            AND NOT EXISTS (SELECT 1 FROM memberships o WHERE o.user = m.user AND o.org <> m.org) LIMIT 1
            """).firstText([.text(organization)])
    }

    func isMember(user: String, organization: String) throws -> Bool {
        try connection.integer("SELECT 1 FROM memberships WHERE user = ? AND org = ?",
                               .text(user), .text(organization)) != nil
    }

    func membershipCount(ofUser user: String) throws -> Int {
        Int(try connection.integer("SELECT count(*) FROM memberships WHERE user = ?", .text(user)) ?? 0)
    }

    func organizationCodes(ofUser user: String) throws -> [String] {
        let statement = try connection.statement("SELECT org FROM memberships WHERE user = ? ORDER BY org")
        try statement.bind([.text(user)])
        defer { statement.reset() }
        var codes: [String] = []
        while try statement.step() { codes.append(statement.text(0)) }
        return codes
    }

    func holds(_ grant: MembershipGrant, user: String, organization: String) throws -> Bool {
        try connection.integer("SELECT 1 FROM \(grant.table) WHERE user = ? AND org = ? AND \(grant.column) = ?",
                               .text(user), .text(organization), .text(grant.key)) != nil
    }

    // MARK: Writes

    func insertUser(_ id: String, _ row: UserRow, at now: Int64) throws -> UserInsert {
        let profile = row.profile
        do {
            try connection.run(
                """
                INSERT INTO users (id, email, email_lower, username, phone, first_name, last_name, picture,
                                   email_verified, phone_verified, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                """,
                .text(id), .optional(profile.email), .optional(profile.email?.lowercased()),
                .optional(profile.username), .optional(profile.phone), .optional(profile.firstName),
                .optional(profile.lastName), .optional(profile.picture), .optional(row.emailVerified),
                .optional(row.phoneVerified), .integer(now), .integer(now))
        } catch {
            guard error.kind == .sqlite(code: SQLiteConnection.uniqueConstraintFailed) else { throw error }
            return .valueTaken
        }
        return connection.changes > 0 ? .inserted : .existed
    }

    func updateUser(_ id: String, _ row: UserRow, at now: Int64) throws {
        let profile = row.profile
        try connection.run(
            """
            UPDATE users SET email = ?, email_lower = ?, username = ?, phone = ?, first_name = ?, last_name = ?,
                             picture = ?, email_verified = ?, phone_verified = ?, updated_at = ?
            WHERE id = ?
            """,
            .optional(profile.email), .optional(profile.email?.lowercased()), .optional(profile.username),
            .optional(profile.phone), .optional(profile.firstName), .optional(profile.lastName),
            .optional(profile.picture), .optional(row.emailVerified), .optional(row.phoneVerified),
            .integer(now), .text(id))
    }

    func clearEmail(ofUser id: String, at now: Int64) throws {
        try connection.run(
            "UPDATE users SET email = NULL, email_lower = NULL, email_verified = NULL, updated_at = ? WHERE id = ?",
            .integer(now), .text(id))
    }

    func markSignedIn(_ id: String, at now: Int64) throws {
        try connection.run("UPDATE users SET last_signed_in_at = ? WHERE id = ?", .integer(now), .text(id))
    }

    func deleteUser(_ id: String) throws {
        try connection.run("DELETE FROM users WHERE id = ?", .text(id))
    }

    func insertIdentity(_ identity: Identity, user: String) throws {
        try connection.run("INSERT INTO identities (provider, provider_user_id, user) VALUES (?, ?, ?)",
                           .text(identity.provider), .text(identity.providerUserID), .text(user))
    }

    func insertOrganization(_ record: OrganizationRecord) throws {
        try connection.run("INSERT INTO organizations (code, name, external_id) VALUES (?, ?, ?)",
                           .text(record.code), .optional(record.name), .optional(record.externalID))
    }

    func updateOrganization(_ record: OrganizationRecord) throws {
        try connection.run("UPDATE organizations SET name = ?, external_id = ? WHERE code = ?",
                           .optional(record.name), .optional(record.externalID), .text(record.code))
    }

    func deleteOrganization(_ code: String) throws {
        try connection.run("DELETE FROM organizations WHERE code = ?", .text(code))
    }

    func insertMembership(user: String, organization: String) throws {
        try connection.run("INSERT INTO memberships (user, org) VALUES (?, ?)", .text(user), .text(organization))
    }

    func deleteMembership(user: String, organization: String) throws {
        try connection.run("DELETE FROM memberships WHERE user = ? AND org = ?", .text(user), .text(organization))
    }

    func insert(_ grant: MembershipGrant, user: String, organization: String) throws -> Bool {
        try connection.run("INSERT OR IGNORE INTO \(grant.table) (user, org, \(grant.column)) VALUES (?, ?, ?)",
                           .text(user), .text(organization), .text(grant.key))
        return connection.changes > 0
    }

    func delete(_ grant: MembershipGrant, user: String, organization: String) throws -> Bool {
        try connection.run("DELETE FROM \(grant.table) WHERE user = ? AND org = ? AND \(grant.column) = ?",
                           .text(user), .text(organization), .text(grant.key))
        return connection.changes > 0
    }
}
