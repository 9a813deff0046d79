/// One change of the audit log: when, in which revision, who, and what.
public struct AuditEntry: Sendable, Hashable {
    /// When the revision was committed (millisecond precision, UTC); nil for an entry logged
    /// before the audit log existed.
    public var time: UnixMilliseconds?
    public var revision: UInt64
    public var actor: ChangeActor
    public var change: StateChange

    /// - Parameters: see each property.
    public init(time: UnixMilliseconds?, revision: UInt64, actor: ChangeActor, change: StateChange) {
        self.time = time
        self.revision = revision
        self.actor = actor
        self.change = change
    }
}

/// Milliseconds since 1970-01-01T00:00:00Z: how the audit log stores a time (SPEC §9's
/// millisecond precision, exactly, where a `Date` would round through a `Double`).
public typealias UnixMilliseconds = Int64

/// Which audit entries to read (`permd log`'s filters).
public struct AuditQuery: Sendable, Hashable {
    /// Only entries of revisions after this one (0: from the oldest kept).
    public var after: UInt64
    /// Only changes that name this user.
    public var user: String?
    /// Only changes that name this organization.
    public var organization: String?
    /// Only the newest this many matching entries (still answered oldest first); nil: all.
    public var limit: Int?

    /// - Parameters: see each property.
    public init(after: UInt64 = 0, user: String? = nil, organization: String? = nil, limit: Int? = nil) {
        self.after = after
        self.user = user
        self.organization = organization
        self.limit = limit
    }
}

/// What trimming the audit log did (`StateStore.trimLog(loggedBefore:)`).
public struct LogTrim: Sendable, Hashable {
    /// The revisions removed from the log (0: nothing was old enough).
    public var revisions: Int
    /// The log floor after the trim: the log reaches back to the revision after it.
    public var floor: UInt64

    /// - Parameters: see each property.
    public init(revisions: Int, floor: UInt64) {
        self.revisions = revisions
        self.floor = floor
    }
}
