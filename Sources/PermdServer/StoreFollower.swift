import Foundation
import PermdIndex
import PermdStore
import Synchronization

/// The thread that follows the store for commits made elsewhere — another process on the
/// SQLite file, another replica or the CLI on PostgreSQL — and asks the writer thread to catch
/// up (the writer alone uses the store). It waits on the store's `CommitWatcher`: SQLite
/// polls, PostgreSQL is woken by its notifications; either way the store is read at least
/// every `pollInterval`, since a notification may be lost. A watcher that cannot reach the
/// database is tried again with backoff, the outage reported to the replica's link.
final class StoreFollower: Sendable {
    /// The longest wait without reading the store (the fallback when notifications are lost).
    static let pollInterval: Duration = .seconds(1)
    /// The first and the longest pause between attempts to reach the database again.
    static let backoff: (first: Duration, longest: Duration) = (.milliseconds(50), .seconds(2))

    private let watcher: Mutex<(any CommitWatcher)?>
    private let writer: StateWriter
    private let publisher: SnapshotPublisher
    private let link: ReplicaLink?
    private let stopping = Atomic<Bool>(false)

    /// - Parameters:
    ///   - watcher: the store's watcher; only this follower's thread uses it.
    ///   - writer: asked to catch up.
    ///   - publisher: what the index includes (a notification of a revision it has is no news).
    ///   - link: where a shared database's outages and lag are reported; nil for SQLite.
    init(watcher: sending any CommitWatcher, writer: StateWriter, publisher: SnapshotPublisher, link: ReplicaLink?) {
        self.watcher = Mutex(watcher)
        self.writer = writer
        self.publisher = publisher
        self.link = link
    }

    /// Starts the thread.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "permd-follower"
        thread.start()
    }

    /// Asks the thread to stop; it ends within one wait (it holds no state that needs
    /// closing: its watcher's connection closes with it).
    func stop() {
        stopping.store(true, ordering: .relaxed)
    }

    private func run() {
        var pause = Self.backoff.first
        // Only a wait that follows this thread's own failure says the database is back: a wait
        // that was under way when another connection saw the outage proves nothing (it ended
        // it at once, then the watcher's connection failed too: one outage logged as two).
        var recovering = false
        while !stopping.load(ordering: .relaxed) {
            do {
                let notice = try watcher.withLock { watcher throws(StoreError) in
                    try watcher!.waitForCommit(upTo: Self.pollInterval)
                }
                pause = Self.backoff.first
                if recovering {
                    recovering = false
                    link?.reached()
                }
                switch notice {
                case .committed(let revision):
                    link?.heard(of: revision)
                    if publisher.latest.snapshot.revision < revision { writer.requestRefresh() }
                case .possibleCommit, .quiet:
                    writer.requestRefresh()
                }
            } catch {
                recovering = true
                link?.lost(error)
                Thread.sleep(forTimeInterval: pause.seconds)
                pause = min(pause * 2, Self.backoff.longest)
            }
        }
        watcher.withLock { $0 = nil }
    }
}
