public import PermdCore
public import PermdPolicy
public import PermdStore

/// Who the tests' own writes are logged as, where a test does not look at who: the store
/// API asks every caller for an actor (the audit log, SPEC §9), and tests about something
/// else name this one rather than repeat it at every call.
public let testActor = ChangeActor.cli(user: "permd-tests")

extension StateStore {
    /// `perform(_:by:)` by `testActor`.
    public func perform(_ writes: [Write]) throws(StoreError) -> [Result<WriteOutcome, WriteRefusal>] {
        try perform(writes, by: testActor)
    }

    /// `reload(policy:actor:)` by `testActor`.
    public func reload(policy: PolicySet) throws(StoreError) -> UInt64 {
        try reload(policy: policy, actor: testActor)
    }

    /// `applyImport(_:dryRun:actor:)` by `testActor`.
    public func applyImport(_ users: [ImportedUser], dryRun: Bool) throws(StoreError) -> ImportSummary {
        try applyImport(users, dryRun: dryRun, actor: testActor)
    }

    /// `applyOrganizationImport(_:dryRun:actor:)` by `testActor`.
    public func applyOrganizationImport(_ organizations: [OrganizationImport], dryRun: Bool) throws(StoreError)
        -> OrganizationImportSummary
    {
        try applyOrganizationImport(organizations, dryRun: dryRun, actor: testActor)
    }
}
