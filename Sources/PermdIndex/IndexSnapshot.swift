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
    /// - Parameters:
    ///   - progress: called with the number of rows built so far, every `progressInterval`
    ///     rows (from the build's own thread): a build of millions of rows takes seconds.
    public static func build(policy: PolicySet, reader: some StateReader, progressInterval: Int = 1_000_000,
                             progress: (@Sendable (Int) -> Void)? = nil) throws -> IndexSnapshot {
        let start = ContinuousClock.now
        // The rows reach the builder on a second thread while the reader reads on. The
        // builder is made in place: a copy left here would share its tables' chunks, and
        // the build would copy each chunk at its first write.
        var pipeline = StatePipeline(Builder(policy: policy, counts: try reader.stateCounts(),
                                             progress: progress.map { (progressInterval, $0) }))
        let revision = try reader.readState(into: &pipeline)
        return pipeline.finish().finish(revision: revision, started: start)
    }

    /// Full build from a state held in memory (`permd check` without a database, `permd
    /// test` and `permd diff` fixtures, tests).
    public static func build(policy: PolicySet, state: InMemoryState, revision: UInt64) -> IndexSnapshot {
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
            if lastUser.map({ storage.users.key($0, is: user) }) != true {
                // Users and memberships arrive sorted by user id, so the next user is most
                // often the slot after the last one.
                lastUser = storage.user(user, guess: (lastUser ?? -1) + 1)
            }
            guard let userSlot = lastUser, let organizationSlot = storage.organization(organization) else { return }
            if membershipsDone {
                storage.addMembership(user: userSlot, organization: organizationSlot)
            } else {
                storage.appendMembership(user: userSlot, organization: organizationSlot)
            }
        }

        /// Whether the memberships are in the pair table and the member lists.
        private var membershipsDone = false

        /// Enters the memberships in the pair table and builds the member lists: at the
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

        private mutating func membership(_ user: UnsafeRawBufferPointer, _ organization: UnsafeRawBufferPointer) -> Int? {
            if let last = lastMembership {
                if storage.membership(last, isOf: user, in: organization) { return last }
                // Done with it (in the store's order; any later grant to it recomputes again).
                storage.recomputeEffective(last)
            }
            finishMemberships()
            // Grants arrive in (user, organization) order, as the memberships did.
            lastMembership = storage.membership(user, organization, guess: (lastMembership ?? -1) + 1)
            return lastMembership
        }

        mutating func roleAssignment(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                     role: UnsafeRawBufferPointer) {
            countRow()
            guard let membership = membership(user, organization) else { return }
            storage.setRole(membership: membership, role: role, to: true)
        }

        mutating func directGrant(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                  permission: UnsafeRawBufferPointer) {
            countRow()
            guard let membership = membership(user, organization) else { return }
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
