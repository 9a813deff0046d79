import Synchronization

/// What the metrics listener reports on (`/readyz`, `/metrics`): made before the index is
/// built, so that a probe during the build gets `503 building the index`; the server is
/// attached once it serves.
public final class ServingStatus: Sendable {
    private struct State {
        var server: PermdServer?
        var replication: (any ReplicationHealth)?
        var stopping = false
    }

    private let state = Mutex(State())

    /// A status with no server yet (not ready).
    public init() {}

    /// The server now serves: ready (on SQLite), and its metrics are scraped.
    public func serving(_ server: PermdServer) {
        state.withLock { $0.server = server }
    }

    /// On PostgreSQL: where readiness and `permd_database_up` / `permd_replication_lag_seconds` come from.
    public func watchReplication(_ health: any ReplicationHealth) {
        state.withLock { $0.replication = health }
    }

    /// The server is shutting down: not ready any more.
    public func stopping() {
        state.withLock { $0.stopping = true }
    }

    private var current: (server: PermdServer?, replication: ReplicationState?, stopping: Bool) {
        let (server, health, stopping) = state.withLock { ($0.server, $0.replication, $0.stopping) }
        return (server, health?.replicationState, stopping || server?.isStopping == true)
    }

    /// What `/readyz` answers now.
    var readiness: Readiness {
        let now = current
        return Readiness.of(indexBuilt: now.server != nil, stopping: now.stopping, replication: now.replication)
    }

    /// The `/metrics` page now (the series of a server that does not serve yet are left out).
    func metricsText() -> String {
        let now = current
        var text = PrometheusText()
        now.server?.writeMetrics(into: &text)
        if let replication = now.replication {
            text.family("permd_database_up", .gauge, help: "1 while the PostgreSQL database answers, 0 while it is out of reach.")
            text.sample("permd_database_up", replication.databaseUp ? 1 : 0)
            text.family("permd_replication_lag_seconds", .gauge,
                        help: "Age of the newest database change this replica has not applied yet; 0 when caught up.")
            text.sample("permd_replication_lag_seconds", replication.lagSeconds)
        }
        return text.text
    }
}
