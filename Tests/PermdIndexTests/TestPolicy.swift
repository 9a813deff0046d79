import PermdCore
import PermdIndex
import PermdPolicy

/// The policy every index test compiles: wildcards, includes, a role granting nothing.
let testPolicy = PolicySet(
    permissions: ["read:invoices", "write:invoices", "refund:payments", "read:reports", "delete:org",
                  "manage:users"].map { PermissionDefinition(key: $0) },
    roles: [
        RoleDefinition(key: "viewer", permissions: ["read:*"], defaultForNewUsers: true),
        RoleDefinition(key: "billing-admin", permissions: ["write:invoices", "refund:payments"], includes: ["viewer"]),
        RoleDefinition(key: "admin", permissions: ["*"]),
        RoleDefinition(key: "support", permissions: ["manage:users"], includes: ["billing-admin"]),
        RoleDefinition(key: "empty"),
    ],
    organizations: [OrganizationDefinition(code: "org_default")],
    settings: PolicySettings(defaultOrganization: "org_default"))

/// A small deterministic generator (SplitMix64), so that random tests replay exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Every answer of `snapshot` about the given names, as one comparable list of lines.
func everyAnswer(_ snapshot: IndexSnapshot, users: [String], organizations: [String],
                 permissions: [String]) -> [String] {
    var lines: [String] = []
    for user in users {
        lines.append("ORGS \(user) \(snapshot.organizations(user: user))")
        for permission in permissions {
            lines.append("ORGS \(user) \(permission) \(snapshot.organizations(user: user, permission: permission))")
        }
        for organization in organizations {
            lines.append("PERMS \(user) \(organization) \(snapshot.permissions(user: user, organization: organization))")
            lines.append("ROLES \(user) \(organization) \(snapshot.roles(user: user, organization: organization))")
            for permission in permissions {
                let explanation = snapshot.explain(user: user, organization: organization, permission: permission)
                lines.append("EXPLAIN \(user) \(organization) \(permission) \(explanation)")
                let viaBytes = checkBytes(snapshot, user, organization, permission)
                lines.append("CHECK \(user) \(organization) \(permission) \(viaBytes)")
            }
        }
    }
    for organization in organizations {
        for permission in permissions {
            let page = snapshot.who(organization: organization, permission: permission, after: nil, limit: 1000)
            lines.append("WHO \(organization) \(permission) \(page.users) \(page.more)")
        }
    }
    let statistics = snapshot.statistics
    lines.append("STATS \(statistics.users) \(statistics.organizations) \(statistics.memberships)")
    return lines
}

/// CHECK through the byte-slice hot path.
func checkBytes(_ snapshot: IndexSnapshot, _ user: String, _ organization: String, _ permission: String) -> Bool {
    Array(user.utf8).withUnsafeBytes { user in
        Array(organization.utf8).withUnsafeBytes { organization in
            Array(permission.utf8).withUnsafeBytes { permission in
                snapshot.check(user: user, organization: organization, permission: permission)
            }
        }
    }
}
