/// A membership of the index, as a dense integer: the result of `membershipSlot`, valid
/// only with the snapshot that returned it.
public struct MembershipSlot: Sendable, Hashable {
    let rawValue: Int
}

/// A permission of the index, as its dense bit: the result of `permissionSlot`, valid with
/// any snapshot of the same policy set.
public struct PermissionSlot: Sendable, Hashable {
    let rawValue: Int
}

/// What grants a permission: a held role (after includes and wildcards) or a direct grant.
public enum GrantSource: Sendable, Hashable, CustomStringConvertible {
    case role(String)
    case direct

    /// `role:<key>` or `direct`, as EXPLAIN answers.
    public var description: String {
        switch self {
        case .role(let key): "role:" + key
        case .direct: "direct"
        }
    }
}

/// Why a check is denied (SPEC §5 EXPLAIN). When several apply, the first in this order
/// is given: unknown user, unknown organization, not a member, unknown permission, not granted.
public enum DenyReason: String, Sendable, CaseIterable {
    case unknownUser = "unknown-user"
    case unknownOrganization = "unknown-org"
    case notMember = "not-member"
    case unknownPermission = "unknown-permission"
    case notGranted = "not-granted"
}

/// The answer to EXPLAIN: the sources that grant a permission, or why it is denied.
public enum Explanation: Sendable, Hashable, CustomStringConvertible {
    case allow([GrantSource])
    case deny(DenyReason)

    /// Whether the permission is granted.
    public var allows: Bool {
        if case .allow = self { return true }
        return false
    }

    /// The protocol's answer: `ALLOW role:billing-admin direct` or `DENY not-member`.
    public var description: String {
        switch self {
        case .allow(let sources): (["ALLOW"] + sources.map(\.description)).joined(separator: " ")
        case .deny(let reason): "DENY " + reason.rawValue
        }
    }
}

/// One page of a WHO answer: user ids in order, and whether more remain after them.
public struct WhoPage: Sendable, Hashable {
    public var users: [String]
    public var more: Bool

    /// - Parameters:
    ///   - users: the user ids of the page, sorted.
    ///   - more: whether users remain after the last one.
    public init(users: [String], more: Bool) {
        self.users = users
        self.more = more
    }
}

/// Sizes of an index snapshot, for STATS.
public struct IndexStatistics: Sendable, Hashable {
    public var users: Int
    public var organizations: Int
    public var memberships: Int
    public var roles: Int
    public var permissions: Int
    /// Bytes held by the snapshot's tables (chunk capacities, not the policy set).
    public var indexBytes: Int
    /// How long the last full build of this snapshot's lineage took.
    public var buildMilliseconds: Double
}
