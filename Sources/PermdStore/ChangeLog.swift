import PermdCore

/// How a `StateChange` is stored in the `changes` table: a kind word and up to three names.
enum ChangeLogRow {
    static func encode(_ change: StateChange) -> (kind: String, user: String?, org: String?, key: String?) {
        switch change {
        case .userAdded(let user): ("user_added", user, nil, nil)
        case .userRemoved(let user): ("user_removed", user, nil, nil)
        case .profileUpdated(let user): ("profile_updated", user, nil, nil)
        case .organizationAdded(let code): ("organization_added", nil, code, nil)
        case .organizationUpdated(let code): ("organization_updated", nil, code, nil)
        case .organizationRemoved(let code): ("organization_removed", nil, code, nil)
        case .membershipAdded(let user, let org): ("membership_added", user, org, nil)
        case .membershipRemoved(let user, let org): ("membership_removed", user, org, nil)
        case .roleAssigned(let user, let org, let role): ("role_assigned", user, org, role)
        case .roleUnassigned(let user, let org, let role): ("role_unassigned", user, org, role)
        case .permissionGranted(let user, let org, let key): ("permission_granted", user, org, key)
        case .permissionRevoked(let user, let org, let key): ("permission_revoked", user, org, key)
        case .policyReloaded: ("policy_reloaded", nil, nil, nil)
        }
    }

    /// The change a stored row describes; nil for a kind this build does not know.
    static func decode(kind: String, user: String?, org: String?, key: String?) -> StateChange? {
        let user = user ?? ""
        let org = org ?? ""
        let key = key ?? ""
        switch kind {
        case "user_added": return .userAdded(user: user)
        case "user_removed": return .userRemoved(user: user)
        case "profile_updated": return .profileUpdated(user: user)
        case "organization_added": return .organizationAdded(code: org)
        case "organization_updated": return .organizationUpdated(code: org)
        case "organization_removed": return .organizationRemoved(code: org)
        case "membership_added": return .membershipAdded(user: user, organization: org)
        case "membership_removed": return .membershipRemoved(user: user, organization: org)
        case "role_assigned": return .roleAssigned(user: user, organization: org, role: key)
        case "role_unassigned": return .roleUnassigned(user: user, organization: org, role: key)
        case "permission_granted": return .permissionGranted(user: user, organization: org, permission: key)
        case "permission_revoked": return .permissionRevoked(user: user, organization: org, permission: key)
        case "policy_reloaded": return .policyReloaded
        default: return nil
        }
    }
}
