import PermdCore

/// One request of a run, before a dialect puts it into words.
enum LoadRequest: Sendable, Hashable {
    case check(user: String, organization: String, permission: String)
    case permissions(user: String, organization: String)
    case explain(user: String, organization: String, permission: String)
    /// `ROLE.ADD`/`SADD` when `add`, else `ROLE.DEL`/`SREM`, on a connection's own membership.
    case write(WriteTarget, add: Bool)
}

/// The membership a writing connection toggles: a role it does not hold (for permd) and a
/// permission its set does not hold (for Redis), so that every write changes the state and
/// the connection's last write leaves it as it found it.
struct WriteTarget: Sendable, Hashable {
    var user: String
    var organization: String
    /// The role `ROLE.ADD`/`ROLE.DEL` toggle.
    var role: String
    /// The member `SADD`/`SREM` toggle.
    var member: String
}

/// What the reference state says the answer to a request is, before a dialect puts it into
/// bytes; nil (in `PlannedRequest`) when answers are not checked.
enum ExpectedAnswer: Sendable, Hashable {
    case decision(Bool)
    /// The effective permissions, sorted.
    case permissions([String])
    case explanation(Explanation)
    /// A write that changes the state (permd: `OK <revision>`; Redis: `:1`).
    case changed
}
