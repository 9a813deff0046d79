import Foundation
import PermdCore
import PermdPolicy

/// The rules of each write (SPEC §1, §5), once for every backend: pure logic over the reads
/// and writes of a `StoreTransaction`. Each call runs inside the store's write transaction,
/// throws `WriteRefusal` to refuse, and records what it changed in `changes`, which the store
/// logs with the write's revision.
struct WriteRules<Transaction: StoreTransaction> {
    let transaction: Transaction
    let policy: PolicySet
    /// The changes made so far (the store empties it before each write).
    var changes: [StateChange] = []

    init(_ transaction: Transaction, policy: PolicySet) {
        self.transaction = transaction
        self.policy = policy
    }

    mutating func apply(_ write: Write) throws -> AppliedWrite {
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

    private mutating func addUser(_ request: NewUser) throws -> String {
        var new = request
        new.profile = new.profile.withoutBlanks()
        if let id = new.id { try WriteCheck.userID(id) }
        try WriteCheck.profile(new.profile)
        let given = uniqued(new.organizations ?? [])
        for code in given { try WriteCheck.id(code, "organization code") }
        for role in new.roles ?? [] { try WriteCheck.key(role, "role") }
        let organizations = given.isEmpty ? [policy.settings.defaultOrganization] : given
        for code in organizations { try requireOrganization(code) }
        for role in new.roles ?? [] { try WriteCheck.role(role, in: policy) }

        if let id = new.id, let stored = try transaction.storedRow(ofUser: id) {
            // Adding what exists is a no-op; adding something else under its id is a conflict.
            let sameProfile = stored.profile.merged(with: new.profile) == stored.profile
            let sameVerification = new.profile.email == nil || new.emailVerified == nil
                || new.emailVerified == stored.emailVerified
            let sameMemberships = try given.allSatisfy { code in
                try transaction.isMember(user: id, organization: code)
                    && (new.roles ?? []).allSatisfy { try transaction.holds(.role($0), user: id, organization: code) }
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

    private mutating func removeUser(_ id: String) throws {
        try WriteCheck.id(id, "user id")
        try requireUser(id)
        try transaction.deleteUser(id)
        changes.append(.userRemoved(user: id))
    }

    /// Inserts a user row unless a user with `id` exists (then it changes nothing and answers
    /// false). Every path that creates a user comes here, so here the rules of a new user
    /// hold: blank profile values are dropped, the id is not reserved, the email is well formed
    /// and stored with its state (`emailVerified` nil: verified, as an operator gives it), and an
    /// email, username or phone another user holds is refused. The unique indexes find that
    /// conflict, so a new user costs no look-up before its insert.
    @discardableResult
    mutating func insertUser(id: String, profile given: UserProfile, emailVerified: Bool?, phoneVerified: Bool?,
                             at now: Int64 = currentMilliseconds()) throws -> Bool {
        try WriteCheck.userID(id)
        let profile = given.withoutBlanks()
        try WriteCheck.profile(profile)
        let emailVerified = profile.email == nil ? nil : emailVerified ?? true
        let row = UserRow(profile: profile, emailVerified: emailVerified, phoneVerified: phoneVerified)
        switch try transaction.insertUser(id, row, at: now) {
        case .inserted:
            changes.append(.userAdded(user: id))
            return true
        case .existed:
            return false
        case .valueTaken:
            // A unique index refused the row: name the value and the user who holds it.
            try refuseValuesHeldByOthers(profile, user: id)
            throw StoreTransactionError.valueTakenByNobody(user: id)
        }
    }

    /// Overwrites the profile fields given (non-blank) when they differ; true when anything changed.
    ///
    /// An email given is stored with `emailVerified`; nil is the operator's default: a new
    /// email is verified, the email the user holds keeps its state. With `neverUnverifying`
    /// (a provider's word at sign-in), the email the user holds stays verified once it is.
    mutating func updateProfile(of id: String, with given: UserProfile, emailVerified: Bool?, phoneVerified: Bool?,
                                neverUnverifying: Bool = false) throws -> Bool {
        let profile = given.withoutBlanks()
        try WriteCheck.profile(profile)
        guard let storedRow = try transaction.storedRow(ofUser: id) else { throw WriteRefusal.unknownUser(id) }
        let stored = storedRow.profile
        let storedEmailVerified = storedRow.emailVerified
        let storedPhoneVerified = storedRow.phoneVerified

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
        try transaction.updateUser(id, UserRow(profile: merged, emailVerified: mergedEmailVerified,
                                               phoneVerified: mergedPhoneVerified), at: currentMilliseconds())
        return true
    }

    /// Takes the email from `user` (who keeps its account and identities): a verified sign-in
    /// claims an address that `user` holds unverified (SPEC §5 step 1).
    mutating func takeEmail(from user: String) throws {
        try transaction.clearEmail(ofUser: user, at: currentMilliseconds())
        changes.append(.profileUpdated(user: user))
    }

    /// Refuses the email, username or phone of `profile` when a user other than `user` holds it.
    func refuseValuesHeldByOthers(_ profile: UserProfile, user: String) throws {
        if let email = profile.email, let owner = try transaction.holder(ofEmail: email)?.user, owner != user {
            throw WriteRefusal.emailTaken(email, owner: owner)
        }
        if let username = profile.username, let owner = try transaction.holder(ofUsername: username), owner != user {
            throw WriteRefusal.usernameTaken(username, owner: owner)
        }
        if let phone = profile.phone, let owner = try transaction.holder(ofPhone: phone), owner != user {
            throw WriteRefusal.phoneTaken(phone, owner: owner)
        }
    }

    /// Links an identity to a user; refuses one another user holds. True when it was new.
    func insertIdentity(_ identity: Identity, user: String) throws -> Bool {
        if let owner = try transaction.holder(of: identity) {
            guard owner == user else {
                throw WriteRefusal(.identityTaken,
                    "identity \(identity.provider) \"\(identity.providerUserID)\" belongs to user \"\(owner)\"")
            }
            return false
        }
        try transaction.insertIdentity(identity, user: user)
        return true
    }

    /// A fresh user id no user has (`randomUserID`).
    func generateUserID() throws -> String {
        while true {
            let id = Self.randomUserID()
            if try !transaction.userExists(id) { return id }
        }
    }

    /// A random user id: `kp_` and 32 hex digits, as Kinde's generated ids look.
    static func randomUserID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return "kp_" + String(high, radix: 16).leftPadded(to: 16) + String(low, radix: 16).leftPadded(to: 16)
    }

    // MARK: - Organizations

    private mutating func addOrganization(_ request: OrganizationRecord) throws {
        var record = request
        record.externalID = ProfileValue.nonBlank(record.externalID)
        if let problem = Identifier.problemWithOrganizationCode(record.code) {
            throw WriteRefusal.invalidValue("organization code", record.code, problem)
        }
        if let externalID = record.externalID, let problem = Identifier.problemWithExternalID(externalID) {
            throw WriteRefusal.invalidValue("external id", externalID, problem)
        }
        if let externalID = record.externalID {
            if let owner = try transaction.organizationCode(withExternalID: externalID, otherThan: record.code) {
                throw WriteRefusal(.externalIDTaken,
                    "external id \"\(externalID)\" belongs to organization \"\(owner)\"")
            }
            if externalID != record.code, try transaction.organization(externalID) != nil {
                throw WriteRefusal(.externalIDIsCode, "external id \"\(externalID)\" of organization "
                    + "\"\(record.code)\" is the code of organization \"\(externalID)\"")
            }
        }
        guard let stored = try transaction.organization(record.code) else {
            if let owner = try transaction.organizationCode(withExternalID: record.code, otherThan: nil) {
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
        try transaction.updateOrganization(updated)
        changes.append(.organizationUpdated(code: record.code))
    }

    mutating func insertOrganization(_ record: OrganizationRecord) throws {
        try transaction.insertOrganization(record)
        changes.append(.organizationAdded(code: record.code))
    }

    private mutating func removeOrganization(_ code: String) throws {
        try WriteCheck.id(code, "organization code")
        try requireOrganization(code)
        if code == policy.settings.defaultOrganization {
            throw WriteRefusal(.protectedOrganization, "organization \"\(code)\" is the default organization")
        }
        if policy.declaredOrganization(code) != nil {
            throw WriteRefusal(.protectedOrganization,
                "organization \"\(code)\" is declared in the policy files; remove it there first")
        }
        try transaction.lockMembers(ofOrganization: code)
        if let stranded = try transaction.memberOnlyIn(code) { throw WriteRefusal.lastOrganization(stranded, code) }
        try transaction.deleteOrganization(code)
        changes.append(.organizationRemoved(code: code))
    }

    /// Creates the declared organizations (and the default one) or updates their name and
    /// external id to follow the files; records the changes. Idempotent: files that match the
    /// database change nothing, so every process opening it may run this.
    mutating func syncDeclaredOrganizations(location: String) throws {
        var declared = policy.organizations.map(\.record)
        let defaultCode = policy.settings.defaultOrganization
        if policy.declaredOrganization(defaultCode) == nil {
            declared.append(OrganizationRecord(code: defaultCode))
        }
        for record in declared {
            try refuseClash(ofDeclared: record, location: location)
            if let stored = try transaction.organization(record.code) {
                if stored != record {
                    try transaction.updateOrganization(record)
                    changes.append(.organizationUpdated(code: record.code))
                }
            } else {
                try insertOrganization(record)
            }
        }
    }

    /// Refuses (kind `.invariantBroken`) a declared organization whose code is a stored
    /// organization's external id, or whose external id is another's code or external id:
    /// imports would send one organization's rows to the other (SPEC §1). The policy
    /// validator checks the declared organizations among themselves.
    private func refuseClash(ofDeclared record: OrganizationRecord, location: String) throws {
        var clash: String?
        if let owner = try transaction.organizationCode(withExternalID: record.code, otherThan: record.code) {
            clash = "its code is the external id of organization \"\(owner)\""
        } else if let externalID = record.externalID, externalID != record.code,
                  try transaction.organization(externalID) != nil {
            clash = "its external id \"\(externalID)\" is the code of organization \"\(externalID)\""
        } else if let externalID = record.externalID,
                  let owner = try transaction.organizationCode(withExternalID: externalID, otherThan: record.code) {
            clash = "its external id \"\(externalID)\" belongs to organization \"\(owner)\""
        }
        guard let clash else { return }
        throw StoreError(.invariantBroken, path: location, message:
            "the policy files declare organization \"\(record.code)\", but \(clash) in the database; an external id "
            + "names one organization and is no other's code. Change the policy files, or change the other "
            + "organization with `permd org add` under the policies it was made with; nothing was changed")
    }

    // MARK: - Memberships and grants

    private mutating func addMember(user: String, organization: String, roles: [String]?) throws {
        try checkSyntax(user: user, organization: organization)
        for role in roles ?? [] { try WriteCheck.key(role, "role") }
        try requireUserAndOrganization(user: user, organization: organization)
        for role in roles ?? [] { try WriteCheck.role(role, in: policy) }
        if try transaction.isMember(user: user, organization: organization) {
            for role in roles ?? [] { try insert(.role(role), user: user, organization: organization) }
        } else {
            try insertMembership(user: user, organization: organization, roles: roles)
        }
    }

    private mutating func removeMember(user: String, organization: String) throws {
        try checkSyntax(user: user, organization: organization)
        try requireUserAndOrganization(user: user, organization: organization)
        try transaction.lockMemberships(ofUser: user)
        guard try transaction.isMember(user: user, organization: organization) else { return }
        if try transaction.membershipCount(ofUser: user) == 1 { throw WriteRefusal.lastOrganization(user, organization) }
        try transaction.deleteMembership(user: user, organization: organization)
        changes.append(.membershipRemoved(user: user, organization: organization))
    }

    /// Adds a membership with `roles`, or the default roles when nil (SPEC §1).
    mutating func insertMembership(user: String, organization: String, roles: [String]?) throws {
        try transaction.insertMembership(user: user, organization: organization)
        changes.append(.membershipAdded(user: user, organization: organization))
        for role in uniqued(roles ?? policy.defaultRoles) {
            try insert(.role(role), user: user, organization: organization)
        }
    }

    /// Assigns a role or grants a permission: needs a membership and a key the policies define.
    private mutating func add(_ grant: MembershipGrant, user: String, organization: String) throws {
        try checkSyntax(user: user, organization: organization, grant: grant)
        try requireMembership(user: user, organization: organization)
        try WriteCheck.defined(grant, in: policy)
        try insert(grant, user: user, organization: organization)
    }

    /// Unassigns a role or revokes a permission; removing what is not held is a no-op.
    private mutating func remove(_ grant: MembershipGrant, user: String, organization: String) throws {
        try checkSyntax(user: user, organization: organization, grant: grant)
        // A grant held implies its membership, user and organization (foreign keys): they
        // are looked up only when nothing was removed, to tell a no-op from NOT_FOUND. A
        // key the policies dropped can still be removed while it is stored.
        if try transaction.delete(grant, user: user, organization: organization) {
            changes.append(grant.removed(user: user, organization: organization))
            return
        }
        try requireUserAndOrganization(user: user, organization: organization)
        try WriteCheck.defined(grant, in: policy)
    }

    mutating func insert(_ grant: MembershipGrant, user: String, organization: String) throws {
        if try transaction.insert(grant, user: user, organization: organization) {
            changes.append(grant.added(user: user, organization: organization))
        }
    }

    // MARK: - Checks that read

    private func checkSyntax(user: String, organization: String, grant: MembershipGrant? = nil) throws {
        try WriteCheck.id(user, "user id")
        try WriteCheck.id(organization, "organization code")
        switch grant {
        case .role(let key): try WriteCheck.key(key, "role")
        case .permission(let key): try WriteCheck.key(key, "permission")
        case nil: break
        }
    }

    func requireUser(_ id: String) throws {
        if try !transaction.userExists(id) { throw WriteRefusal.unknownUser(id) }
    }

    func requireOrganization(_ code: String) throws {
        if try transaction.organization(code) == nil {
            throw WriteRefusal.unknownOrganization(code)
        }
    }

    private func requireUserAndOrganization(user: String, organization: String) throws {
        try requireUser(user)
        try requireOrganization(organization)
    }

    /// Grants need a membership: unknown user or organization is NOT_FOUND, a non-member CONFLICT.
    /// A membership implies its user and organization (foreign keys): they are looked up only
    /// when it is missing, to say which is.
    private func requireMembership(user: String, organization: String) throws {
        if try transaction.isMember(user: user, organization: organization) { return }
        try requireUserAndOrganization(user: user, organization: organization)
        throw WriteRefusal.notMember(user, organization)
    }
}

/// The checks of a write that need no state: identifiers, keys, the email's form, and that a
/// role or permission is one the policies define.
enum WriteCheck {
    static func id(_ text: String, _ what: String) throws {
        if let problem = Identifier.problemWithID(text) {
            throw WriteRefusal.invalidValue(what, text, problem)
        }
    }

    /// The id of a user to create: an identifier, and not one of `WHO`'s markers.
    static func userID(_ text: String) throws {
        if let problem = Identifier.problemWithUserID(text) {
            throw WriteRefusal.invalidValue("user id", text, problem)
        }
    }

    /// The rules of the profile values given (blank ones already dropped): the email's form.
    static func profile(_ profile: UserProfile) throws {
        if let email = profile.email, let problem = EmailAddress.problem(email) {
            throw WriteRefusal.invalidValue("email", email, problem)
        }
    }

    static func key(_ text: String, _ what: String) throws {
        if let problem = Identifier.problemWithKey(text) {
            throw WriteRefusal.invalidValue("\(what) key", text, problem)
        }
    }

    static func role(_ key: String, in policy: PolicySet) throws {
        if policy.role(key) == nil { throw WriteRefusal.unknownRole(key) }
    }

    static func permission(_ key: String, in policy: PolicySet) throws {
        if policy.permission(key) == nil { throw WriteRefusal.unknownPermission(key) }
    }

    static func defined(_ grant: MembershipGrant, in policy: PolicySet) throws {
        switch grant {
        case .role(let key): try role(key, in: policy)
        case .permission(let key): try permission(key, in: policy)
        }
    }
}

/// A backend answered what the rules cannot explain (a unique index refused a user's row, yet
/// nobody else holds its values); the write fails and stores nothing.
enum StoreTransactionError: Error, CustomStringConvertible {
    case valueTakenByNobody(user: String)

    var description: String {
        switch self {
        case .valueTakenByNobody(let user):
            "a unique index refused user \"\(user)\", but no other user holds its email, username or phone"
        }
    }
}

/// What a membership holds: a role or a direct permission, each in its own table.
enum MembershipGrant: Hashable {
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

// The rules of a user's row as an import gives it, as the writes apply them (`insertUser`,
// `updateProfile`): the SQLite import decides rows itself, outside the write lock, and the
// PostgreSQL import in its transaction; both reach the same rows from here.
extension UserRow {
    /// The row a new user gets from what a record gives: an email given is verified unless
    /// the record says otherwise (as an operator's write).
    func importedAsNew() -> UserRow {
        var row = self
        if row.profile.email != nil { row.emailVerified = emailVerified ?? true }
        return row
    }

    /// This stored row after a record gives `given`: the fields given overwrite the stored
    /// ones; a new email is verified unless marked, the email the user holds keeps its state.
    func updated(byImporting given: UserRow) -> UserRow {
        var emailVerified = self.emailVerified
        if let email = given.profile.email {
            emailVerified = email.lowercased() == profile.email?.lowercased()
                ? given.emailVerified ?? self.emailVerified ?? true
                : given.emailVerified ?? true
        }
        return UserRow(profile: profile.merged(with: given.profile), emailVerified: emailVerified,
                       phoneVerified: given.phoneVerified ?? phoneVerified)
    }
}
