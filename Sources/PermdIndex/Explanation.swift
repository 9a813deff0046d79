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
