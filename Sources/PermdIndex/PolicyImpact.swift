public import PermdCore

/// One (user, organization, permission) that a policy change grants or revokes, with what
/// grants it on the side where it is held.
public struct GrantChange: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case granted, revoked
    }

    public var kind: Kind
    public var user: String
    public var organization: String
    public var permission: String
    /// The sources in the new policies (granted) or the old ones (revoked).
    public var sources: [GrantSource]
}

/// What moving from one policy set to another changes for the same state.
public enum PolicyImpact {
    /// Every grant that differs between two snapshots of the same state, sorted by user,
    /// organization, permission; memberships present in either snapshot are compared.
    public static func compare(old: IndexSnapshot, new: IndexSnapshot) -> [GrantChange] {
        var memberships: Set<[String]> = []
        old.forEachMembership { memberships.insert([$0, $1]) }
        new.forEachMembership { memberships.insert([$0, $1]) }
        let ordered = memberships.sorted { a, b in
            a[0] != b[0] ? a[0].utf8.lexicographicallyPrecedes(b[0].utf8) : a[1].utf8.lexicographicallyPrecedes(b[1].utf8)
        }
        var changes: [GrantChange] = []
        for pair in ordered {
            let (user, organization) = (pair[0], pair[1])
            let before = Set(old.permissions(user: user, organization: organization))
            let after = Set(new.permissions(user: user, organization: organization))
            let touched = before.symmetricDifference(after).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for permission in touched {
                let granted = after.contains(permission)
                let side = granted ? new : old
                var sources: [GrantSource] = []
                if case .allow(let found) = side.explain(user: user, organization: organization, permission: permission) {
                    sources = found
                }
                changes.append(GrantChange(kind: granted ? .granted : .revoked, user: user,
                                           organization: organization, permission: permission, sources: sources))
            }
        }
        return changes
    }
}
