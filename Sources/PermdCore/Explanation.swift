/// What grants a permission: a held role (after includes and wildcards) or a direct grant.
public enum GrantSource: Sendable, Hashable {
    /// The held role with this key grants it.
    case role(String)
    /// The membership holds it directly.
    case direct
}

/// Why a check is denied (SPEC §5 EXPLAIN). When several apply, the first in this order
/// is given: unknown user, unknown organization, not a member, unknown permission, not granted.
public enum DenyReason: Sendable, Hashable, CaseIterable {
    case unknownUser
    case unknownOrganization
    case notMember
    case unknownPermission
    case notGranted
}

/// The answer to EXPLAIN: the sources that grant a permission, or why it is denied.
public enum Explanation: Sendable, Hashable {
    /// Granted, by these sources (held roles in key order, then a direct grant).
    case allow([GrantSource])
    /// Denied, for this reason.
    case deny(DenyReason)

    /// Whether the permission is granted.
    public var allows: Bool {
        if case .allow = self { return true }
        return false
    }
}
