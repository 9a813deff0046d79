import Glibc
import Logging
public import PermdCore
import PermdPolicy

/// The name the agreed API gives import records: the same type export writes.
public typealias ImportedUser = UserRecord

extension SQLiteStore {
    /// The page cache an import runs with, in KiB: what it stages and the pages its merge
    /// touches stay in memory instead of spilling mid-transaction. Restored afterwards.
    static let importCacheKiB = 131_072
    /// SQLite's default `wal_autocheckpoint`, restored after an import's commit.
    static let walAutocheckpointPages = 1000

    /// How many times an import reads the state again when another writer committed between
    /// its reading and its write lock; after that it reads under the lock (correct, but the
    /// lock is then held for the reading too).
    static let importReadAttempts = 3

    /// Imports `users` through the rules of SPEC §4, all or nothing, in one revision: a
    /// record for an existing user (by id; without an id, by email, else username, else
    /// phone) updates the profile fields it gives and adds the identities, memberships and
    /// grants it lists, never removing any; a new user without memberships joins the default
    /// organization with the default roles. Records apply in order.
    ///
    /// The write lock is held only for the merge (SPEC §3): the import first reads the state
    /// in a read transaction, decides every record against it and stages what it will write
    /// (`ImportStaging`); then, under `BEGIN IMMEDIATE`, it checks that nobody committed since
    /// (the revision and the log floor are unchanged; otherwise it reads again) and copies
    /// the staged rows in with a few statements.
    ///
    /// When any record is refused, nothing is written and the error (kind `.importRefused`)
    /// lists every refused record with its line. A dry run reads, decides and reports the
    /// same summary, and takes no write lock.
    public func applyImport(_ users: [ImportedUser], dryRun: Bool, actor: ChangeActor) throws(StoreError) -> ImportSummary {
        if dryRun && connection.isReadOnly { return try dryRunOnPrivateCopy(users, actor: actor) }
        if connection.inTransaction {
            throw StoreError(.sqlite(code: 1), path: connection.path, message: "an import cannot run inside another transaction")
        }
        let cacheSize = try connection.integer("PRAGMA cache_size") ?? -2000
        let foreignKeys = try connection.integer("PRAGMA foreign_keys") ?? 1
        try connection.execute("PRAGMA cache_size = -\(Self.importCacheKiB); PRAGMA foreign_keys = OFF")
        defer { try? connection.execute("PRAGMA cache_size = \(cacheSize); PRAGMA foreign_keys = \(foreignKeys)") }
        var attempt = 0
        while true {
            attempt += 1
            let staging = try ImportStaging(connection: connection)
            defer { try? staging.drop() }
            if let summary = try importAttempt(users, dryRun: dryRun, actor: actor, staging: staging,
                                               underLock: attempt > Self.importReadAttempts) {
                return summary
            }
            logger.debug("the state changed while the import read it; reading it again", metadata: ["attempt": "\(attempt)"])
        }
    }

    /// One reading, deciding and (unless nothing changed since the reading) merging; nil
    /// when another writer committed between the reading and the write lock.
    private func importAttempt(
        _ users: [ImportedUser], dryRun: Bool, actor: ChangeActor, staging: ImportStaging, underLock: Bool
    ) throws(StoreError) -> ImportSummary? {
        var lockTaken: (wall: ContinuousClock.Instant, cpu: Duration)?
        do throws(StoreError) {
            if underLock {
                try connection.run("BEGIN IMMEDIATE")
                lockTaken = (.now, threadCPUTime())
            } else {
                try connection.run("BEGIN")
            }
            var resolution = try resolveImport(users, staging: staging)
            if !resolution.refusals.isEmpty {
                try connection.run("ROLLBACK")
                let refusals = resolution.refusals
                throw StoreError(.importRefused(refusals), path: connection.path, message:
                    "\(refusals.count) record\(refusals.count == 1 ? "" : "s") refused; nothing was imported")
            }
            resolution.summary.revision = resolution.revision
            guard !dryRun, resolution.changeCount > 0 else {
                try connection.run("ROLLBACK")
                return resolution.summary
            }
            if !underLock {
                // Ends the reading; what is staged stays (temporary tables are the connection's).
                try connection.run("COMMIT")
                importWillTakeWriteLock?()
                try connection.run("BEGIN IMMEDIATE")
                lockTaken = (.now, threadCPUTime())
                guard try stillHolds(resolution, staging: staging) else {
                    try connection.run("ROLLBACK")
                    return nil
                }
            }
            let revision = try readRevision() + 1
            // Every change is logged, a large import's too: a running server applies them
            // (SPEC §3's second) instead of rebuilding in full.
            try beginLogging(revision, by: actor)
            try staging.merge(revision: revision, at: resolution.now)
            try writeRevision(revision)
            // SQLite would checkpoint this large WAL inside the COMMIT call, after it has
            // released the write lock (other writers go on during a passive checkpoint): it is
            // run below, once the lock time is taken, so that the time logged is the lock's.
            try connection.execute("PRAGMA wal_autocheckpoint = 0")
            defer { try? connection.execute("PRAGMA wal_autocheckpoint = \(Self.walAutocheckpointPages)") }
            try connection.run("COMMIT")
            if let lockTaken {
                // CPU time too: on a busy machine the wall time says as much about the others.
                logger.info("import held the write lock for \((ContinuousClock.now - lockTaken.wall).milliseconds) ms", metadata: [
                    "cpu_ms": "\((threadCPUTime() - lockTaken.cpu).milliseconds)", "changes": "\(resolution.changeCount)",
                    "read_under_lock": "\(underLock)"])
            }
            try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            resolution.summary.revision = revision
            return resolution.summary
        } catch {
            if connection.inTransaction { try? connection.run("ROLLBACK") }
            throw error
        }
    }

    /// Adds the organizations or updates their name and external id (the fields given), each
    /// through the rules of `ORG.ADD`, in one transaction and one revision. When any is
    /// refused nothing is written (kind `.importRefused`, every refused line); importing the
    /// same organizations again changes nothing. A dry run answers the same summary.
    public func applyOrganizationImport(
        _ organizations: [OrganizationImport], dryRun: Bool, actor: ChangeActor
    ) throws(StoreError) -> OrganizationImportSummary {
        try writeTransaction(rollingBack: dryRun) { () throws -> OrganizationImportSummary in
            var summary = OrganizationImportSummary()
            var refusals: [ImportRefusal] = []
            var changes: [StateChange] = []
            for organization in organizations {
                pendingChanges = []
                let existed = try self.organization(organization.record.code) != nil
                try connection.run("SAVEPOINT organization")
                do {
                    _ = try apply(.addOrganization(organization.record))
                    try connection.run("RELEASE organization")
                } catch let refusal as WriteRefusal {
                    try connection.run("ROLLBACK TO organization")
                    try connection.run("RELEASE organization")
                    refusals.append(ImportRefusal(line: organization.line, error: refusal))
                    continue
                }
                if pendingChanges.isEmpty {
                    summary.unchanged += 1
                } else if existed {
                    summary.updated += 1
                } else {
                    summary.added += 1
                }
                changes += pendingChanges
            }
            guard refusals.isEmpty else {
                pendingChanges = []
                throw StoreError(.importRefused(refusals), path: connection.path, message:
                    "\(refusals.count) organization\(refusals.count == 1 ? "" : "s") refused; nothing was imported")
            }
            pendingChanges = changes
            let revision = try readRevision()
            summary.revision = dryRun ? revision : try commitPendingChanges(at: revision, by: actor)
            pendingChanges = []
            return summary
        }
    }

    /// Whether what the import decided still holds under the write lock: nothing was
    /// committed since its reading, or nothing committed concerns it — a change to no user it
    /// touches, by which no email, username, phone, identity or id it gives became taken, and
    /// no removal of an organization it adds members to. (A server's sign-ins go on during a
    /// long import; each would otherwise send it back to read everything again.)
    private func stillHolds(_ resolution: ImportResolution, staging: ImportStaging) throws(StoreError) -> Bool {
        guard try readLogFloor() == resolution.logFloor else { return false }
        if try readRevision() == resolution.revision { return true }
        let logged: [ChangeRecord]?
        do {
            logged = try changes(after: resolution.revision)
        } catch {
            throw error as? StoreError ?? StoreError(.sqlite(code: 1), path: connection.path, message: "\(error)")
        }
        guard let changes = logged else { return false }
        let profile = try connection.statement("SELECT email_lower, username, phone FROM users WHERE id = ?")
        let identities = try connection.statement("SELECT provider, provider_user_id FROM identities WHERE user = ?")
        for record in changes {
            switch record.change {
            case .userAdded(let user), .profileUpdated(let user):
                if resolution.touched[user] != nil { return false }
                if try staging.isStagedUser(user) { return false }
                defer { profile.reset() }
                if try profile.find(user) {
                    for (column, index) in [("email_lower", Int32(0)), ("username", 1), ("phone", 2)] {
                        if let value = profile.optionalText(index), try staging.stagedHolder(column, value) != nil {
                            return false
                        }
                    }
                }
                defer { identities.reset() }
                try identities.bind(user, at: 1)
                while try identities.step() {
                    let identity = Identity(provider: identities.text(0), providerUserID: identities.text(1))
                    if try staging.stagedHolder(of: identity) != nil { return false }
                }
            case .userRemoved(let user), .membershipAdded(let user, _), .membershipRemoved(let user, _),
                 .roleAssigned(let user, _, _), .roleUnassigned(let user, _, _),
                 .permissionGranted(let user, _, _), .permissionRevoked(let user, _, _):
                if resolution.touched[user] != nil { return false }
            case .organizationRemoved(let code):
                if try staging.hasStagedMembers(in: code) { return false }
            case .organizationAdded, .organizationUpdated:
                break
            case .policyReloaded:
                return false
            }
        }
        return true
    }

    func readLogFloor() throws(StoreError) -> UInt64 {
        UInt64(try connection.integer("SELECT value FROM meta WHERE key = 'log_floor'") ?? 0)
    }

    /// Decides every record against the state this transaction reads, staging what it writes.
    private func resolveImport(_ users: [ImportedUser], staging: ImportStaging) throws(StoreError) -> ImportResolution {
        var resolver = try ImportResolver(store: self, staging: staging, organizations: Set(try organizations().map(\.code)),
                                          revision: try readRevision(), logFloor: try readLogFloor())
        for record in users {
            try resolver.add(record)
        }
        return resolver.resolution
    }
}

/// What an import changes, as decided against one reading of the state.
struct ImportResolution {
    var summary = ImportSummary()
    var refusals: [ImportRefusal] = []
    /// How many changes the import makes (also those past the log's limit, not staged).
    var changeCount = 0
    /// The revision and log floor of the state read: the merge needs the log to reach back
    /// there, and nothing committed since to concern what the import staged.
    var revision: UInt64
    var logFloor: UInt64
    /// The users the import touches: true for those it creates.
    var touched: [String: Bool] = [:]
    /// The time the import's rows are created and updated at.
    let now = currentMilliseconds()
}

/// Decides the records of an import one after the other, as the writes would apply them,
/// without writing: the state is the database as read plus what earlier records staged.
/// A refused record stages nothing, so the later ones are judged as if it were absent (and
/// every refusal is found).
private struct ImportResolver {
    let store: SQLiteStore
    let staging: ImportStaging
    let organizations: Set<String>
    let defaultRoles: [String]
    var resolution: ImportResolution
    /// The same look-ups in the database as read, prepared once.
    private let stored: StoredState
    /// Existing users whose new profile is staged (so the values they held may be free now).
    private var restaged: Set<String> = []

    init(store: SQLiteStore, staging: ImportStaging, organizations: Set<String>, revision: UInt64,
         logFloor: UInt64) throws(StoreError) {
        self.store = store
        self.staging = staging
        stored = try StoredState(store.connection)
        self.organizations = organizations
        defaultRoles = store.policy.defaultRoles
        resolution = ImportResolution(revision: revision, logFloor: logFloor)
    }

    /// What one record does to one user, decided before anything of it is staged.
    private struct Outcome {
        var user: String
        /// Whether this record creates the user.
        var created: Bool
        /// The user's row to stage: a new user's, or a changed profile.
        var row: UserRow?
        var identities: [Identity] = []
        var memberships: [String] = []
        var grants: [(organization: String, grant: MembershipGrant)] = []
        var changes: [StateChange] = []
    }

    mutating func add(_ record: UserRecord) throws(StoreError) {
        let outcome: Outcome
        do {
            outcome = try decide(record)
        } catch let refusal as WriteRefusal {
            resolution.refusals.append(ImportRefusal(line: record.line, error: refusal))
            return
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.sqlite(code: 1), path: store.connection.path, message: "\(error)")
        }
        try stage(outcome)
        resolution.summary.count(outcome.changes, created: outcome.created)
    }

    private mutating func stage(_ outcome: Outcome) throws(StoreError) {
        let user = outcome.user
        let isNew = resolution.touched[user] ?? outcome.created
        if let row = outcome.row {
            if outcome.created {
                try staging.stageNewUser(user, row, at: resolution.now)
            } else if isNew {
                try staging.restageNewUser(user, row)
            } else {
                try staging.stageProfile(user, row)
                restaged.insert(user)
            }
        }
        resolution.touched[user] = isNew
        for identity in outcome.identities { try staging.stageIdentity(identity, user: user) }
        for organization in outcome.memberships { try staging.stageMembership(user: user, organization: organization) }
        for (organization, grant) in outcome.grants { try staging.stage(grant, user: user, organization: organization) }
        for change in outcome.changes {
            resolution.changeCount += 1
            try staging.stageChange(change)
        }
    }

    // MARK: - Deciding

    private func decide(_ record: UserRecord) throws -> Outcome {
        try check(record)
        let given = try store.importedValues(of: record)
        if let id = record.id {
            if let stored = try currentRow(of: id) {
                return try update(id, from: stored, with: given, record)
            }
            return try create(id, given, record)
        }
        for (column, value) in [("email_lower", given.profile.email?.lowercased()), ("username", given.profile.username),
                                ("phone", given.profile.phone)] {
            if let value, let holder = try holder(column, value), let stored = try currentRow(of: holder) {
                return try update(holder, from: stored, with: given, record)
            }
        }
        var id = try store.generateUserID()
        while resolution.touched[id] != nil { id = try store.generateUserID() }
        return try create(id, given, record)
    }

    /// The checks that need no state: identifiers and keys, identities, and that every
    /// organization, role and permission exists.
    private func check(_ record: UserRecord) throws {
        try WriteCheck.imported(record, organizations: organizations, policy: store.policy)
    }

    private func create(_ id: String, _ given: UserRow, _ record: UserRecord) throws -> Outcome {
        let row = store.newImportedRow(given)
        try refuseValuesHeldByOthers(row.profile, user: id)
        var outcome = Outcome(user: id, created: true, row: row, changes: [.userAdded(user: id)])
        for identity in uniqued(record.identities) {
            if let holder = try holder(of: identity), holder != id {
                throw WriteRefusal(.identityTaken,
                    "identity \(identity.provider) \"\(identity.providerUserID)\" belongs to user \"\(holder)\"")
            }
            outcome.identities.append(identity)
        }
        let memberships = record.memberships.isEmpty
            ? [MembershipRecord(organization: store.policy.settings.defaultOrganization, roles: nil)]
            : record.memberships
        try addMemberships(memberships, to: &outcome, isNew: true, firstSeen: resolution.touched[id] == nil)
        return outcome
    }

    private func update(_ id: String, from stored: UserRow, with given: UserRow, _ record: UserRecord) throws -> Outcome {
        let isNew = resolution.touched[id] == true
        var outcome = Outcome(user: id, created: false)
        let row = store.updatedImportedRow(stored, with: given)
        var changed = false
        if row != stored {
            try refuseValuesHeldByOthers(row.profile, user: id)
            outcome.row = row
            changed = true
        }
        for identity in uniqued(record.identities) {
            switch try holder(of: identity) {
            case nil:
                outcome.identities.append(identity)
                changed = true
            case id?:
                break
            case let other?:
                throw WriteRefusal(.identityTaken,
                    "identity \(identity.provider) \"\(identity.providerUserID)\" belongs to user \"\(other)\"")
            }
        }
        if changed { outcome.changes.append(.profileUpdated(user: id)) }
        try addMemberships(record.memberships, to: &outcome, isNew: isNew, firstSeen: resolution.touched[id] == nil)
        return outcome
    }

    /// Adds the memberships (the default roles when one is new and gives none) and their grants.
    /// `isNew`: the user is not in the database; `firstSeen`: nothing is staged for the user yet
    /// (each spares the look-ups that could find nothing).
    private func addMemberships(_ memberships: [MembershipRecord], to outcome: inout Outcome, isNew: Bool,
                                firstSeen: Bool) throws {
        let user = outcome.user
        var added: Set<String> = []
        for membership in memberships {
            let organization = membership.organization
            let roles: [String]
            if added.contains(organization) {
                roles = membership.roles ?? []
            } else if try isMember(user, organization, isNew: isNew, firstSeen: firstSeen) {
                roles = membership.roles ?? []
            } else {
                added.insert(organization)
                outcome.memberships.append(organization)
                outcome.changes.append(.membershipAdded(user: user, organization: organization))
                roles = membership.roles ?? defaultRoles
            }
            let joined = added.contains(organization)
            for grant in uniqued(roles).map(MembershipGrant.role) + uniqued(membership.permissions).map(MembershipGrant.permission)
            where !outcome.grants.contains(where: { $0.organization == organization && $0.grant.key == grant.key
                                                       && $0.grant.table == grant.table }) {
                if !joined, try holds(grant, user, organization, isNew: isNew, firstSeen: firstSeen) { continue }
                outcome.grants.append((organization, grant))
                outcome.changes.append(grant.added(user: user, organization: organization))
            }
        }
    }

    /// Refuses an email, username or phone that another user holds.
    private func refuseValuesHeldByOthers(_ profile: UserProfile, user: String) throws {
        if let email = profile.email, let holder = try holder("email_lower", email.lowercased()), holder != user {
            throw WriteRefusal.emailTaken(email, owner: holder)
        }
        if let username = profile.username, let holder = try holder("username", username), holder != user {
            throw WriteRefusal.usernameTaken(username, owner: holder)
        }
        if let phone = profile.phone, let holder = try holder("phone", phone), holder != user {
            throw WriteRefusal.phoneTaken(phone, owner: holder)
        }
    }

    // MARK: - The state: the database as read, plus what is staged

    /// The row of user `id` as this import left it so far, or nil when there is no such user.
    private func currentRow(of id: String) throws(StoreError) -> UserRow? {
        if resolution.touched[id] == true || restaged.contains(id) { return try staging.stagedRow(of: id) }
        if stored.hasNoUsers { return nil }
        defer { stored.userRow.reset() }
        return try stored.userRow.find(id) ? UserRow(stored.userRow) : nil
    }

    /// Who holds `value` in `column` (`email_lower`, `username`, `phone`) now: a row this
    /// import staged, else the database's holder unless this import gave that user a new row.
    private func holder(_ column: String, _ value: String) throws(StoreError) -> String? {
        if let staged = try staging.stagedHolder(column, value) { return staged }
        guard !stored.hasNoUsers, let holder = try stored.holders[column]?.firstText(value),
              !restaged.contains(holder) else { return nil }
        return holder
    }

    /// Who holds `identity` now (imports never remove identities).
    private func holder(of identity: Identity) throws(StoreError) -> String? {
        if let staged = try staging.stagedHolder(of: identity) { return staged }
        if stored.hasNoUsers { return nil }
        return try stored.identityHolder.firstText(identity.provider, identity.providerUserID)
    }

    private func isMember(_ user: String, _ organization: String, isNew: Bool, firstSeen: Bool) throws(StoreError) -> Bool {
        if !firstSeen, try staging.isStagedMember(user: user, organization: organization) { return true }
        if isNew { return false }
        return try stored.member.firstText(user, organization) != nil
    }

    private func holds(_ grant: MembershipGrant, _ user: String, _ organization: String, isNew: Bool,
                       firstSeen: Bool) throws(StoreError) -> Bool {
        if !firstSeen, try staging.isStaged(grant, user: user, organization: organization) { return true }
        if isNew { return false }
        let statement = switch grant {
        case .role: stored.role
        case .permission: stored.grant
        }
        return try statement.firstText(user, organization, grant.key) != nil
    }
}

/// The look-ups an import makes in the database, prepared once for its millions of calls.
private struct StoredState {
    let userRow, identityHolder, member, role, grant: SQLiteStatement
    /// Whether the database holds no user (a first import): then nothing is looked up in it.
    let hasNoUsers: Bool
    /// By column (`email_lower`, `username`, `phone`): the user holding a value (the first by
    /// id, should a database from before unique usernames and phones hold one twice).
    let holders: [String: SQLiteStatement]

    init(_ connection: SQLiteConnection) throws(StoreError) {
        userRow = try connection.statement("SELECT \(UserRow.columns) FROM users WHERE id = ?")
        identityHolder = try connection.statement("SELECT user FROM identities WHERE provider = ? AND provider_user_id = ?")
        member = try connection.statement("SELECT 1 FROM memberships WHERE user = ? AND org = ?")
        role = try connection.statement("SELECT 1 FROM role_assignments WHERE user = ? AND org = ? AND role = ?")
        grant = try connection.statement("SELECT 1 FROM direct_grants WHERE user = ? AND org = ? AND permission = ?")
        var holders: [String: SQLiteStatement] = [:]
        for column in ["email_lower", "username", "phone"] {
            holders[column] = try connection.statement("SELECT id FROM users WHERE \(column) = ? ORDER BY id LIMIT 1")
        }
        self.holders = holders
        hasNoUsers = try connection.integer("SELECT EXISTS (SELECT 1 FROM users)") == 0
    }
}

// The rules of a user's row, as the writes apply them (`insertUser`, `updateProfile`): an
// import decides rows itself, outside the write lock, so it must reach the same ones.
extension SQLiteStore {
    /// The profile and flags a record gives, checked as `insertUser` and `updateProfile`
    /// check them: blank values dropped, the email's form.
    func importedValues(of record: UserRecord) throws -> UserRow {
        let profile = record.profile.withoutBlanks()
        try checkProfile(profile)
        return UserRow(profile: profile, emailVerified: profile.email == nil ? nil : record.emailVerified,
                       phoneVerified: record.phoneVerified)
    }

    /// The row a new user gets from what a record gives (`UserRow.importedAsNew`).
    func newImportedRow(_ given: UserRow) -> UserRow {
        given.importedAsNew()
    }

    /// The row of an existing user after a record (`UserRow.updated(byImporting:)`).
    func updatedImportedRow(_ stored: UserRow, with given: UserRow) -> UserRow {
        stored.updated(byImporting: given)
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

extension Duration {
    /// The duration in whole milliseconds.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

/// The CPU time this thread has used.
private func threadCPUTime() -> Duration {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
}

/// The identities without repeats, in first-seen order.
private func uniqued(_ identities: [Identity]) -> [Identity] {
    var seen = Set<Identity>()
    return identities.filter { seen.insert($0).inserted }
}
