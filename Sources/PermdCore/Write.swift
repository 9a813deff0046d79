/// One change requested of the state. Every writer (CLI, import, server) sends these to the
/// store's single write path, which enforces SPEC §1.
public enum Write: Sendable, Hashable {
    case addUser(NewUser)
    case removeUser(String)
    case addOrganization(OrganizationRecord)
    case removeOrganization(String)
    /// `roles` nil: the default roles; an explicit list (even empty) replaces them.
    case addMember(user: String, organization: String, roles: [String]?)
    case removeMember(user: String, organization: String)
    case assignRole(user: String, organization: String, role: String)
    case unassignRole(user: String, organization: String, role: String)
    case grantPermission(user: String, organization: String, permission: String)
    case revokePermission(user: String, organization: String, permission: String)
    case signIn(SignInRequest)
}

/// A user to create (`USER.ADD`, `permd user add`).
public struct NewUser: Sendable, Hashable {
    /// The id; nil generates one.
    public var id: String?
    /// The profile fields given.
    public var profile: UserProfile
    /// Whether the email given is verified; nil is the operator's default, verified (SPEC §1).
    public var emailVerified: Bool?
    /// The organizations to join; nil or empty joins the default organization.
    public var organizations: [String]?
    /// Roles given in each organization joined; nil gives the default roles.
    public var roles: [String]?

    /// - Parameters:
    ///   - id: the user id, or nil to generate one.
    ///   - profile: the profile fields given.
    ///   - emailVerified: whether the email is verified (nil: verified, as an operator gives it).
    ///   - organizations: organization codes to join (nil or empty: the default organization).
    ///   - roles: role keys held in each of them (nil: the default roles).
    public init(id: String? = nil, profile: UserProfile = UserProfile(), emailVerified: Bool? = nil,
                organizations: [String]? = nil, roles: [String]? = nil) {
        self.id = id
        self.profile = profile
        self.emailVerified = emailVerified
        self.organizations = organizations
        self.roles = roles
    }
}

/// What a write did, with the revision that contains it.
public enum WriteOutcome: Sendable, Equatable {
    /// Committed; also the answer to an idempotent no-op (then the current revision).
    case committed(revision: UInt64)
    /// A user was created (or one that exists was given again) under `id`.
    case userAdded(id: String, revision: UInt64)
    /// A sign-in was accepted.
    case signedIn(SignInResult, revision: UInt64)

    /// The revision that contains the write.
    public var revision: UInt64 {
        switch self {
        case .committed(let revision), .userAdded(_, let revision), .signedIn(_, let revision): revision
        }
    }
}
