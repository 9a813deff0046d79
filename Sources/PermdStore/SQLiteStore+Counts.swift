public import PermdCore

extension SQLiteStore {
    /// The number of users, organizations and memberships, so that an index build can
    /// size its tables before `readState` feeds the rows (one read transaction; counting
    /// scans the smallest index of each table, ~10 ms per million rows).
    public func stateCounts() throws -> StateCounts? {
        try readTransaction { () throws -> StateCounts in
            func count(_ table: String) throws -> Int {
                Int(try connection.integer("SELECT COUNT(*) FROM \(table)") ?? 0)
            }
            return StateCounts(users: try count("users"), organizations: try count("organizations"),
                               memberships: try count("memberships"))
        }
    }
}
