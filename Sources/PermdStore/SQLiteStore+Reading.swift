import Foundation
public import PermdCore

extension SQLiteStore {
    /// Feeds the whole state to `sink` from one read transaction, in the order `StateSink`
    /// documents; returns the revision of that state.
    public func readState(into sink: inout some StateSink) throws -> UInt64 {
        // Read the pages in place (memory-mapped) rather than copied into SQLite's cache: the
        // full read touches every page of the state once. Only during this read, so that
        // ordinary reads and writes keep plain I/O.
        try connection.execute("PRAGMA mmap_size = 1099511627776")
        defer { try? connection.execute("PRAGMA mmap_size = 0") }
        return try readTransaction { () throws -> UInt64 in
            let revision = try readRevision()
            try rows("SELECT code FROM organizations ORDER BY code") { sink.organization($0.bytes(0)) }
            try rows("SELECT id FROM users ORDER BY id") { sink.user($0.bytes(0)) }
            try rows("SELECT user, org FROM memberships ORDER BY user, org") {
                sink.membership(user: $0.bytes(0), organization: $0.bytes(1))
            }
            try rows("SELECT user, org, role FROM role_assignments ORDER BY user, org, role") {
                sink.roleAssignment(user: $0.bytes(0), organization: $0.bytes(1), role: $0.bytes(2))
            }
            try rows("SELECT user, org, permission FROM direct_grants ORDER BY user, org, permission") {
                sink.directGrant(user: $0.bytes(0), organization: $0.bytes(1), permission: $0.bytes(2))
            }
            return revision
        }
    }

    /// The committed changes after `revision`, oldest first; nil when the log was trimmed
    /// past it (or `revision` is ahead of the database): the caller rebuilds in full.
    public func changes(after revision: UInt64) throws -> [ChangeRecord]? {
        var records = ChangeList()
        return try readChanges(after: revision, into: &records) ? records.records : nil
    }

    /// The committed changes after `revision`, handed to `sink` in one pass (no `String`
    /// per name, no array of them all); false when the log was trimmed past `revision` (or
    /// `revision` is ahead of the database). A row of a kind this build does not know (a
    /// newer permd wrote it) reads as `.policyReloaded`: the reader rebuilds in full.
    public func readChanges(after revision: UInt64, into sink: inout some ChangeSink) throws -> Bool {
        try readTransaction { () throws -> Bool in
            let floor = UInt64(try connection.integer("SELECT value FROM meta WHERE key = 'log_floor'") ?? 0)
            let current = try readRevision()
            guard revision >= floor, revision <= current else { return false }
            let statement = try connection.statement(
                """
                SELECT revision, kind, user, org, key FROM changes
                WHERE seq >= (SELECT min(first_seq) FROM revisions WHERE revision > ?) ORDER BY seq
                """)
            try statement.bind([.integer(Int64(revision))])
            defer { statement.reset() }
            while try statement.step() {
                let kind = ChangeLogRow.kind(statement.bytes(1)) ?? .policyReloaded
                guard sink.change(revision: UInt64(statement.integer(0)), kind, user: statement.bytes(2),
                                  organization: statement.bytes(3), key: statement.bytes(4)) else { break }
            }
            return true
        }
    }

    /// The user with `id`: profile, identities and memberships (sorted), or nil.
    public func user(_ id: String) throws(StoreError) -> UserRecord? {
        var found: UserRecord?
        try readTransaction { () throws -> Void in
            try forEachUser(where: "WHERE id = ?", [.text(id)]) { found = $0 }
        }
        return found
    }

    /// The users in organization `code` (every user when nil), sorted by id.
    public func users(inOrganization code: String?) throws(StoreError) -> [UserRecord] {
        var found: [UserRecord] = []
        try readTransaction { () throws -> Void in
            if let code {
                try forEachUser(where: "WHERE id IN (SELECT user FROM memberships WHERE org = ?)", [.text(code)]) {
                    found.append($0)
                }
            } else {
                try forEachUser(where: "", []) { found.append($0) }
            }
        }
        return found
    }

    /// The ids of the users in organization `code` (every user when nil), sorted.
    public func userIDs(inOrganization code: String?) throws(StoreError) -> [String] {
        var ids: [String] = []
        try readTransaction { () throws -> Void in
            if let code {
                try rows("SELECT user FROM memberships WHERE org = ? ORDER BY user", [.text(code)]) { ids.append($0.text(0)) }
            } else {
                try rows("SELECT id FROM users ORDER BY id") { ids.append($0.text(0)) }
            }
        }
        return ids
    }

    /// Every organization, sorted by code.
    public func organizations() throws(StoreError) -> [OrganizationRecord] {
        var found: [OrganizationRecord] = []
        try readTransaction { () throws -> Void in
            try rows("SELECT code, name, external_id FROM organizations ORDER BY code") {
                found.append(OrganizationRecord(code: $0.text(0), name: $0.optionalText(1), externalID: $0.optionalText(2)))
            }
        }
        return found
    }

    /// The organization with `code`, or nil.
    public func organization(_ code: String) throws(StoreError) -> OrganizationRecord? {
        try SQLiteTransaction(connection: connection).organization(code)
    }

    /// The codes of the organizations `user` belongs to, sorted.
    public func organizationCodes(ofUser user: String) throws(StoreError) -> [String] {
        var codes: [String] = []
        try rows("SELECT org FROM memberships WHERE user = ? ORDER BY org", [.text(user)]) { codes.append($0.text(0)) }
        return codes
    }

    /// When `user` was created, last changed and last signed in; nil for an unknown user.
    public func activity(ofUser user: String) throws(StoreError) -> UserActivity? {
        let statement = try connection.statement(
            "SELECT created_at, updated_at, last_signed_in_at FROM users WHERE id = ?")
        try statement.bind([.text(user)])
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
        return UserActivity(created: date(statement.integer(0)), updated: date(statement.integer(1)),
                            lastSignedIn: statement.optionalInteger(2).map(date))
    }

    /// Every user, sorted by id, with profile, identities and memberships (sorted by
    /// organization code, roles and permissions sorted), from one read transaction — for export.
    /// Errors `body` throws reach the caller unchanged.
    public func forEachUser(_ body: (UserRecord) throws -> Void) throws {
        let nested = connection.inTransaction
        if !nested { try connection.run("BEGIN") }
        // A read transaction changes nothing: ending it cannot lose anything.
        defer { if !nested { try? connection.run("COMMIT") } }
        try forEachUser(where: "", [], body)
    }

    /// Walks the users matching `filter` (a WHERE clause on `users`) and their rows in the
    /// other tables together, each sorted by user id, so that every table is read once.
    private func forEachUser(where filter: String, _ bindings: [SQLiteValue],
                             _ body: (UserRecord) throws -> Void) throws {
        let restrict = filter.isEmpty ? "" : " WHERE user IN (SELECT id FROM users \(filter))"
        let users = try connection.statement(
            """
            SELECT id, email, username, phone, first_name, last_name, picture, email_verified, phone_verified
            FROM users \(filter) ORDER BY id
            """)
        let identities = try Cursor(connection.statement(
            "SELECT user, provider, provider_user_id FROM identities\(restrict) ORDER BY user, provider, provider_user_id"),
            bindings)
        let memberships = try Cursor(connection.statement(
            "SELECT user, org FROM memberships\(restrict) ORDER BY user, org"), bindings)
        let roles = try Cursor(connection.statement(
            "SELECT user, org, role FROM role_assignments\(restrict) ORDER BY user, org, role"), bindings)
        let grants = try Cursor(connection.statement(
            "SELECT user, org, permission FROM direct_grants\(restrict) ORDER BY user, org, permission"), bindings)
        try users.bind(bindings)
        defer { users.reset() }
        while try users.step() {
            let id = users.text(0)
            var record = UserRecord(
                id: id,
                profile: UserProfile(email: users.optionalText(1), username: users.optionalText(2),
                                     phone: users.optionalText(3), firstName: users.optionalText(4),
                                     lastName: users.optionalText(5), picture: users.optionalText(6)),
                emailVerified: users.optionalBool(7), phoneVerified: users.optionalBool(8))
            try identities.whileAt(id) {
                record.identities.append(Identity(provider: $0.text(1), providerUserID: $0.text(2)))
            }
            try memberships.whileAt(id) { row in
                let org = row.text(1)
                var membership = MembershipRecord(organization: org, roles: [], permissions: [])
                try roles.whileAt(id, org) { membership.roles?.append($0.text(2)) }
                try grants.whileAt(id, org) { membership.permissions.append($0.text(2)) }
                record.memberships.append(membership)
            }
            try body(record)
        }
    }

    /// Runs `sql` with `bindings` and hands each row to `body`.
    func rows(_ sql: String, _ bindings: [SQLiteValue] = [], _ body: (SQLiteStatement) throws -> Void) throws(StoreError) {
        let statement = try connection.statement(sql)
        try statement.bind(bindings)
        defer { statement.reset() }
        do {
            while try statement.step() { try body(statement) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.sqlite(code: 1), path: connection.path, message: "\(error)")
        }
    }
}

/// Collects the change log as records (`changes(after:)`).
private struct ChangeList: ChangeSink {
    var records: [ChangeRecord] = []

    mutating func change(revision: UInt64, _ kind: ChangeKind, user: UnsafeRawBufferPointer,
                         organization: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) -> Bool {
        records.append(ChangeRecord(revision: revision, change: StateChange(
            kind, user: String(decoding: user, as: UTF8.self), organization: String(decoding: organization, as: UTF8.self),
            key: String(decoding: key, as: UTF8.self))))
        return true
    }
}

/// A statement's rows read one step ahead, to walk in step with another sorted table.
private final class Cursor {
    private let statement: SQLiteStatement
    private var hasRow: Bool

    init(_ statement: SQLiteStatement, _ bindings: [SQLiteValue]) throws {
        self.statement = statement
        try statement.bind(bindings)
        hasRow = try statement.step()
    }

    deinit { statement.reset() }

    /// Hands `body` every row whose leading columns equal `keys`, and moves past them.
    func whileAt(_ keys: String..., body: (SQLiteStatement) throws -> Void) throws {
        while hasRow, keys.indices.allSatisfy({ statement.text(Int32($0)) == keys[$0] }) {
            try body(statement)
            hasRow = try statement.step()
        }
    }
}
