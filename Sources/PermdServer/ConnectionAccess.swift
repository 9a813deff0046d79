/// What a connection may do (SPEC §5 `AUTH`): raised by a token, never lowered; and which
/// admin token raised it, for the audit log (SPEC §9 `token:<name>`).
struct ConnectionAccess: Equatable {
    enum Level: Comparable {
        /// Only `AUTH` and `QUIT` (the server has a query token and none was given yet).
        case none
        /// Queries.
        case query
        /// Queries and writes (an admin token was given).
        case admin
    }

    private(set) var level: Level
    /// The name of the admin token given (its file's base name); nil until one is.
    private(set) var adminTokenName: String?

    /// The access of a new connection: queries, unless the server asks for a query token.
    init(queryTokenRequired: Bool) {
        level = queryTokenRequired ? .none : .query
    }

    /// Whether the connection may query.
    var mayQuery: Bool { level >= .query }

    /// Whether an admin token was given.
    var isAdmin: Bool { level == .admin }

    /// Grants `level`, keeping a higher access already granted; an admin token names itself
    /// (the latest one given, should a connection give two).
    mutating func raise(to level: Level, adminToken name: String? = nil) {
        self.level = max(self.level, level)
        if level == .admin, let name { adminTokenName = name }
    }
}
