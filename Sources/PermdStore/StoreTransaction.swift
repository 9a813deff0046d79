import PermdCore

/// The reads and writes the write rules (`WriteRules`) need, in the domain's words: one
/// implementation per backend (`SQLiteTransaction`, `PostgresTransaction`) holds only SQL, so
/// that every rule of SPEC §1 and §5 exists once and the contract suite checks it on each.
///
/// Every call runs inside the backend's open write transaction. Errors are the backend's
/// (`StoreError`, `PostgresError`); a value another user holds comes back as a domain answer
/// (`UserInsert.valueTaken`), never as an SQL error. Writes log nothing: the rules record
/// their changes and the store logs them with the revision it hands out.
protocol StoreTransaction {
    // MARK: Reads

    /// Whether user `id` exists.
    func userExists(_ id: String) throws -> Bool

    /// Holds `user`'s memberships still until the transaction ends, so that a check on them
    /// (the last organization) stays true until the write commits. SQLite's write lock holds
    /// everything already; PostgreSQL locks the user's row (`FOR UPDATE`).
    func lockMemberships(ofUser user: String) throws

    /// Holds the memberships of every member of `organization` still (the members' rows
    /// locked in id order on PostgreSQL, so that two removals cannot deadlock in a cycle).
    func lockMembers(ofOrganization organization: String) throws

    /// The stored profile and its verification flags, or nil for an unknown user.
    func storedRow(ofUser id: String) throws -> UserRow?

    /// The user holding `email` (compared case-insensitively) and whether they hold it
    /// verified (an email stored without its state was an operator's: verified).
    func holder(ofEmail email: String) throws -> (user: String, verified: Bool)?

    /// The user holding `username`.
    func holder(ofUsername username: String) throws -> String?

    /// The user holding `phone`.
    func holder(ofPhone phone: String) throws -> String?

    /// The user holding `identity`.
    func holder(of identity: Identity) throws -> String?

    /// The organization with `code`, or nil.
    func organization(_ code: String) throws -> OrganizationRecord?

    /// The code of the organization, other than `code` (any when nil), whose external id is `externalID`.
    func organizationCode(withExternalID externalID: String, otherThan code: String?) throws -> String?

    /// A member of `organization` who belongs to no other organization, or nil.
    func memberOnlyIn(_ organization: String) throws -> String?

    /// Whether `user` is a member of `organization`.
    func isMember(user: String, organization: String) throws -> Bool

    /// How many organizations `user` belongs to.
    func membershipCount(ofUser user: String) throws -> Int

    /// The codes of the organizations `user` belongs to, sorted.
    func organizationCodes(ofUser user: String) throws -> [String]

    /// Whether `user` holds `grant` in `organization`.
    func holds(_ grant: MembershipGrant, user: String, organization: String) throws -> Bool

    // MARK: Writes

    /// Inserts a user's row created and updated at `now` (milliseconds).
    func insertUser(_ id: String, _ row: UserRow, at now: Int64) throws -> UserInsert

    /// Overwrites a user's profile and flags, updated at `now`.
    func updateUser(_ id: String, _ row: UserRow, at now: Int64) throws

    /// Clears a user's email and its state, updated at `now`.
    func clearEmail(ofUser id: String, at now: Int64) throws

    /// Records when a user last signed in.
    func markSignedIn(_ id: String, at now: Int64) throws

    /// Deletes a user with everything that hangs on it.
    func deleteUser(_ id: String) throws

    /// Links `identity` to `user` (the rules checked that nobody holds it).
    func insertIdentity(_ identity: Identity, user: String) throws

    func insertOrganization(_ record: OrganizationRecord) throws

    /// Sets the name and external id of the organization with `record.code`.
    func updateOrganization(_ record: OrganizationRecord) throws

    /// Deletes an organization with its memberships.
    func deleteOrganization(_ code: String) throws

    func insertMembership(user: String, organization: String) throws

    /// Deletes a membership with its roles and grants.
    func deleteMembership(user: String, organization: String) throws

    /// Adds `grant` unless held; true when it was added.
    func insert(_ grant: MembershipGrant, user: String, organization: String) throws -> Bool

    /// Removes `grant` when held; true when it was removed.
    func delete(_ grant: MembershipGrant, user: String, organization: String) throws -> Bool
}

/// What inserting a user's row did.
enum UserInsert: Equatable {
    case inserted
    /// A user with that id exists; nothing was written.
    case existed
    /// Another user holds the email, username or phone; nothing was written.
    case valueTaken
}
