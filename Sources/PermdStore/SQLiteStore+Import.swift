import PermdCore
import PermdPolicy

/// The name the agreed API gives import records: the same type export writes.
public typealias ImportedUser = UserRecord

extension SQLiteStore {
    /// The page cache an import runs with, in KiB: a large import's working set (the tables'
    /// and indexes' pages it touches) stays in memory instead of spilling to the WAL and being
    /// read back mid-transaction. Restored to the connection's setting afterwards.
    static let importCacheKiB = 131_072

    /// Imports `users` in one transaction, through the same rules as every write (SPEC §4):
    /// a record for an existing user (by id, else by email) updates the profile fields it
    /// gives and adds the identities, memberships and grants it lists, never removing any;
    /// a new user without memberships joins the default organization with the default roles.
    ///
    /// The whole import is one revision. When any record is refused, nothing is written and
    /// the error (kind `.importRefused`) lists every refused record with its line. A dry run
    /// reports the same summary and rolls back.
    public func applyImport(_ users: [ImportedUser], dryRun: Bool) throws(StoreError) -> ImportSummary {
        let cacheSize = try connection.integer("PRAGMA cache_size") ?? -2000
        try connection.execute("PRAGMA cache_size = -\(Self.importCacheKiB)")
        defer { try? connection.execute("PRAGMA cache_size = \(cacheSize)") }
        if !connection.inTransaction {
            // Records are applied one after the other without a savepoint each: when none is
            // refused (the usual case, as the planner has checked the file), the result is the
            // same. The first refusal rolls everything back, and the pass below, which isolates
            // each record, finds every refused record.
            do {
                return try importTransaction(users, dryRun: dryRun, isolatingRecords: false)
            } catch {
                guard case .importRefused = error.kind else { throw error }
            }
        }
        return try importTransaction(users, dryRun: dryRun, isolatingRecords: true)
    }

    /// One import transaction. `isolatingRecords` runs each record in a savepoint, so that a
    /// refused record leaves the others applied and every refusal is found; without it the
    /// first refusal ends the transaction (thrown as `.importRefused` with that one record).
    private func importTransaction(
        _ users: [ImportedUser], dryRun: Bool, isolatingRecords: Bool
    ) throws(StoreError) -> ImportSummary {
        try writeTransaction(rollingBack: dryRun) { () throws -> ImportSummary in
            let start = try readRevision()
            let batch = try ImportBatch(store: self)
            var summary = ImportSummary()
            var refusals: [ImportRefusal] = []
            var log = ImportLog()
            for record in users {
                pendingChanges.removeAll(keepingCapacity: true)
                let created: Bool
                do {
                    if isolatingRecords { try connection.run("SAVEPOINT record") }
                    created = try importRecord(record, batch)
                    if isolatingRecords { try connection.run("RELEASE record") }
                } catch let refusal as WriteRefusal {
                    let refused = ImportRefusal(line: record.line, error: refusal)
                    guard isolatingRecords else {
                        throw StoreError(.importRefused([refused]), path: connection.path, message: "a record was refused")
                    }
                    try connection.run("ROLLBACK TO record")
                    try connection.run("RELEASE record")
                    refusals.append(refused)
                    continue
                }
                summary.count(pendingChanges, created: created)
                log.add(pendingChanges)
            }
            pendingChanges = []
            if !refusals.isEmpty {
                throw StoreError(.importRefused(refusals), path: connection.path, message:
                    "\(refusals.count) record\(refusals.count == 1 ? "" : "s") refused; nothing was imported")
            }
            summary.revision = start
            if log.count > 0 && !dryRun {
                summary.revision = start + 1
                try appendToLog(log.changes, revision: summary.revision)
                try writeRevision(summary.revision)
            }
            return summary
        }
    }

    /// Applies one record; true when it created a user.
    private func importRecord(_ record: UserRecord, _ batch: ImportBatch) throws -> Bool {
        if let id = record.id { try checkID(id, "user id") }
        for membership in record.memberships {
            try checkID(membership.organization, "organization code")
            for role in membership.roles ?? [] { try checkKey(role, "role") }
            for permission in membership.permissions { try checkKey(permission, "permission") }
        }
        for identity in record.identities where identity.provider.isEmpty || identity.providerUserID.isEmpty {
            throw WriteRefusal(.invalidValue, "an identity has an empty provider or provider user id")
        }
        for membership in record.memberships {
            if !batch.organizations.contains(membership.organization) {
                throw WriteRefusal.unknownOrganization(membership.organization)
            }
            for role in membership.roles ?? [] { try requireRole(role) }
            for permission in membership.permissions { try requirePermission(permission) }
        }

        let user: String
        if let id = record.id {
            // An insert that finds the id taken changes nothing: the record updates that user.
            if try insertUser(id: id, profile: record.profile, emailVerified: record.emailVerified,
                              phoneVerified: record.phoneVerified, at: batch.now) {
                try addToNewUser(record, id: id, batch)
                return true
            }
            user = id
        } else if let email = record.profile.email, let owner = try userID(byEmail: email) {
            user = owner
        } else {
            let id = try generateUserID()
            try insertUser(id: id, profile: record.profile, emailVerified: record.emailVerified,
                           phoneVerified: record.phoneVerified, at: batch.now)
            try addToNewUser(record, id: id, batch)
            return true
        }
        var changed = try updateProfile(of: user, with: record.profile, emailVerified: record.emailVerified,
                                        phoneVerified: record.phoneVerified)
        for identity in record.identities {
            changed = try insertIdentity(identity, user: user) || changed
        }
        if changed { pendingChanges.append(.profileUpdated(user: user)) }
        for membership in record.memberships { try merge(membership, user: user, batch) }
        return false
    }

    /// The identities and memberships of a user the record created; without memberships,
    /// the default organization with the default roles.
    private func addToNewUser(_ record: UserRecord, id: String, _ batch: ImportBatch) throws {
        for identity in record.identities { _ = try insertIdentity(identity, user: id) }
        if record.memberships.isEmpty {
            try merge(MembershipRecord(organization: policy.settings.defaultOrganization, roles: nil), user: id, batch)
        }
        for membership in record.memberships { try merge(membership, user: id, batch) }
    }

    /// Adds the membership (default roles when it is new and gives none) and its grants.
    private func merge(_ membership: MembershipRecord, user: String, _ batch: ImportBatch) throws {
        let organization = membership.organization
        let roles: [String]
        if try batch.insertMembership.run(user, organization) {
            pendingChanges.append(.membershipAdded(user: user, organization: organization))
            roles = membership.roles ?? batch.defaultRoles
        } else {
            roles = membership.roles ?? []
        }
        // INSERT OR IGNORE: a role or permission already held (or listed twice) changes nothing.
        for role in roles where try batch.insertRole.run(user, organization, role) {
            pendingChanges.append(.roleAssigned(user: user, organization: organization, role: role))
        }
        for permission in membership.permissions where try batch.insertGrant.run(user, organization, permission) {
            pendingChanges.append(.permissionGranted(user: user, organization: organization, permission: permission))
        }
    }
}

/// What one import transaction looks up once instead of per record: the organizations (an
/// import adds none), the default roles, the time, and its most frequent statements, prepared.
private struct ImportBatch {
    let organizations: Set<String>
    let defaultRoles: [String]
    let now = currentMilliseconds()
    let insertMembership: TextStatement
    let insertRole: TextStatement
    let insertGrant: TextStatement

    init(store: SQLiteStore) throws(StoreError) {
        organizations = Set(try store.organizations().map(\.code))
        defaultRoles = store.policy.defaultRoles
        let connection = store.connection
        insertMembership = TextStatement(try connection.statement("INSERT OR IGNORE INTO memberships (user, org) VALUES (?, ?)"))
        insertRole = TextStatement(try connection.statement(
            "INSERT OR IGNORE INTO role_assignments (user, org, role) VALUES (?, ?, ?)"))
        insertGrant = TextStatement(try connection.statement(
            "INSERT OR IGNORE INTO direct_grants (user, org, permission) VALUES (?, ?, ?)"))
    }
}

/// A prepared statement that changes rows, run with text parameters.
private struct TextStatement {
    let statement: SQLiteStatement

    init(_ statement: SQLiteStatement) {
        self.statement = statement
    }

    /// Binds `texts` in order and runs it; true when it changed a row.
    func run(_ first: String, _ second: String, _ third: String? = nil) throws(StoreError) -> Bool {
        try statement.bind(first, at: 1)
        try statement.bind(second, at: 2)
        if let third { try statement.bind(third, at: 3) }
        return try statement.runChangingRow()
    }
}

/// The changes an import made, every one logged: a running server applies them to its
/// index instead of rebuilding it (SPEC §3's one second holds for large imports too).
private struct ImportLog {
    private(set) var changes: [StateChange] = []
    var count: Int { changes.count }

    mutating func add(_ new: [StateChange]) {
        changes.append(contentsOf: new)
    }
}

extension ImportSummary {
    /// Counts one applied record and the changes it made.
    mutating func count(_ changes: [StateChange], created: Bool) {
        if created {
            usersCreated += 1
        } else if changes.isEmpty {
            usersUnchanged += 1
        } else {
            usersUpdated += 1
        }
        for change in changes {
            switch change {
            case .membershipAdded: membershipsAdded += 1
            case .roleAssigned: rolesAdded += 1
            case .permissionGranted: permissionsAdded += 1
            default: break
            }
        }
    }
}
