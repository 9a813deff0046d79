/// Sizes of an index snapshot, for STATS.
public struct IndexStatistics: Sendable, Hashable {
    public var users: Int
    public var organizations: Int
    public var memberships: Int
    public var roles: Int
    public var permissions: Int
    /// Bytes held by the snapshot's tables (chunk capacities, not the policy set).
    public var indexBytes: Int
    /// How long the last full build of this snapshot's lineage took.
    public var buildMilliseconds: Double
}
