import Prometheus
import Synchronization

/// What the metrics listener reports on (`/readyz`, `/metrics`): made before the index is
/// built, so that a probe during the build gets `503 building the index`; the server is
/// attached once it serves.
public final class ServingStatus: Sendable {
    private struct State {
        var server: PermdServer?
        var replication: (health: any ReplicationHealth, series: ReplicationSeries)?
        var stopping = false
    }

    /// `permd_database_up` and `permd_replication_lag_seconds`, set from the replica's link at
    /// each scrape.
    private struct ReplicationSeries {
        let databaseUp: Gauge
        let lagSeconds: Gauge
    }

    private let state = Mutex(State())
    /// The replication series' own registry: the link is watched before the server (and its
    /// registry) exists, and a server on SQLite has none of them.
    private let replicationRegistry = PrometheusCollectorRegistry()

    /// A status with no server yet (not ready).
    public init() {}

    /// The server now serves: ready (on SQLite), and its metrics are scraped.
    public func serving(_ server: PermdServer) {
        state.withLock { $0.server = server }
    }

    /// On PostgreSQL: where readiness and `permd_database_up` / `permd_replication_lag_seconds` come from.
    public func watchReplication(_ health: any ReplicationHealth) {
        let registry = replicationRegistry
        state.withLock { state in
            let series = state.replication?.series ?? ReplicationSeries(
                databaseUp: registry.makeGauge(descriptor: .permd("permd_database_up",
                                               help: "1 while the PostgreSQL database answers, 0 while it is out of reach.")),
                lagSeconds: registry.makeGauge(descriptor: .permd("permd_replication_lag_seconds",
                                               help: "Age of the newest database change this replica has not applied yet; 0 when caught up.")))
            state.replication = (health, series)
        }
    }

    /// The server is shutting down: not ready any more.
    public func stopping() {
        state.withLock { $0.stopping = true }
    }

    private var current: (server: PermdServer?, replication: ReplicationState?, stopping: Bool) {
        let (server, health, stopping) = state.withLock { ($0.server, $0.replication?.health, $0.stopping) }
        return (server, health?.replicationState, stopping || server?.isStopping == true)
    }

    /// What `/readyz` answers now.
    var readiness: Readiness {
        let now = current
        return Readiness.of(indexBuilt: now.server != nil, stopping: now.stopping, replication: now.replication)
    }

    /// The `/metrics` page now, in the Prometheus text format (the series of a server that
    /// does not serve yet are left out).
    func metricsPage() -> [UInt8] {
        let (server, replication) = state.withLock { ($0.server, $0.replication) }
        var page: [UInt8] = []
        server?.emitMetrics(into: &page)
        if let replication {
            let now = replication.health.replicationState
            replication.series.databaseUp.set(to: now.databaseUp ? 1 : 0)
            replication.series.lagSeconds.set(to: now.lagSeconds)
            replicationRegistry.emit(into: &page)
        }
        return page
    }
}
