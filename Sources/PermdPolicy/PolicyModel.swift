public import PermdCore

/// Where a definition came from: the file and the JSON pointer of its object.
public struct SourceLocation: Sendable, Hashable {
    public var file: String
    public var pointer: String

    /// - Parameters:
    ///   - file: the policy file's path.
    ///   - pointer: the JSON pointer of the definition inside that file.
    public init(file: String, pointer: String) {
        self.file = file
        self.pointer = pointer
    }
}

/// A permission key defined once at business level (`read:invoices`).
public struct PermissionDefinition: Sendable, Hashable {
    public var key: String
    public var name: String?
    public var description: String?
    public var source: SourceLocation

    /// - Parameters:
    ///   - key: the permission key.
    ///   - name: a display name.
    ///   - description: what the permission allows.
    ///   - source: where it was defined.
    public init(key: String, name: String? = nil, description: String? = nil,
                source: SourceLocation = SourceLocation(file: "", pointer: "")) {
        self.key = key
        self.name = name
        self.description = description
        self.source = source
    }
}

/// A named set of permissions, possibly including other roles.
public struct RoleDefinition: Sendable, Hashable {
    public var key: String
    public var name: String?
    public var description: String?
    /// Permission keys, `*`, or prefix wildcards ending in `*`, as written.
    public var permissions: [String]
    /// Keys of the roles whose permissions this role adds.
    public var includes: [String]
    /// Whether new memberships get this role when no roles are given.
    public var defaultForNewUsers: Bool
    public var source: SourceLocation

    /// - Parameters:
    ///   - key: the role key.
    ///   - name: a display name.
    ///   - description: what the role is for.
    ///   - permissions: permission keys and wildcards, as written.
    ///   - includes: keys of included roles.
    ///   - defaultForNewUsers: whether new memberships get it by default.
    ///   - source: where it was defined.
    public init(key: String, name: String? = nil, description: String? = nil,
                permissions: [String] = [], includes: [String] = [], defaultForNewUsers: Bool = false,
                source: SourceLocation = SourceLocation(file: "", pointer: "")) {
        self.key = key
        self.name = name
        self.description = description
        self.permissions = permissions
        self.includes = includes
        self.defaultForNewUsers = defaultForNewUsers
        self.source = source
    }
}

/// An organization declared in the policy files: it always exists while the server runs.
public struct OrganizationDefinition: Sendable, Hashable {
    public var code: String
    public var name: String?
    public var externalID: String?
    public var source: SourceLocation

    /// - Parameters:
    ///   - code: the organization code.
    ///   - name: its display name.
    ///   - externalID: its id in another system.
    ///   - source: where it was declared.
    public init(code: String, name: String? = nil, externalID: String? = nil,
                source: SourceLocation = SourceLocation(file: "", pointer: "")) {
        self.code = code
        self.name = name
        self.externalID = externalID
        self.source = source
    }

    /// The organization as the database stores it.
    public var record: OrganizationRecord {
        OrganizationRecord(code: code, name: name, externalID: externalID)
    }
}

/// The `settings` section (SPEC §2).
public struct PolicySettings: Sendable, Hashable {
    public var defaultOrganization: String
    public var allowSelfSignup: Bool
    public var syncProfileOnSignIn: Bool

    /// - Parameters:
    ///   - defaultOrganization: the code of the default organization.
    ///   - allowSelfSignup: whether unknown users may sign up (default true).
    ///   - syncProfileOnSignIn: whether sign-in overwrites profile fields (default true).
    public init(defaultOrganization: String, allowSelfSignup: Bool = true, syncProfileOnSignIn: Bool = true) {
        self.defaultOrganization = defaultOrganization
        self.allowSelfSignup = allowSelfSignup
        self.syncProfileOnSignIn = syncProfileOnSignIn
    }
}

/// A validated policy set: the merged sections of every policy file, with each role
/// flattened into the plain set of permission keys it grants.
public struct PolicySet: Sendable {
    /// Permissions sorted by key.
    public let permissions: [PermissionDefinition]
    /// Roles sorted by key.
    public let roles: [RoleDefinition]
    /// Declared organizations sorted by code.
    public let organizations: [OrganizationDefinition]
    public let settings: PolicySettings
    /// Role key → the permission keys it grants after includes and wildcards, sorted.
    public let grantsByRole: [String: [String]]
    /// The `PolicyDigest` of the files this set was loaded from; nil for a set built in code.
    public internal(set) var digest: String?

    private let permissionIndex: [String: Int]
    private let roleIndex: [String: Int]
    private let organizationIndex: [String: Int]

    /// Builds a policy set from definitions; roles are flattened here.
    ///
    /// The definitions are assumed valid (unique keys, known references, no cycles):
    /// `PolicyLoader` checks that first. Unknown references are skipped and cycles are
    /// cut, so that even an invalid set never traps.
    public init(permissions: [PermissionDefinition], roles: [RoleDefinition],
                organizations: [OrganizationDefinition], settings: PolicySettings) {
        self.permissions = permissions.sorted { $0.key < $1.key }
        self.roles = roles.sorted { $0.key < $1.key }
        self.organizations = organizations.sorted { $0.code < $1.code }
        self.settings = settings
        self.permissionIndex = Dictionary(self.permissions.enumerated().map { ($1.key, $0) }) { a, _ in a }
        self.roleIndex = Dictionary(self.roles.enumerated().map { ($1.key, $0) }) { a, _ in a }
        self.organizationIndex = Dictionary(self.organizations.enumerated().map { ($1.code, $0) }) { a, _ in a }
        let keys = self.permissions.map(\.key)
        self.grantsByRole = RoleFlattener.flatten(roles: self.roles, permissionKeys: keys)
    }

    /// The permission defined with `key`.
    public func permission(_ key: String) -> PermissionDefinition? {
        permissionIndex[key].map { permissions[$0] }
    }

    /// The role defined with `key`.
    public func role(_ key: String) -> RoleDefinition? {
        roleIndex[key].map { roles[$0] }
    }

    /// The organization declared with `code`.
    public func declaredOrganization(_ code: String) -> OrganizationDefinition? {
        organizationIndex[code].map { organizations[$0] }
    }

    /// Keys of the roles new memberships get when none are given, sorted.
    public var defaultRoles: [String] {
        roles.filter(\.defaultForNewUsers).map(\.key)
    }
}
