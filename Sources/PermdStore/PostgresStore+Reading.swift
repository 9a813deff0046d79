import Foundation
public import PermdCore

extension PostgresStore {
    /// Feeds the whole state to `sink` from one snapshot, each table streamed row by row
    /// (single-row mode), in the order `StateSink` documents; returns its revision.
    public func readState(into sink: inout some StateSink) throws -> UInt64 {
        try reading { connection throws(PostgresError) -> UInt64 in
            let revision = try Self.revision(connection)
            try connection.forEachRow("SELECT code FROM permd.organizations ORDER BY code") { sink.organization($0.bytes(0)) }
            try connection.forEachRow("SELECT id FROM permd.users ORDER BY id") { sink.user($0.bytes(0)) }
            try connection.forEachRow("SELECT user_id, org FROM permd.memberships ORDER BY user_id, org") {
                sink.membership(user: $0.bytes(0), organization: $0.bytes(1))
            }
            try connection.forEachRow("SELECT user_id, org, role FROM permd.role_assignments ORDER BY user_id, org, role") {
                sink.roleAssignment(user: $0.bytes(0), organization: $0.bytes(1), role: $0.bytes(2))
            }
            try connection.forEachRow(
                "SELECT user_id, org, permission FROM permd.direct_grants ORDER BY user_id, org, permission") {
                sink.directGrant(user: $0.bytes(0), organization: $0.bytes(1), permission: $0.bytes(2))
            }
            return revision
        }
    }

    /// The committed changes after `revision` in revision order (and, within one, the order
    /// they were made), from one snapshot; nil when the log was trimmed past it or `revision`
    /// is ahead of the database. Commits are serialised by the revision row, so a snapshot
    /// that holds revision r + 1 holds r: a replica following the log misses nothing.
    public func changes(after revision: UInt64) throws -> [ChangeRecord]? {
        try reading { connection throws(PostgresError) -> [ChangeRecord]? in
            let counter = try connection.query("SELECT value, log_floor FROM permd.revision")
            let current = UInt64(counter[0].integer(0) ?? 0)
            let floor = UInt64(counter[0].integer(1) ?? 0)
            guard revision >= floor, revision <= current else { return nil }
            var records: [ChangeRecord] = []
            try connection.forEachRow(
                "SELECT revision, kind, user_id, org, key FROM permd.changes WHERE revision > $1 ORDER BY revision, seq",
                parameters: [.integer(Int64(revision))]) { row in
                let kind = ChangeLogRow.kind(row.bytes(1)) ?? .policyReloaded
                records.append(ChangeRecord(revision: UInt64(row.integer(0) ?? 0), change: StateChange(
                    kind, user: row.text(2) ?? "", organization: row.text(3) ?? "", key: row.text(4) ?? "")))
            }
            return records
        }
    }

    /// The number of users, organizations and memberships, to size an index build.
    public func stateCounts() throws -> StateCounts? {
        try reading { connection throws(PostgresError) -> StateCounts in
            func count(_ table: String) throws(PostgresError) -> Int {
                Int(try connection.integer("SELECT count(*) FROM permd.\(table)") ?? 0)
            }
            return StateCounts(users: try count("users"), organizations: try count("organizations"),
                               memberships: try count("memberships"))
        }
    }

    public func organizations() throws(StoreError) -> [OrganizationRecord] {
        try reading { connection throws(PostgresError) -> [OrganizationRecord] in
            try connection.query("SELECT code, name, external_id FROM permd.organizations ORDER BY code").map {
                OrganizationRecord(code: $0.text(0) ?? "", name: $0.text(1), externalID: $0.text(2))
            }
        }
    }

    public func user(_ id: String) throws(StoreError) -> UserRecord? {
        var found: UserRecord?
        try reading { connection in
            try forEachUser(connection, where: "WHERE id = $1", [.text(id)]) { found = $0 }
        }
        return found
    }

    public func userIDs(inOrganization code: String?) throws(StoreError) -> [String] {
        try reading { connection throws(PostgresError) -> [String] in
            let result = if let code {
                try connection.query("SELECT user_id FROM permd.memberships WHERE org = $1 ORDER BY user_id", .text(code))
            } else {
                try connection.query("SELECT id FROM permd.users ORDER BY id")
            }
            return result.compactMap { $0.text(0) }
        }
    }

    public func activity(ofUser user: String) throws(StoreError) -> UserActivity? {
        try reading { connection throws(PostgresError) -> UserActivity? in
            let result = try connection.query(
                "SELECT created_at, updated_at, last_signed_in_at FROM permd.users WHERE id = $1", .text(user))
            guard let row = result.first else { return nil }
            func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
            return UserActivity(created: date(row.integer(0) ?? 0), updated: date(row.integer(1) ?? 0),
                                lastSignedIn: row.integer(2).map(date))
        }
    }

    /// Every user, sorted by id, from one snapshot, read through server-side cursors (a
    /// million users are never in memory at once). Errors `body` throws reach the caller unchanged.
    public func forEachUser(_ body: (UserRecord) throws -> Void) throws {
        var failure: (any Error)?
        do {
            try reading { connection in
                try forEachUser(connection, where: "", []) { record in
                    do {
                        try body(record)
                    } catch {
                        failure = error
                        throw error
                    }
                }
            }
        } catch {
            if let failure { throw failure }
            throw error
        }
    }

    /// Walks the users matching `filter` (a WHERE clause on `users`) and their rows in the
    /// other tables together, one cursor per table, each sorted by user id.
    private func forEachUser(_ connection: PostgresConnection, where filter: String, _ bindings: [PostgresValue],
                             _ body: (UserRecord) throws -> Void) throws {
        let restrict = filter.isEmpty ? "" : " WHERE user_id IN (SELECT id FROM permd.users \(filter))"
        let users = try PostgresCursor(connection, "permd_users", """
            SELECT id, \(UserRow.columns) FROM permd.users \(filter) ORDER BY id
            """, bindings)
        let identities = try PostgresCursor(connection, "permd_identities",
            "SELECT user_id, provider, provider_user_id FROM permd.identities\(restrict) ORDER BY user_id, provider, provider_user_id",
            bindings)
        let memberships = try PostgresCursor(connection, "permd_memberships",
            "SELECT user_id, org FROM permd.memberships\(restrict) ORDER BY user_id, org", bindings)
        let roles = try PostgresCursor(connection, "permd_roles",
            "SELECT user_id, org, role FROM permd.role_assignments\(restrict) ORDER BY user_id, org, role", bindings)
        let grants = try PostgresCursor(connection, "permd_grants",
            "SELECT user_id, org, permission FROM permd.direct_grants\(restrict) ORDER BY user_id, org, permission", bindings)
        defer { [users, identities, memberships, roles, grants].forEach { $0.close() } }
        while let row = try users.next() {
            let id = row.text(0) ?? ""
            var values = [String?]()
            for column in 1...8 { values.append(row.text(column)) }
            var record = UserRecord(
                id: id,
                profile: UserProfile(email: values[0], username: values[1], phone: values[2], firstName: values[3],
                                     lastName: values[4], picture: values[5]),
                emailVerified: row.boolean(7), phoneVerified: row.boolean(8))
            try identities.whileAt(id) {
                record.identities.append(Identity(provider: $0.text(1) ?? "", providerUserID: $0.text(2) ?? ""))
            }
            try memberships.whileAt(id) { row in
                let org = row.text(1) ?? ""
                var membership = MembershipRecord(organization: org, roles: [], permissions: [])
                try roles.whileAt(id, org) { membership.roles?.append($0.text(2) ?? "") }
                try grants.whileAt(id, org) { membership.permissions.append($0.text(2) ?? "") }
                record.memberships.append(membership)
            }
            try body(record)
        }
    }
}

/// A server-side cursor read a batch at a time, one row ahead, to walk in step with another
/// sorted table: several can be open in one transaction, where single-row mode allows one query.
private final class PostgresCursor {
    private let connection: PostgresConnection
    private let name: String
    private var batch: PostgresResult?
    private var index = 0
    private var exhausted = false
    /// The row `whileAt` looks at next.
    private var current: PostgresRow?

    /// Rows fetched per round trip.
    static let batchSize = 2000

    init(_ connection: PostgresConnection, _ name: String, _ sql: String, _ bindings: [PostgresValue]) throws(PostgresError) {
        self.connection = connection
        self.name = name
        try connection.query("DECLARE \(name) NO SCROLL CURSOR FOR \(sql)", parameters: bindings)
    }

    func close() {
        if connection.isConnected && connection.inTransaction { _ = try? connection.execute("CLOSE \(name)") }
    }

    /// The next row, or nil at the end.
    func next() throws(PostgresError) -> PostgresRow? {
        if let current {
            self.current = nil
            return current
        }
        if batch == nil || index >= batch!.count {
            guard !exhausted else { return nil }
            batch = try connection.query("FETCH \(Self.batchSize) FROM \(name)")
            index = 0
            if batch!.count < Self.batchSize { exhausted = true }
            if batch!.isEmpty { return nil }
        }
        defer { index += 1 }
        return batch![index]
    }

    /// Hands `body` every row whose leading columns equal `keys`, and moves past them.
    func whileAt(_ keys: String..., body: (PostgresRow) throws -> Void) throws {
        while let row = try next() {
            guard keys.indices.allSatisfy({ row.text($0) == keys[$0] }) else {
                current = row
                return
            }
            try body(row)
        }
    }
}
