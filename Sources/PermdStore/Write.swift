public import PermdCore

/// One change requested of the store. Every writer (CLI, import, server) sends these to
/// `SQLiteStore.perform`, the single write path that enforces SPEC §1.
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
    public var profile: UserProfile
    /// The organizations to join; nil or empty joins the default organization.
    public var organizations: [String]?
    /// Roles given in each organization joined; nil gives the default roles.
    public var roles: [String]?

    /// - Parameters:
    ///   - id: the user id, or nil to generate one.
    ///   - profile: the profile fields given.
    ///   - organizations: organization codes to join (nil or empty: the default organization).
    ///   - roles: role keys held in each of them (nil: the default roles).
    public init(id: String? = nil, profile: UserProfile = UserProfile(),
                organizations: [String]? = nil, roles: [String]? = nil) {
        self.id = id
        self.profile = profile
        self.organizations = organizations
        self.roles = roles
    }
}

/// What a write did, with the revision that contains it.
public enum WriteOutcome: Sendable, Equatable {
    /// Committed; also the answer to an idempotent no-op (then the current revision).
    case committed(revision: UInt64)
    case userAdded(id: String, revision: UInt64)
    case signedIn(SignInResult, revision: UInt64)

    /// The revision that contains the write.
    public var revision: UInt64 {
        switch self {
        case .committed(let revision), .userAdded(_, let revision), .signedIn(_, let revision): revision
        }
    }
}

/// The protocol error codes a refused write answers with (SPEC §5).
public enum WriteErrorCode: String, Sendable {
    case notFound = "NOT_FOUND"
    case conflict = "CONFLICT"
    case forbidden = "FORBIDDEN"
    case invalid = "SYNTAX"
}

/// A write the rules refuse; nothing of it was stored.
public struct WriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: WriteErrorCode
    /// What and why, for a person (`unknown role "admn"`).
    public var message: String

    /// - Parameters:
    ///   - code: the protocol error code.
    ///   - message: what was refused and why.
    public init(code: WriteErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    /// The protocol's reply: `ERR NOT_FOUND unknown user "bob"`.
    public var description: String { "ERR \(code.rawValue) \(message)" }

    static func unknownUser(_ id: String) -> WriteError {
        WriteError(code: .notFound, message: "unknown user \"\(id)\"")
    }

    static func unknownOrganization(_ code: String) -> WriteError {
        WriteError(code: .notFound, message: "unknown organization \"\(code)\"")
    }

    static func unknownRole(_ key: String) -> WriteError {
        WriteError(code: .notFound, message: "unknown role \"\(key)\"")
    }

    static func unknownPermission(_ key: String) -> WriteError {
        WriteError(code: .notFound, message: "unknown permission \"\(key)\"")
    }

    static func notMember(_ user: String, _ organization: String) -> WriteError {
        WriteError(code: .conflict, message: "user \"\(user)\" is not a member of organization \"\(organization)\"")
    }

    static func lastOrganization(_ user: String, _ organization: String) -> WriteError {
        WriteError(code: .conflict, message:
            "user \"\(user)\" would be left without an organization (\"\(organization)\" is its only one)")
    }
}
