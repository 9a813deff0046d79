/// What `/readyz` answers (SPEC §9): ready once the index is built and, on PostgreSQL, the
/// database is reachable and this replica less than a second behind. Pure, so the rule is
/// tested without a server.
enum Readiness: Equatable, Sendable {
    case ready
    /// Not ready, with the reason for the orchestrator's events and the operator.
    case notReady(String)

    /// How far behind a PostgreSQL replica may be and still take traffic.
    static let maxReplicationLagSeconds = 1.0

    /// - Parameters:
    ///   - indexBuilt: whether the server serves an index (it is built before the server starts).
    ///   - stopping: whether the server is shutting down.
    ///   - replication: the database's state on PostgreSQL; nil on SQLite.
    static func of(indexBuilt: Bool, stopping: Bool, replication: ReplicationState?) -> Readiness {
        if stopping { return .notReady("shutting down") }
        guard indexBuilt else { return .notReady("building the index") }
        if let replication {
            guard replication.databaseUp else { return .notReady("the database is out of reach") }
            if replication.lagSeconds >= maxReplicationLagSeconds {
                return .notReady("\(replication.lagSeconds) seconds behind the database")
            }
        }
        return .ready
    }
}

/// A PostgreSQL replica's link to the database, as read for `/readyz` and `/metrics`.
public struct ReplicationState: Sendable, Equatable {
    /// Whether the database answers.
    public var databaseUp: Bool
    /// The age of the newest change this replica has not applied; 0 when caught up (SPEC §8 `lag_ms`).
    public var lagSeconds: Double

    /// - Parameters:
    ///   - databaseUp: whether the database answers.
    ///   - lagSeconds: the age of the newest change not applied yet, in seconds.
    public init(databaseUp: Bool, lagSeconds: Double) {
        self.databaseUp = databaseUp
        self.lagSeconds = lagSeconds
    }
}

/// Reports a replica's link to the database (the PostgreSQL store provides one); read at
/// each scrape and readiness probe, from the metrics listener's thread.
public protocol ReplicationHealth: Sendable {
    /// The current state.
    var replicationState: ReplicationState { get }
}
