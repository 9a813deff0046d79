public import PermdCore

/// A user record as imports produce it and exports write it: the profile fields the
/// source gave, identities and memberships. Shared by every import format and by export.
public struct UserRecord: Sendable, Hashable {
    /// The user's id; nil when the source gave none (import generates one, or merges by email).
    public var id: String?
    /// Profile fields; a nil field is "not given" (import leaves the stored value alone).
    public var profile: UserProfile
    public var emailVerified: Bool?
    public var phoneVerified: Bool?
    public var identities: [Identity]
    public var memberships: [MembershipRecord]
    /// The 1-based line where the record starts in its source file (0 when not from a file).
    public var line: Int

    /// - Parameters: the record's fields; see each property.
    public init(id: String?, profile: UserProfile = UserProfile(), emailVerified: Bool? = nil,
                phoneVerified: Bool? = nil, identities: [Identity] = [], memberships: [MembershipRecord] = [],
                line: Int = 0) {
        self.id = id
        self.profile = profile
        self.emailVerified = emailVerified
        self.phoneVerified = phoneVerified
        self.identities = identities
        self.memberships = memberships
        self.line = line
    }
}

/// A membership with the roles and direct permissions held in it.
public struct MembershipRecord: Sendable, Hashable {
    /// The organization's code (imports resolve external ids to codes before the store sees them).
    public var organization: String
    /// The roles given; nil means "none given": a new membership then gets the default roles.
    public var roles: [String]?
    public var permissions: [String]

    /// - Parameters:
    ///   - organization: the organization code.
    ///   - roles: the roles, or nil for the default roles on a new membership.
    ///   - permissions: the direct permissions.
    public init(organization: String, roles: [String]?, permissions: [String] = []) {
        self.organization = organization
        self.roles = roles
        self.permissions = permissions
    }
}

/// What an import changed (or, in a dry run, would change).
public struct ImportSummary: Sendable, Hashable, CustomStringConvertible {
    public var usersCreated = 0
    public var usersUpdated = 0
    public var usersUnchanged = 0
    public var membershipsAdded = 0
    public var rolesAdded = 0
    public var permissionsAdded = 0
    /// The revision after the import (unchanged by a dry run or an import that changed nothing).
    public var revision: UInt64 = 0

    public init() {}

    public var description: String {
        "users: \(usersCreated) created, \(usersUpdated) updated, \(usersUnchanged) unchanged; "
            + "memberships added: \(membershipsAdded); roles added: \(rolesAdded); "
            + "permissions added: \(permissionsAdded); revision \(revision)"
    }
}
