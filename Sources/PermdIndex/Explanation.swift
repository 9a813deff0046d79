/// A membership of the index, as a dense integer: the result of `membershipSlot`, valid
/// only with the snapshot that returned it.
public struct MembershipSlot: Sendable, Hashable {
    let rawValue: Int
}

/// A permission of the index, as its dense bit: the result of `permissionSlot`, valid with
/// any snapshot of the same policy set.
public struct PermissionSlot: Sendable, Hashable {
    let rawValue: Int
}

/// One page of a WHO answer: user ids in order, and whether more remain after them.
public struct WhoPage: Sendable, Hashable {
    public var users: [String]
    public var more: Bool

    /// - Parameters:
    ///   - users: the user ids of the page, sorted.
    ///   - more: whether users remain after the last one.
    public init(users: [String], more: Bool) {
        self.users = users
        self.more = more
    }
}

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
