import NIOCore
public import PermdIndex
import Synchronization

/// Hands the current index snapshot to the event loops: the writer publishes a new one,
/// readers notice through an atomic generation counter and take the lock only when the
/// generation changed — so no query waits for a writer and there is no lock per request.
///
/// A connection waiting for a revision (`SYNC`) registers a wake-up instead of polling;
/// `publish` runs it on the connection's event loop once a snapshot has that revision.
public final class SnapshotPublisher: Sendable {
    /// Names a registered wake-up, to cancel it.
    struct WakeUpID: Hashable, Sendable {
        fileprivate let value: UInt64
    }

    private struct WakeUp {
        let id: WakeUpID
        let revision: UInt64
        let eventLoop: any EventLoop
        let body: @Sendable () -> Void
    }

    private struct Current {
        var generation: UInt64 = 0
        var snapshot: IndexSnapshot
        var wakeUps: [WakeUp] = []
        var wakeUpsRegistered: UInt64 = 0
    }

    private let generation = Atomic<UInt64>(0)
    private let current: Mutex<Current>

    /// - Parameter snapshot: the snapshot to serve first.
    public init(_ snapshot: IndexSnapshot) {
        current = Mutex(Current(snapshot: snapshot))
    }

    /// The generation of the latest snapshot (cheap: one atomic load).
    public var latestGeneration: UInt64 { generation.load(ordering: .acquiring) }

    /// The latest snapshot and its generation.
    public var latest: (generation: UInt64, snapshot: IndexSnapshot) {
        current.withLock { ($0.generation, $0.snapshot) }
    }

    /// Makes `snapshot` the one every later query sees, and wakes those waiting for its revision.
    public func publish(_ snapshot: IndexSnapshot) {
        let revision = snapshot.revision
        let (next, due) = current.withLock { current in
            current.generation += 1
            current.snapshot = snapshot
            let due = current.wakeUps.filter { $0.revision <= revision }
            current.wakeUps.removeAll { $0.revision <= revision }
            return (current.generation, due)
        }
        // Stored before the wake-ups run, so a woken connection loads the new generation.
        generation.store(next, ordering: .releasing)
        for wakeUp in due { wakeUp.eventLoop.execute(wakeUp.body) }
    }

    /// Runs `body` on `eventLoop` once a snapshot with at least `revision` is published
    /// (soon, when the latest already has it); once only, unless cancelled first.
    func wakeUp(atRevision revision: UInt64, on eventLoop: any EventLoop,
                _ body: @escaping @Sendable () -> Void) -> WakeUpID {
        let (id, reached) = current.withLock { current in
            current.wakeUpsRegistered += 1
            let id = WakeUpID(value: current.wakeUpsRegistered)
            if current.snapshot.revision >= revision { return (id, true) }
            current.wakeUps.append(WakeUp(id: id, revision: revision, eventLoop: eventLoop, body: body))
            return (id, false)
        }
        if reached { eventLoop.execute(body) }
        return id
    }

    /// Drops a wake-up not run yet (nothing happens when it has run or is on its way).
    func cancelWakeUp(_ id: WakeUpID) {
        current.withLock { current in
            current.wakeUps.removeAll { $0.id == id }
        }
    }
}
