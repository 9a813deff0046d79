import PermdCore

/// A plain model of SPEC §1 over dictionaries and sets, with no index: the third opinion
/// the differential target holds the incremental index and the full build to.
///
/// Roles are flattened here from the definitions themselves (includes followed, `*` and
/// `prefix*` matched against the defined keys), not taken from `PolicySet.grantsByRole`,
/// so that a fault in the flattener shows as a difference too.
struct Reference {
    struct Role {
        var patterns: [String]
        var includes: [String]
        var isDefault: Bool
    }

    struct Membership {
        var roles: Set<String> = []
        var permissions: Set<String> = []
    }

    struct Pair: Hashable {
        var user: String
        var organization: String
    }

    let permissionKeys: Set<String>
    let roles: [String: Role]
    let declared: Set<String>
    let defaultOrganization: String
    /// Role key → every permission key it grants.
    let grants: [String: Set<String>]

    var users: Set<String> = []
    var organizations: Set<String>
    var memberships: [Pair: Membership] = [:]

    init(permissionKeys: [String], roles: [String: Role], declared: [String], defaultOrganization: String) {
        self.permissionKeys = Set(permissionKeys)
        self.roles = roles
        self.declared = Set(declared)
        self.defaultOrganization = defaultOrganization
        organizations = Set(declared)
        var grants: [String: Set<String>] = [:]
        func flatten(_ key: String, visiting: Set<String>) -> Set<String> {
            if let done = grants[key] { return done }
            guard let role = roles[key], !visiting.contains(key) else { return [] }
            var granted: Set<String> = []
            for pattern in role.patterns {
                if pattern == "*" {
                    granted.formUnion(permissionKeys)
                } else if pattern.hasSuffix("*") {
                    let prefix = String(pattern.dropLast())
                    granted.formUnion(permissionKeys.filter { $0.hasPrefix(prefix) })
                } else if permissionKeys.contains(pattern) {
                    granted.insert(pattern)
                }
            }
            for included in role.includes { granted.formUnion(flatten(included, visiting: visiting.union([key]))) }
            grants[key] = granted
            return granted
        }
        for key in roles.keys { _ = flatten(key, visiting: []) }
        self.grants = grants
    }

    var defaultRoles: [String] { roles.filter(\.value.isDefault).map(\.key).sorted() }

    // MARK: Applying the change log (unknown names are ignored, removals cascade).

    mutating func apply(_ change: StateChange) {
        switch change {
        case .userAdded(let user): users.insert(user)
        case .userRemoved(let user):
            users.remove(user)
            memberships = memberships.filter { $0.key.user != user }
        case .organizationAdded(let code): organizations.insert(code)
        case .organizationRemoved(let code):
            guard !declared.contains(code) else { return }
            organizations.remove(code)
            memberships = memberships.filter { $0.key.organization != code }
        case .profileUpdated, .organizationUpdated, .policyReloaded: break
        case .membershipAdded(let user, let organization):
            guard users.contains(user), organizations.contains(organization) else { return }
            let pair = Pair(user: user, organization: organization)
            if memberships[pair] == nil { memberships[pair] = Membership() }
        case .membershipRemoved(let user, let organization):
            memberships[Pair(user: user, organization: organization)] = nil
        case .roleAssigned(let user, let organization, let role):
            guard roles[role] != nil else { return }
            memberships[Pair(user: user, organization: organization)]?.roles.insert(role)
        case .roleUnassigned(let user, let organization, let role):
            memberships[Pair(user: user, organization: organization)]?.roles.remove(role)
        case .permissionGranted(let user, let organization, let permission):
            guard permissionKeys.contains(permission) else { return }
            memberships[Pair(user: user, organization: organization)]?.permissions.insert(permission)
        case .permissionRevoked(let user, let organization, let permission):
            memberships[Pair(user: user, organization: organization)]?.permissions.remove(permission)
        }
    }

    // MARK: Answers

    func effective(_ membership: Membership) -> Set<String> {
        membership.roles.reduce(into: membership.permissions) { $0.formUnion(grants[$1] ?? []) }
    }

    func explain(user: String, organization: String, permission: String) -> Explanation {
        guard users.contains(user) else { return .deny(.unknownUser) }
        guard organizations.contains(organization) else { return .deny(.unknownOrganization) }
        guard let membership = memberships[Pair(user: user, organization: organization)] else {
            return .deny(.notMember)
        }
        guard permissionKeys.contains(permission) else { return .deny(.unknownPermission) }
        var sources: [GrantSource] = sortedBytes(membership.roles.filter { grants[$0]?.contains(permission) ?? false })
            .map { .role($0) }
        if membership.permissions.contains(permission) { sources.append(.direct) }
        return sources.isEmpty ? .deny(.notGranted) : .allow(sources)
    }

    func permissions(user: String, organization: String) -> [String] {
        memberships[Pair(user: user, organization: organization)].map { sortedBytes(effective($0)) } ?? []
    }

    func roles(user: String, organization: String) -> [String] {
        sortedBytes(memberships[Pair(user: user, organization: organization)]?.roles ?? [])
    }

    /// The list answers over every membership at once (ORGS and WHO), computed in one pass so
    /// that comparing every answer stays quick.
    struct Lists {
        var organizations: [String: [String]] = [:]
        var organizationsHolding: [String: [String: [String]]] = [:]
        var holders: [String: [String: [String]]] = [:]
    }

    func lists() -> Lists {
        var lists = Lists()
        for (pair, membership) in memberships {
            lists.organizations[pair.user, default: []].append(pair.organization)
            for permission in effective(membership) {
                lists.organizationsHolding[pair.user, default: [:]][permission, default: []].append(pair.organization)
                lists.holders[pair.organization, default: [:]][permission, default: []].append(pair.user)
            }
        }
        return lists
    }
}

/// Sorted by UTF-8 bytes, the order every list answer of SPEC §5 uses.
func sortedBytes(_ names: some Sequence<String>) -> [String] {
    names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
}
