public import PermdCore

/// A database state held in memory, and read as any other (`StateReader`): the empty state
/// of `permd check` without a database, the fixtures of `permd test` and `permd diff`, and
/// the states tests build.
///
/// It only grows: removals and the rest of the change log's rules belong to the tests'
/// reference model (`apply(_:)` in PermdTestSupport).
public struct InMemoryState: StateReader, Sendable {
    /// One membership with its role keys and direct permission keys.
    public struct Membership: Sendable, Hashable {
        public var user: String
        public var organization: String
        public var roles: [String]
        public var permissions: [String]

        /// - Parameters:
        ///   - user: the member's id.
        ///   - organization: the organization's code.
        ///   - roles: role keys assigned in the organization.
        ///   - permissions: permission keys granted directly in it.
        public init(user: String, organization: String, roles: [String] = [], permissions: [String] = []) {
            self.user = user
            self.organization = organization
            self.roles = roles
            self.permissions = permissions
        }
    }

    /// Organization codes, in insertion order.
    public private(set) var organizations: [String] = []
    /// User ids, in insertion order.
    public private(set) var users: [String] = []
    /// Memberships, in insertion order.
    public private(set) var memberships: [Membership] = []
    /// The revision `readState` reports.
    public var revision: UInt64
    private var userSet: Set<String> = []
    private var organizationSet: Set<String> = []
    /// "user org" → index in `memberships` (a space never occurs in identifiers).
    private var positions: [String: Int] = [:]

    /// - Parameters:
    ///   - organizations: organization codes.
    ///   - users: user ids.
    ///   - memberships: memberships of those users in those organizations.
    ///   - revision: the revision the state is at.
    public init(organizations: [String] = [], users: [String] = [], memberships: [Membership] = [],
                revision: UInt64 = 0) {
        self.revision = revision
        for code in organizations { addOrganization(code) }
        for id in users { addUser(id) }
        for membership in memberships {
            addMembership(user: membership.user, organization: membership.organization,
                          roles: membership.roles, permissions: membership.permissions)
        }
    }

    /// Adds an organization (no-op when present).
    public mutating func addOrganization(_ code: String) {
        if organizationSet.insert(code).inserted { organizations.append(code) }
    }

    /// Adds a user (no-op when present).
    public mutating func addUser(_ id: String) {
        if userSet.insert(id).inserted { users.append(id) }
    }

    /// Adds a membership of a known user in a known organization, or adds the roles and
    /// permissions to the existing one; ignored when the user or organization is unknown.
    public mutating func addMembership(user: String, organization: String, roles: [String] = [],
                                       permissions: [String] = []) {
        guard userSet.contains(user), organizationSet.contains(organization) else { return }
        let index = membershipIndex(user, organization) ?? {
            memberships.append(Membership(user: user, organization: organization))
            positions[user + " " + organization] = memberships.count - 1
            return memberships.count - 1
        }()
        for role in roles where !memberships[index].roles.contains(role) {
            memberships[index].roles.append(role)
        }
        for permission in permissions where !memberships[index].permissions.contains(permission) {
            memberships[index].permissions.append(permission)
        }
    }

    private func membershipIndex(_ user: String, _ organization: String) -> Int? {
        positions[user + " " + organization]
    }

    /// Feeds the state to `sink` in the reader's order.
    func feed(into sink: inout some StateSink) {
        for code in organizations { sink.organization(code) }
        for id in users { sink.user(id) }
        for membership in memberships { sink.membership(user: membership.user, organization: membership.organization) }
        for membership in memberships {
            for role in membership.roles {
                sink.roleAssignment(user: membership.user, organization: membership.organization, role: role)
            }
            for permission in membership.permissions {
                sink.directGrant(user: membership.user, organization: membership.organization, permission: permission)
            }
        }
    }

    public func stateCounts() throws -> StateCounts? {
        StateCounts(users: users.count, organizations: organizations.count, memberships: memberships.count)
    }

    public func readState(into sink: inout some StateSink) throws -> UInt64 {
        feed(into: &sink)
        return revision
    }

    /// An in-memory state keeps no change log: callers rebuild from it.
    public func changes(after revision: UInt64) throws -> [ChangeRecord]? {
        nil
    }
}
