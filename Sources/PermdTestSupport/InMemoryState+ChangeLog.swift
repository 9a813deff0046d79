public import PermdCore
public import PermdIndex

/// The reference model of the change log's semantics, for tests: `apply(_:)` follows the
/// rules plainly (cascading removals; changes naming something unknown are ignored), so
/// that tests can compare an incrementally updated index with a full build of the state.
extension InMemoryState {
    /// Applies one change of the change log to the state and takes its revision.
    public mutating func apply(_ record: ChangeRecord) {
        revision = max(revision, record.revision)
        switch record.change {
        case .userAdded(let user):
            addUser(user)
        case .userRemoved(let user):
            guard users.contains(user) else { break }
            rebuild(users: users.filter { $0 != user }, memberships: memberships.filter { $0.user != user })
        case .organizationAdded(let code):
            addOrganization(code)
        case .organizationRemoved(let code):
            guard organizations.contains(code) else { break }
            rebuild(organizations: organizations.filter { $0 != code },
                    memberships: memberships.filter { $0.organization != code })
        case .profileUpdated, .organizationUpdated, .policyReloaded:
            break
        case .membershipAdded(let user, let organization):
            addMembership(user: user, organization: organization)
        case .membershipRemoved(let user, let organization):
            guard membershipIndex(user, organization) != nil else { break }
            rebuild(memberships: memberships.filter { $0.user != user || $0.organization != organization })
        case .roleAssigned(let user, let organization, let role):
            if membershipIndex(user, organization) != nil {
                addMembership(user: user, organization: organization, roles: [role])
            }
        case .roleUnassigned(let user, let organization, let role):
            guard let index = membershipIndex(user, organization) else { break }
            var changed = memberships
            changed[index].roles.removeAll { $0 == role }
            rebuild(memberships: changed)
        case .permissionGranted(let user, let organization, let permission):
            if membershipIndex(user, organization) != nil {
                addMembership(user: user, organization: organization, permissions: [permission])
            }
        case .permissionRevoked(let user, let organization, let permission):
            guard let index = membershipIndex(user, organization) else { break }
            var changed = memberships
            changed[index].permissions.removeAll { $0 == permission }
            rebuild(memberships: changed)
        }
    }

    private func membershipIndex(_ user: String, _ organization: String) -> Int? {
        memberships.firstIndex { $0.user == user && $0.organization == organization }
    }

    /// The state only grows, so a removal makes it anew from what remains, in the same order.
    private mutating func rebuild(organizations: [String]? = nil, users: [String]? = nil,
                                  memberships: [Membership]) {
        self = InMemoryState(organizations: organizations ?? self.organizations, users: users ?? self.users,
                             memberships: memberships, revision: revision)
    }
}
