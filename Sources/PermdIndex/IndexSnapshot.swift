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
}
