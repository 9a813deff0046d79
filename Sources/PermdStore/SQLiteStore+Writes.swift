import Foundation
import PermdCore
import PermdPolicy

/// The rules of each write (SPEC §1, §5). Every function here runs inside the write
/// transaction, throws `WriteRefusal` to refuse, and records what it changed in `pendingChanges`.
extension SQLiteStore {
    func apply(_ write: Write) throws -> AppliedWrite {
        switch write {
        case .addUser(let user):
            return .userAdded(try addUser(user))
        case .removeUser(let id):
            try removeUser(id)
        case .addOrganization(let record):
            try addOrganization(record)
        case .removeOrganization(let code):
            try removeOrganization(code)
        case .addMember(let user, let organization, let roles):
            try addMember(user: user, organization: organization, roles: roles)
        case .removeMember(let user, let organization):
            try removeMember(user: user, organization: organization)
        case .assignRole(let user, let organization, let role):
            try add(.role(role), user: user, organization: organization)
        case .unassignRole(let user, let organization, let role):
            try remove(.role(role), user: user, organization: organization)
        case .grantPermission(let user, let organization, let permission):
            try add(.permission(permission), user: user, organization: organization)
        case .revokePermission(let user, let organization, let permission):
            try remove(.permission(permission), user: user, organization: organization)
        case .signIn(let request):
            return .signedIn(try signIn(request))
        }
        return .done
    }

    // MARK: - Users

    private func addUser(_ request: NewUser) throws -> String {
        var new = request
        new.profile = new.profile.withoutBlanks()
        if let id = new.id { try checkUserID(id) }
        try checkProfile(new.profile)
        let given = uniqued(new.organizations ?? [])
        for code in given { try checkID(code, "organization code") }
        for role in new.roles ?? [] { try checkKey(role, "role") }
        let organizations = given.isEmpty ? [policy.settings.defaultOrganization] : given
        for code in organizations { try requireOrganization(code) }
        for role in new.roles ?? [] { try requireRole(role) }

        if let id = new.id, let stored = try user(id) {
            // Adding what exists is a no-op; adding something else under its id is a conflict.
            let held = Dictionary(uniqueKeysWithValues: stored.memberships.map { ($0.organization, $0.roles ?? []) })
            let sameProfile = stored.profile.merged(with: new.profile) == stored.profile
            let sameVerification = new.profile.email == nil || new.emailVerified == nil
                || new.emailVerified == stored.emailVerified
            let sameMemberships = given.allSatisfy { code in
                held[code].map { roles in (new.roles ?? []).allSatisfy(roles.contains) } ?? false
            }
            guard sameProfile, sameVerification, sameMemberships else {
                throw WriteRefusal(.userExists, "user \"\(id)\" already exists")
            }
            return id
        }
        let id = try new.id ?? generateUserID()
        try insertUser(id: id, profile: new.profile, emailVerified: new.emailVerified, phoneVerified: nil)
        for code in organizations {
            try insertMembership(user: id, organization: code, roles: new.roles)
        }
        return id
    }

    private func removeUser(_ id: String) throws {
        try checkID(id, "user id")
        try requireUser(id)
        try connection.run("DELETE FROM users WHERE id = ?", .text(id))
        pendingChanges.append(.userRemoved(user: id))
    }

    /// Inserts a user row unless a user with `id` exists (then it changes nothing and answers
    /// false). Every path that creates a user comes here, so here the rules of a new user
    /// hold: blank profile values are dropped, the id is not reserved, the email is well formed
    /// and stored with its state (`emailVerified` nil: verified, as an operator gives it), and an
    /// email, username or phone another user holds is refused. The unique indexes find that
    /// conflict, so a new user costs no look-up before its insert.
    @discardableResult
    func insertUser(id: String, profile given: UserProfile, emailVerified: Bool?, phoneVerified: Bool?,
                    at now: Int64 = currentMilliseconds()) throws -> Bool {
        try checkUserID(id)
        let profile = given.withoutBlanks()
        try checkProfile(profile)
        let emailVerified = profile.email == nil ? nil : emailVerified ?? true
        do {
            try connection.run(
                """
                INSERT INTO users (id, email, email_lower, username, phone, first_name, last_name, picture,
                                   email_verified, phone_verified, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                """,
                .text(id), .optional(profile.email), .optional(profile.email?.lowercased()),
                .optional(profile.username), .optional(profile.phone), .optional(profile.firstName),
                .optional(profile.lastName), .optional(profile.picture), .optional(emailVerified),
                .optional(phoneVerified), .integer(now), .integer(now))
        } catch {
            // A unique index refused the row: name the value and the user who holds it.
            guard error.kind == .sqlite(code: SQLiteConnection.uniqueConstraintFailed) else { throw error }
            try refuseValuesHeldByOthers(profile, user: id)
            throw error
        }
        guard connection.changes > 0 else { return false }
        pendingChanges.append(.userAdded(user: id))
        return true
    }

    /// Overwrites the profile fields given (non-blank) when they differ; true when anything changed.
    ///
    /// An email given is stored with `emailVerified`; nil is the operator's default: a new
    /// email is verified, the email the user holds keeps its state. With `neverUnverifying`
    /// (a provider's word at sign-in), the email the user holds stays verified once it is.
    func updateProfile(of id: String, with given: UserProfile, emailVerified: Bool?, phoneVerified: Bool?,
                       neverUnverifying: Bool = false) throws -> Bool {
        let profile = given.withoutBlanks()
        try checkProfile(profile)
        let statement = try connection.statement(
            "SELECT email, username, phone, first_name, last_name, picture, email_verified, phone_verified FROM users WHERE id = ?")
        try statement.bind([.text(id)])
        guard try statement.step() else { throw WriteRefusal.unknownUser(id) }
        let stored = UserProfile(
            email: statement.optionalText(0), username: statement.optionalText(1), phone: statement.optionalText(2),
            firstName: statement.optionalText(3), lastName: statement.optionalText(4), picture: statement.optionalText(5))
        let storedEmailVerified = statement.optionalBool(6)
        let storedPhoneVerified = statement.optionalBool(7)
        statement.reset()

        let merged = stored.merged(with: profile)
        var mergedEmailVerified = storedEmailVerified
        if let email = profile.email {
            if email.lowercased() == stored.email?.lowercased() {
                mergedEmailVerified = neverUnverifying && storedEmailVerified == true
                    ? true : emailVerified ?? storedEmailVerified ?? true
            } else {
                mergedEmailVerified = emailVerified ?? true
            }
        }
        let mergedPhoneVerified = phoneVerified ?? storedPhoneVerified
        guard merged != stored || mergedEmailVerified != storedEmailVerified
            || mergedPhoneVerified != storedPhoneVerified else { return false }
        try refuseValuesHeldByOthers(merged, user: id)
        try connection.run(
            """
            UPDATE users SET email = ?, email_lower = ?, username = ?, phone = ?, first_name = ?, last_name = ?,
                             picture = ?, email_verified = ?, phone_verified = ?, updated_at = ?
            WHERE id = ?
            """,
            .optional(merged.email), .optional(merged.email?.lowercased()), .optional(merged.username),
            .optional(merged.phone), .optional(merged.firstName), .optional(merged.lastName),
            .optional(merged.picture), .optional(mergedEmailVerified), .optional(mergedPhoneVerified),
            .integer(currentMilliseconds()), .text(id))
        return true
    }

    /// Takes the email from `user` (who keeps its account and identities): a verified sign-in
    /// claims an address that `user` holds unverified (SPEC §5 step 1).
    func takeEmail(from user: String) throws {
        try connection.run(
            "UPDATE users SET email = NULL, email_lower = NULL, email_verified = NULL, updated_at = ? WHERE id = ?",
            .integer(currentMilliseconds()), .text(user))
        pendingChanges.append(.profileUpdated(user: user))
    }

    /// Refuses the email, username or phone of `profile` when a user other than `user` holds it.
    private func refuseValuesHeldByOthers(_ profile: UserProfile, user: String) throws {
        if let email = profile.email, let owner = try userID(byEmail: email), owner != user {
            throw WriteRefusal.emailTaken(email, owner: owner)
        }
        if let username = profile.username, let owner = try userID(byUsername: username), owner != user {
            throw WriteRefusal.usernameTaken(username, owner: owner)
        }
        if let phone = profile.phone, let owner = try userID(byPhone: phone), owner != user {
            throw WriteRefusal.phoneTaken(phone, owner: owner)
        }
    }

    /// Links an identity to a user; refuses one another user holds. True when it was new.
    func insertIdentity(_ identity: Identity, user: String) throws -> Bool {
        if let owner = try userID(byIdentity: identity) {
            guard owner == user else {
                throw WriteRefusal(.identityTaken,
                    "identity \(identity.provider) \"\(identity.providerUserID)\" belongs to user \"\(owner)\"")
            }
            return false
        }
        try connection.run("INSERT INTO identities (provider, provider_user_id, user) VALUES (?, ?, ?)",
                           .text(identity.provider), .text(identity.providerUserID), .text(user))
        return true
    }

    /// A fresh user id: `kp_` and 32 hex digits, as Kinde's generated ids look.
    func generateUserID() throws -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            let high = generator.next() as UInt64
            let low = generator.next() as UInt64
            let hex = String(high, radix: 16).leftPadded(to: 16) + String(low, radix: 16).leftPadded(to: 16)
            let id = "kp_" + hex
            if try !userExists(id) { return id }
        }
    }

    // MARK: - Organizations

    private func addOrganization(_ request: OrganizationRecord) throws {
        var record = request
        record.externalID = ProfileValue.nonBlank(record.externalID)
        if let problem = Identifier.problemWithOrganizationCode(record.code) {
            throw WriteRefusal.invalidValue("organization code", record.code, problem)
        }
        if let externalID = record.externalID, let problem = Identifier.problemWithExternalID(externalID) {
            throw WriteRefusal.invalidValue("external id", externalID, problem)
        }
        if let externalID = record.externalID {
            if let owner = try connection.statement("SELECT code FROM organizations WHERE external_id = ? AND code <> ?")
                .firstText([.text(externalID), .text(record.code)]) {
                throw WriteRefusal(.externalIDTaken,
                    "external id \"\(externalID)\" belongs to organization \"\(owner)\"")
            }
            if externalID != record.code, try organization(externalID) != nil {
                throw WriteRefusal(.externalIDIsCode, "external id \"\(externalID)\" of organization "
                    + "\"\(record.code)\" is the code of organization \"\(externalID)\"")
            }
        }
        guard let stored = try organization(record.code) else {
            if let owner = try connection.statement("SELECT code FROM organizations WHERE external_id = ?")
                .firstText([.text(record.code)]) {
                throw WriteRefusal(.externalIDIsCode, "organization code \"\(record.code)\" is the external id of "
                    + "organization \"\(owner)\"")
            }
            try insertOrganization(record)
            return
        }
        let updated = OrganizationRecord(code: record.code, name: record.name ?? stored.name,
                                         externalID: record.externalID ?? stored.externalID)
        guard updated != stored else { return }
        if policy.declaredOrganization(record.code) != nil {
            throw WriteRefusal(.protectedOrganization,
                "organization \"\(record.code)\" is declared in the policy files; change its name and external id there")
        }
        try connection.run("UPDATE organizations SET name = ?, external_id = ? WHERE code = ?",
                           .optional(updated.name), .optional(updated.externalID), .text(record.code))
        pendingChanges.append(.organizationUpdated(code: record.code))
    }

    func insertOrganization(_ record: OrganizationRecord) throws {
        try connection.run("INSERT INTO organizations (code, name, external_id) VALUES (?, ?, ?)",
                           .text(record.code), .optional(record.name), .optional(record.externalID))
        pendingChanges.append(.organizationAdded(code: record.code))
    }

    private func removeOrganization(_ code: String) throws {
        try checkID(code, "organization code")
        try requireOrganization(code)
        if code == policy.settings.defaultOrganization {
            throw WriteRefusal(.protectedOrganization, "organization \"\(code)\" is the default organization")
        }
        if policy.declaredOrganization(code) != nil {
            throw WriteRefusal(.protectedOrganization,
                "organization \"\(code)\" is declared in the policy files; remove it there first")
        }
        let stranded = try connection.statement(
            """
            SELECT m.user FROM memberships m WHERE m.org = ?
            AND NOT EXISTS (SELECT 1 FROM memberships o WHERE o.user = m.user AND o.org <> m.org) LIMIT 1
            """).firstText([.text(code)])
        if let stranded { throw WriteRefusal.lastOrganization(stranded, code) }
        try connection.run("DELETE FROM organizations WHERE code = ?", .text(code))
        pendingChanges.append(.organizationRemoved(code: code))
    }

    // MARK: - Memberships and grants

    private func addMember(user: String, organization: String, roles: [String]?) throws {
        try checkSyntax(user: user, organization: organization)
        for role in roles ?? [] { try checkKey(role, "role") }
        try requireUserAndOrganization(user: user, organization: organization)
        for role in roles ?? [] { try requireRole(role) }
        if try isMember(user: user, organization: organization) {
            for role in roles ?? [] { try insertRole(user: user, organization: organization, role: role) }
        } else {
            try insertMembership(user: user, organization: organization, roles: roles)
        }
    }

    private func removeMember(user: String, organization: String) throws {
        try checkSyntax(user: user, organization: organization)
        try requireUserAndOrganization(user: user, organization: organization)
        guard try isMember(user: user, organization: organization) else { return }
        if try membershipCount(user) == 1 { throw WriteRefusal.lastOrganization(user, organization) }
        try connection.run("DELETE FROM memberships WHERE user = ? AND org = ?", .text(user), .text(organization))
        pendingChanges.append(.membershipRemoved(user: user, organization: organization))
    }

    /// Adds a membership with `roles`, or the default roles when nil (SPEC §1).
    func insertMembership(user: String, organization: String, roles: [String]?) throws {
        try connection.run("INSERT INTO memberships (user, org) VALUES (?, ?)", .text(user), .text(organization))
        pendingChanges.append(.membershipAdded(user: user, organization: organization))
        for role in uniqued(roles ?? policy.defaultRoles) {
            try insertRole(user: user, organization: organization, role: role)
        }
    }

    func insertRole(user: String, organization: String, role: String) throws {
        try insert(.role(role), user: user, organization: organization)
    }

    func insertGrant(user: String, organization: String, permission: String) throws {
        try insert(.permission(permission), user: user, organization: organization)
    }

    /// Assigns a role or grants a permission: needs a membership and a key the policies define.
    private func add(_ grant: MembershipGrant, user: String, organization: String) throws {
        try checkSyntax(user: user, organization: organization, grant: grant)
        try requireMembership(user: user, organization: organization)
        try requireDefined(grant)
        try insert(grant, user: user, organization: organization)
    }

    /// Unassigns a role or revokes a permission; removing what is not held is a no-op.
    private func remove(_ grant: MembershipGrant, user: String, organization: String) throws {
        try checkSyntax(user: user, organization: organization, grant: grant)
        try requireUserAndOrganization(user: user, organization: organization)
        try connection.run("DELETE FROM \(grant.table) WHERE user = ? AND org = ? AND \(grant.column) = ?",
                           .text(user), .text(organization), .text(grant.key))
        if connection.changes > 0 {
            pendingChanges.append(grant.removed(user: user, organization: organization))
        } else {
            // A key the policies dropped can still be removed while it is stored.
            try requireDefined(grant)
        }
    }

    private func insert(_ grant: MembershipGrant, user: String, organization: String) throws {
        try connection.run("INSERT OR IGNORE INTO \(grant.table) (user, org, \(grant.column)) VALUES (?, ?, ?)",
                           .text(user), .text(organization), .text(grant.key))
        if connection.changes > 0 {
            pendingChanges.append(grant.added(user: user, organization: organization))
        }
    }

    private func requireDefined(_ grant: MembershipGrant) throws {
        switch grant {
        case .role(let key): try requireRole(key)
        case .permission(let key): try requirePermission(key)
        }
    }

    // MARK: - Checks

    func checkID(_ text: String, _ what: String) throws {
        if let problem = Identifier.problemWithID(text) {
            throw WriteRefusal.invalidValue(what, text, problem)
        }
    }

    /// The id of a user to create: an identifier, and not one of `WHO`'s markers.
    func checkUserID(_ text: String) throws {
        if let problem = Identifier.problemWithUserID(text) {
            throw WriteRefusal.invalidValue("user id", text, problem)
        }
    }

    /// The rules of the profile values given (blank ones already dropped): the email's form.
    func checkProfile(_ profile: UserProfile) throws {
        if let email = profile.email, let problem = EmailAddress.problem(email) {
            throw WriteRefusal.invalidValue("email", email, problem)
        }
    }

    func checkKey(_ text: String, _ what: String) throws {
        if let problem = Identifier.problemWithKey(text) {
            throw WriteRefusal.invalidValue("\(what) key", text, problem)
        }
    }

    private func checkSyntax(user: String, organization: String, grant: MembershipGrant? = nil) throws {
        try checkID(user, "user id")
        try checkID(organization, "organization code")
        switch grant {
        case .role(let key): try checkKey(key, "role")
        case .permission(let key): try checkKey(key, "permission")
        case nil: break
        }
    }

    func requireUser(_ id: String) throws {
        if try !userExists(id) { throw WriteRefusal.unknownUser(id) }
    }

    func requireOrganization(_ code: String) throws {
        if try connection.integer("SELECT 1 FROM organizations WHERE code = ?", .text(code)) == nil {
            throw WriteRefusal.unknownOrganization(code)
        }
    }

    func requireRole(_ key: String) throws {
        if policy.role(key) == nil { throw WriteRefusal.unknownRole(key) }
    }

    func requirePermission(_ key: String) throws {
        if policy.permission(key) == nil { throw WriteRefusal.unknownPermission(key) }
    }

    private func requireUserAndOrganization(user: String, organization: String) throws {
        try requireUser(user)
        try requireOrganization(organization)
    }

    /// Grants need a membership: unknown user or organization is NOT_FOUND, a non-member CONFLICT.
    private func requireMembership(user: String, organization: String) throws {
        try requireUserAndOrganization(user: user, organization: organization)
        if try !isMember(user: user, organization: organization) {
            throw WriteRefusal.notMember(user, organization)
        }
    }

    // MARK: - Lookups inside a write

    func userExists(_ id: String) throws(StoreError) -> Bool {
        try connection.integer("SELECT 1 FROM users WHERE id = ?", .text(id)) != nil
    }

    func isMember(user: String, organization: String) throws(StoreError) -> Bool {
        try connection.integer("SELECT 1 FROM memberships WHERE user = ? AND org = ?",
                               .text(user), .text(organization)) != nil
    }

    func membershipCount(_ user: String) throws(StoreError) -> Int {
        Int(try connection.integer("SELECT count(*) FROM memberships WHERE user = ?", .text(user)) ?? 0)
    }

    func userID(byEmail email: String) throws(StoreError) -> String? {
        try connection.statement("SELECT id FROM users WHERE email_lower = ?").firstText([.text(email.lowercased())])
    }

    func userID(byUsername username: String) throws(StoreError) -> String? {
        try connection.statement("SELECT id FROM users WHERE username = ?").firstText([.text(username)])
    }

    func userID(byPhone phone: String) throws(StoreError) -> String? {
        try connection.statement("SELECT id FROM users WHERE phone = ?").firstText([.text(phone)])
    }

    func userID(byIdentity identity: Identity) throws(StoreError) -> String? {
        try connection.statement("SELECT user FROM identities WHERE provider = ? AND provider_user_id = ?")
            .firstText([.text(identity.provider), .text(identity.providerUserID)])
    }
}

/// What a membership holds: a role or a direct permission, each in its own table.
enum MembershipGrant {
    case role(String)
    case permission(String)

    var key: String {
        switch self {
        case .role(let key), .permission(let key): key
        }
    }

    var table: String {
        switch self {
        case .role: "role_assignments"
        case .permission: "direct_grants"
        }
    }

    var column: String {
        switch self {
        case .role: "role"
        case .permission: "permission"
        }
    }

    func added(user: String, organization: String) -> StateChange {
        switch self {
        case .role(let key): .roleAssigned(user: user, organization: organization, role: key)
        case .permission(let key): .permissionGranted(user: user, organization: organization, permission: key)
        }
    }

    func removed(user: String, organization: String) -> StateChange {
        switch self {
        case .role(let key): .roleUnassigned(user: user, organization: organization, role: key)
        case .permission(let key): .permissionRevoked(user: user, organization: organization, permission: key)
        }
    }
}

extension SQLiteStatement {
    /// Binds `values`, and returns the first column of the first row as text (nil when no row).
    func firstText(_ values: [SQLiteValue]) throws(StoreError) -> String? {
        try bind(values)
        defer { reset() }
        return try step() ? optionalText(0) : nil
    }
}

extension UserProfile {
    /// This profile with every field `other` gives (non-nil) overwriting this one's.
    func merged(with other: UserProfile) -> UserProfile {
        UserProfile(email: other.email ?? email, username: other.username ?? username,
                    phone: other.phone ?? phone, firstName: other.firstName ?? firstName,
                    lastName: other.lastName ?? lastName, picture: other.picture ?? picture)
    }
}

/// The time now in Unix milliseconds, as the schema stores times.
func currentMilliseconds() -> Int64 {
    Int64(Date().timeIntervalSince1970 * 1000)
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// The elements of `items` without repeats, in first-seen order.
func uniqued(_ items: [String]) -> [String] {
    var seen = Set<String>()
    return items.filter { seen.insert($0).inserted }
}
