public import PermdCore
public import PermdPolicy

/// An immutable, compiled view of the policies and the database state at one revision:
/// every query answers from it without locks.
///
/// Build one in full (`build(policy:reader:)`), or derive the next one from it with
/// `applying(_:)`, which copies only the storage chunks the changes touch. Both paths give
/// the same answers.
public final class IndexSnapshot: Sendable {
    /// The database revision the snapshot includes.
    public let revision: UInt64
    public let policy: PolicySet
    let storage: IndexStorage
    let buildMilliseconds: Double

    init(revision: UInt64, policy: PolicySet, storage: IndexStorage, buildMilliseconds: Double) {
        self.revision = revision
        self.policy = policy
        self.storage = storage
        self.buildMilliseconds = buildMilliseconds
    }

    /// Full build from policies + state (reads the state once through the reader).
    public static func build(policy: PolicySet, reader: some StateReader) throws -> IndexSnapshot {
        let start = ContinuousClock.now
        var builder = Builder(policy: policy, counts: try reader.stateCounts())
        let revision = try reader.readState(into: &builder)
        return builder.finish(revision: revision, started: start)
    }

    /// Full build from an already-read state (for tests and `permd test` fixtures).
    public static func build(policy: PolicySet, state: StateFixture, revision: UInt64) -> IndexSnapshot {
        let start = ContinuousClock.now
        var builder = Builder(policy: policy, counts: try? state.stateCounts())
        state.feed(into: &builder)
        return builder.finish(revision: revision, started: start)
    }

    /// A new snapshot with these changes applied (only touched memberships copied).
    /// Changes at or below this snapshot's revision are skipped. Returns nil when a change
    /// needs a full rebuild (`.policyReloaded`) — the caller rebuilds.
    public func applying(_ changes: [ChangeRecord]) -> IndexSnapshot? {
        var storage = self.storage
        var revision = self.revision
        for record in changes where record.revision > self.revision {
            switch record.change {
            case .policyReloaded:
                return nil
            case .userAdded(let user):
                storage.addUser(user)
            case .userRemoved(let user):
                storage.removeUser(user)
            case .organizationAdded(let code):
                storage.addOrganization(code)
            case .organizationRemoved(let code):
                storage.removeOrganization(code, declared: policy.declaredOrganization(code) != nil)
            case .profileUpdated, .organizationUpdated:
                break
            case .membershipAdded(let user, let organization):
                storage.addMembership(user: user, organization: organization)
            case .membershipRemoved(let user, let organization):
                storage.removeMembership(user: user, organization: organization)
            case .roleAssigned(let user, let organization, let role):
                storage.setRole(user: user, organization: organization, role: role, to: true)
            case .roleUnassigned(let user, let organization, let role):
                storage.setRole(user: user, organization: organization, role: role, to: false)
            case .permissionGranted(let user, let organization, let permission):
                storage.setDirect(user: user, organization: organization, permission: permission, to: true)
            case .permissionRevoked(let user, let organization, let permission):
                storage.setDirect(user: user, organization: organization, permission: permission, to: false)
            }
            revision = max(revision, record.revision)
        }
        return IndexSnapshot(revision: revision, policy: policy, storage: storage,
                             buildMilliseconds: buildMilliseconds)
    }

    /// Receives the state of a full build. The policies' declared organizations are
    /// always known, even before the database has them. Rows naming an unknown user or
    /// organization, role or permission grant nothing and are skipped.
    struct Builder: StateSink {
        let policy: PolicySet
        var storage: IndexStorage

        /// - Parameter counts: the rows the reader will feed, to size the tables (the
        ///   declared organizations are added to the organizations counted).
        init(policy: PolicySet, counts: StateCounts?) {
            self.policy = policy
            storage = IndexStorage(policy: CompiledPolicy(policy), expectedUsers: counts?.users ?? 0,
                                   expectedOrganizations: (counts?.organizations ?? 0) + policy.organizations.count,
                                   expectedMemberships: counts?.memberships ?? 0)
            for organization in policy.organizations { storage.addOrganization(organization.code) }
        }

        mutating func organization(_ code: String) { storage.addOrganization(code) }
        mutating func user(_ id: String) { storage.addUser(id) }

        /// The last user a membership was added to: readers feed a user's memberships
        /// together, so most memberships skip the user lookup.
        private var lastUser: (id: String, slot: Int?) = ("", nil)

        mutating func membership(user: String, organization: String) {
            // Users and memberships arrive sorted by user id, so the next user is most
            // often the slot after the last one.
            if user != lastUser.id { lastUser = (user, storage.user(user, guess: (lastUser.slot ?? -1) + 1)) }
            guard let userSlot = lastUser.slot, let organizationSlot = storage.organization(organization) else { return }
            storage.appendMembership(user: userSlot, organization: organizationSlot)
        }

        /// The last membership granted to: readers feed the grants of one membership
        /// together, so most grants skip the three hash lookups.
        private var last: (user: String, organization: String, membership: Int?) = ("", "", nil)

        private mutating func membership(_ user: String, _ organization: String) -> Int? {
            if user != last.user || organization != last.organization {
                storage.indexMemberships()
                // Grants arrive in (user, organization) order, as the memberships did.
                let guess = last.membership.map { $0 + 1 } ?? 0
                last = (user, organization, storage.membership(user, organization, guess: guess))
            }
            return last.membership
        }

        mutating func roleAssignment(user: String, organization: String, role: String) {
            guard let membership = membership(user, organization) else { return }
            storage.setRole(membership: membership, role: role, to: true)
        }

        mutating func directGrant(user: String, organization: String, permission: String) {
            guard let membership = membership(user, organization) else { return }
            storage.setDirect(membership: membership, permission: permission, to: true)
        }

        consuming func finish(revision: UInt64, started: ContinuousClock.Instant) -> IndexSnapshot {
            storage.indexMemberships()
            storage.sortMembers()
            let elapsed = ContinuousClock.now - started
            let milliseconds = Double(elapsed.components.seconds) * 1000
                + Double(elapsed.components.attoseconds) / 1e15
            return IndexSnapshot(revision: revision, policy: policy, storage: storage,
                                 buildMilliseconds: milliseconds)
        }
    }
}
