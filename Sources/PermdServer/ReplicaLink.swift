public import Logging
import Synchronization

/// A replica's link to its shared database (SPEC §8): whether the database answers, and how
/// far the served index is behind what this replica has heard was committed. Written by the
/// follower and the writer thread, read by `STATS`, `SYNC`, `/readyz` and `/metrics`.
///
/// An outage is logged once when it starts and once when it ends, never per attempt.
public final class ReplicaLink: ReplicationHealth, Sendable {
    private struct State {
        var databaseUp = true
        /// When the current outage began (for the line that ends it).
        var downSince: ContinuousClock.Instant?
        /// The newest revision heard of (a notification, the store's counter).
        var heard: UInt64 = 0
        /// The revision the published index includes.
        var applied: UInt64 = 0
        /// Since when the index lacks a revision heard of; nil when caught up.
        var behindSince: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    /// `databaseUp`, readable without the lock (each `SYNC` asks it).
    private let up = Atomic<Bool>(true)
    private let logger: Logger

    /// - Parameters:
    ///   - revision: the revision of the index built at start.
    ///   - logger: where the outages are logged.
    public init(revision: UInt64, logger: Logger) {
        self.logger = logger
        state.withLock {
            $0.heard = revision
            $0.applied = revision
        }
    }

    /// Whether the database answered the last time it was asked.
    public var databaseUp: Bool { up.load(ordering: .acquiring) }

    public var replicationState: ReplicationState {
        let now = ContinuousClock.now
        return state.withLock { state in
            let lag = state.behindSince.map { now - $0 } ?? .zero
            return ReplicationState(databaseUp: state.databaseUp, lagSeconds: lag.seconds)
        }
    }

    /// The database could not be reached: the first failure of an outage is logged (the
    /// error names the host, never the password), the others are not.
    /// - Parameter error: why.
    public func lost(_ error: any Error) {
        let first = state.withLock { state -> Bool in
            guard state.databaseUp else { return false }
            state.databaseUp = false
            state.downSince = .now
            return true
        }
        guard first else { return }
        up.store(false, ordering: .releasing)
        logger.error("the database is out of reach; queries are answered from the index, writes are refused until it is back",
                     metadata: ["error": "\(error)"])
    }

    /// The database answered again: the end of an outage is logged, with its length.
    public func reached() {
        let outage = state.withLock { state -> Duration? in
            guard !state.databaseUp else { return nil }
            state.databaseUp = true
            defer { state.downSince = nil }
            return state.downSince.map { .now - $0 }
        }
        guard let outage else { return }
        up.store(true, ordering: .releasing)
        logger.notice("the database is reachable again; catching up from the change log",
                      metadata: ["outage_s": "\((outage.seconds * 10).rounded() / 10)"])
    }

    /// Another handle committed up to `revision`.
    public func heard(of revision: UInt64) {
        state.withLock { state in
            guard revision > state.heard else { return }
            state.heard = revision
            if state.applied < revision && state.behindSince == nil { state.behindSince = .now }
        }
    }

    /// The published index includes `revision`.
    public func applied(_ revision: UInt64) {
        state.withLock { state in
            state.applied = revision
            state.heard = max(state.heard, revision)
            if revision >= state.heard { state.behindSince = nil }
        }
    }

    /// The revision the index includes.
    var appliedRevision: UInt64 { state.withLock { $0.applied } }

    /// `lag_ms` of `STATS`: how long the index has lacked a revision this replica heard of.
    var lagMilliseconds: Int64 {
        Int64((replicationState.lagSeconds * 1000).rounded())
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
