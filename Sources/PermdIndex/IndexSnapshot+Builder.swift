import PermdCore
import PermdPolicy

extension IndexSnapshot {
    /// Receives the state of a full build. The policies' declared organizations are
    /// always known, even before the database has them. Rows naming an unknown user or
    /// organization, role or permission grant nothing and are skipped.
    struct Builder: StateSink {
        let policy: PolicySet
        var storage: IndexStorage

        /// - Parameters:
        ///   - counts: the rows the reader will feed, to size the tables (the declared
        ///     organizations are added to the organizations counted).
        ///   - progress: every how many rows to report, and to whom.
        init(policy: PolicySet, counts: StateCounts?, progress: (interval: Int, report: @Sendable (Int) -> Void)? = nil) {
            self.policy = policy
            self.progress = progress
            storage = IndexStorage(policy: CompiledPolicy(policy), expectedUsers: counts?.users ?? 0,
                                   expectedOrganizations: (counts?.organizations ?? 0) + policy.organizations.count,
                                   expectedMemberships: counts?.memberships ?? 0)
            for organization in policy.organizations { storage.addOrganization(organization.code) }
        }

        let progress: (interval: Int, report: @Sendable (Int) -> Void)?
        private var rows = 0

        private mutating func countRow() {
            rows += 1
            if let progress, rows % progress.interval == 0 { progress.report(rows) }
        }

        mutating func organization(_ code: UnsafeRawBufferPointer) {
            countRow()
            storage.addOrganization(code)
        }

        mutating func user(_ id: UnsafeRawBufferPointer) {
            countRow()
            storage.addUser(id)
        }

        /// The user the last membership was added to: readers feed a user's memberships
        /// together, so most memberships skip the user lookup.
        private var lastUser: Int?

        mutating func membership(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) {
            countRow()
            if lastUser.map({ storage.users.keys.key($0, is: user) }) != true {
                // Users and memberships arrive sorted by user id, so the next user is most
                // often the slot after the last one.
                lastUser = storage.users.slot(user, guess: (lastUser ?? -1) + 1)
            }
            guard let userSlot = lastUser, let organizationSlot = storage.organizations.slot(organization) else { return }
            if membershipsDone {
                storage.addMembership(user: userSlot, organization: organizationSlot)
            } else {
                storage.appendMembership(user: userSlot, organization: organizationSlot)
            }
        }

        /// Whether the memberships are in the membership table and the member lists.
        private var membershipsDone = false

        /// Enters the memberships in the membership table and builds the member lists: at the
        /// first grant (readers feed every membership before the grants, so on the build's
        /// own thread this overlaps the reading of the grants), or at the end.
        private mutating func finishMemberships() {
            guard !membershipsDone else { return }
            membershipsDone = true
            storage.indexMemberships()
            storage.sortMembers()
        }

        /// The membership last granted to: readers feed the grants of one membership
        /// together, so most grants skip the three hash lookups.
        private var lastMembership: Int?

        /// The membership a grant row names.
        private mutating func grantedMembership(_ user: UnsafeRawBufferPointer,
                                                _ organization: UnsafeRawBufferPointer) -> Int? {
            if let last = lastMembership {
                if storage.isMembership(last, ofUser: user, inOrganization: organization) { return last }
                // Done with it (in the store's order; any later grant to it recomputes again).
                storage.recomputeEffective(last)
            }
            finishMemberships()
            // Grants arrive in (user, organization) order, as the memberships did.
            lastMembership = storage.membershipSlot(user: user, organization: organization,
                                                    guess: (lastMembership ?? -1) + 1)
            return lastMembership
        }

        mutating func roleAssignment(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                     role: UnsafeRawBufferPointer) {
            countRow()
            guard let membership = grantedMembership(user, organization) else { return }
            storage.setRole(membership: membership, role: role, to: true)
        }

        mutating func directGrant(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                  permission: UnsafeRawBufferPointer) {
            countRow()
            guard let membership = grantedMembership(user, organization) else { return }
            storage.setDirect(membership: membership, permission: permission, to: true)
        }

        consuming func finish(revision: UInt64, started: ContinuousClock.Instant) -> IndexSnapshot {
            finishMemberships()
            if let lastMembership { storage.recomputeEffective(lastMembership) }
            let elapsed = ContinuousClock.now - started
            // To the microsecond, so that logs and STATS print it short.
            let milliseconds = ((Double(elapsed.components.seconds) * 1000
                + Double(elapsed.components.attoseconds) / 1e15) * 1000).rounded() / 1000
            return IndexSnapshot(revision: revision, policy: policy, storage: storage,
                                 buildMilliseconds: milliseconds)
        }
    }
}
