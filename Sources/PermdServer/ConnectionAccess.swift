/// What a connection may do (SPEC §5 `AUTH`): raised by a token, never lowered.
enum ConnectionAccess: Comparable {
    /// Only `AUTH` and `QUIT` (the server has a query token and none was given yet).
    case none
    /// Queries.
    case query
    /// Queries and writes (the admin token was given).
    case admin

    /// The access of a new connection: queries, unless the server asks for a query token.
    init(queryTokenRequired: Bool) {
        self = queryTokenRequired ? .none : .query
    }

    /// Whether the connection may query.
    var mayQuery: Bool { self >= .query }

    /// Grants `level`, keeping a higher access already granted.
    mutating func raise(to level: ConnectionAccess) {
        self = max(self, level)
    }
}
