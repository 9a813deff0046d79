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

    /// A new snapshot with these changes applied (only the storage chunks they touch are
    /// copied). Changes at or below this snapshot's revision are skipped. Returns nil when a
    /// change needs a full rebuild (`.policyReloaded`) — the caller rebuilds.
    public func applying(_ changes: [ChangeRecord]) -> IndexSnapshot? {
        var batch = ChangeBatch(self)
        for record in changes where !record.feed(into: &batch) { break }
        return next(from: &batch)
    }

    /// A new snapshot with the changes `reader` logs after this snapshot's revision, read in
    /// one pass and applied as they arrive (an import of 100,000 users is hundreds of
    /// thousands of them). Returns nil when the log no longer reaches back or a change needs
    /// a full rebuild — the caller rebuilds.
    public func applying(changesFrom reader: some StateReader) throws -> IndexSnapshot? {
        // Reading and applying a long log run on two threads, as a full build does.
        var pipeline = ChangePipeline(ChangeBatch(self))
        let reached = try reader.readChanges(after: revision, into: &pipeline)
        var batch = pipeline.finish()
        return reached ? next(from: &batch) : nil
    }

    private func next(from batch: inout ChangeBatch) -> IndexSnapshot? {
        guard let storage = batch.finish() else { return nil }
        return IndexSnapshot(revision: batch.revision, policy: policy, storage: storage,
                             buildMilliseconds: buildMilliseconds)
    }
}
