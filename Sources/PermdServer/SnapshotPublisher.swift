public import PermdIndex
import Synchronization

/// Hands the current index snapshot to the event loops: the writer publishes a new one,
/// readers notice through an atomic generation counter and take the lock only when the
/// generation changed — so no query waits for a writer and there is no lock per request.
public final class SnapshotPublisher: Sendable {
    private let generation = Atomic<UInt64>(0)
    private let current: Mutex<(generation: UInt64, snapshot: IndexSnapshot)>

    /// - Parameter snapshot: the snapshot to serve first.
    public init(_ snapshot: IndexSnapshot) {
        current = Mutex((0, snapshot))
    }

    /// The generation of the latest snapshot (cheap: one atomic load).
    public var latestGeneration: UInt64 { generation.load(ordering: .acquiring) }

    /// The latest snapshot and its generation.
    public var latest: (generation: UInt64, snapshot: IndexSnapshot) {
        current.withLock { $0 }
    }

    /// Makes `snapshot` the one every later query sees.
    public func publish(_ snapshot: IndexSnapshot) {
        let next = current.withLock { state in
            state = (state.generation + 1, snapshot)
            return state.generation
        }
        generation.store(next, ordering: .releasing)
    }
}
