import PermdCore
import PermdPolicy

// A PostgreSQL import, set-based (SPEC §8: a million rows within a minute): the state the
// records concern is read in a few statements, every record is decided in memory against it
// (as the writes would apply them one after the other), and what they change is written with
// COPY and a few statements — instead of some six round trips a record.

/// What an import decides against: the users, identities, memberships and grants the records
/// can meet (read once, `read(for:in:)`), then kept as the records change them.
struct PostgresImportState {
    /// Every user read or created so far, with its current row.
    var rows: [String: UserRow] = [:]
    /// Who holds each lowercased email, username and phone among `rows`.
    var emails: [String: String] = [:]
    var usernames: [String: String] = [:]
    var phones: [String: String] = [:]
    var identities: [Identity: String] = [:]
    var memberships: Set<Membership> = []
    var grants: Set<Grant> = []

    struct Membership: Hashable {
        var user: String
        var organization: String
    }

    struct Grant: Hashable {
        var user: String
        var organization: String
        var grant: MembershipGrant
    }

    /// Reads what the records can meet: the users they name by id, email, username or phone,
    /// the identities they give, and the memberships and grants of those users. The keys are
    /// copied into temporary tables and joined, so the reading costs what the file holds, not
    /// what the database holds; a database without users is not read at all.
    static func read(for records: [UserRecord], in connection: PostgresConnection) throws(PostgresError) -> Self {
        var state = Self()
        guard try connection.integer("SELECT 1 WHERE EXISTS (SELECT 1 FROM permd.users)") != nil else { return state }
        try connection.execute("""
            CREATE TEMP TABLE import_keys (id text COLLATE "C", email_lower text COLLATE "C", username text COLLATE "C",
                                           phone text COLLATE "C") ON COMMIT DROP;
            CREATE TEMP TABLE import_identity_keys (provider text COLLATE "C", provider_user_id text COLLATE "C")
                ON COMMIT DROP
            """)
        try connection.copy("COPY import_keys FROM STDIN") { rows throws(PostgresError) in
            for record in records {
                let profile = record.profile.withoutBlanks()
                try rows.row(record.id, profile.email?.lowercased(), profile.username, profile.phone)
            }
        }
        try connection.copy("COPY import_identity_keys FROM STDIN") { rows throws(PostgresError) in
            for record in records {
                for identity in record.identities { try rows.row(identity.provider, identity.providerUserID) }
            }
        }
        // Statistics, so that the planner joins a few keys by index and many by hash.
        try connection.execute("ANALYZE import_keys; ANALYZE import_identity_keys")
        let selected = "SELECT \(UserRow.columns), id, email_lower FROM permd.users WHERE"
        try connection.execute("""
            CREATE TEMP TABLE import_found ON COMMIT DROP AS
            \(selected) id IN (SELECT id FROM import_keys)
            UNION \(selected) email_lower IN (SELECT email_lower FROM import_keys)
            UNION \(selected) username IN (SELECT username FROM import_keys)
            UNION \(selected) phone IN (SELECT phone FROM import_keys);
            ANALYZE import_found
            """)
        try connection.forEachRow("SELECT * FROM import_found") { row throws(PostgresError) in
            guard let id = row.text(8) else { return }
            let stored = UserRow(row)
            state.rows[id] = stored
            if let email = row.text(9) { state.emails[email] = id }
            if let username = stored.profile.username { state.usernames[username] = id }
            if let phone = stored.profile.phone { state.phones[phone] = id }
        }
        try connection.forEachRow("""
            SELECT provider, provider_user_id, user_id FROM permd.identities
            WHERE (provider, provider_user_id) IN (SELECT provider, provider_user_id FROM import_identity_keys)
            """) { row throws(PostgresError) in
            guard let provider = row.text(0), let providerUserID = row.text(1), let user = row.text(2) else { return }
            state.identities[Identity(provider: provider, providerUserID: providerUserID)] = user
        }
        let ofFound = "WHERE user_id IN (SELECT id FROM import_found)"
        try connection.forEachRow("SELECT user_id, org FROM permd.memberships \(ofFound)") { row throws(PostgresError) in
            guard let user = row.text(0), let organization = row.text(1) else { return }
            state.memberships.insert(Membership(user: user, organization: organization))
        }
        for kind in [MembershipGrant.role(""), .permission("")] {
            try connection.forEachRow("SELECT user_id, org, \(kind.column) FROM permd.\(kind.table) \(ofFound)") {
                row throws(PostgresError) in
                guard let user = row.text(0), let organization = row.text(1), let key = row.text(2) else { return }
                let grant: MembershipGrant = switch kind {
                case .role: .role(key)
                case .permission: .permission(key)
                }
                state.grants.insert(Grant(user: user, organization: organization, grant: grant))
            }
        }
        return state
    }

    /// Gives `user` its new row, moving the unique values it held to the ones it holds now.
    mutating func set(_ row: UserRow, of user: String) {
        if let old = rows[user]?.profile {
            if let email = old.email?.lowercased(), emails[email] == user { emails[email] = nil }
            if let username = old.username, usernames[username] == user { usernames[username] = nil }
            if let phone = old.phone, phones[phone] == user { phones[phone] = nil }
        }
        rows[user] = row
        if let email = row.profile.email?.lowercased() { emails[email] = user }
        if let username = row.profile.username { usernames[username] = user }
        if let phone = row.profile.phone { phones[phone] = user }
    }
}

/// What an import writes, in the order the records made it.
struct PostgresImportWrites {
    /// New users in the order they were created, and their rows as the last record left them.
    var newUsers: [String] = []
    var newRows: [String: UserRow] = [:]
    /// Existing users' new rows.
    var profiles: [String: UserRow] = [:]
    var identities: [(Identity, String)] = []
    var memberships: [PostgresImportState.Membership] = []
    var grants: [PostgresImportState.Grant] = []
    var changes: [StateChange] = []

    /// Writes everything inside the caller's transaction (which holds the revision row's
    /// lock) as one revision, logs the changes with it (made by `actor`) and notifies. The
    /// target tables take COPY directly (their keys and foreign keys check every row; a row another transaction
    /// committed first fails the statement, and the store runs the import again); only the
    /// updated profiles are staged, to update them in one statement.
    /// - Returns: the revision.
    func merge(into connection: PostgresConnection, at now: Int64, by actor: ChangeActor) throws(PostgresError) -> UInt64 {
        if !profiles.isEmpty {
            try connection.execute("""
                CREATE TEMP TABLE import_profiles (
                    id text COLLATE "C" PRIMARY KEY, email text, email_lower text COLLATE "C", username text COLLATE "C",
                    phone text COLLATE "C", first_name text, last_name text, picture text, email_verified boolean,
                    phone_verified boolean
                ) ON COMMIT DROP
                """)
            try connection.copy("COPY import_profiles FROM STDIN") { rows throws(PostgresError) in
                for (id, row) in profiles { try rows.user(id, row) }
            }
            // The unique values cleared first, then set: users that swap emails (or hand one
            // to a new user) never hold one value twice on the way.
            try connection.execute("""
                UPDATE permd.users SET email_lower = NULL, username = NULL, phone = NULL
                WHERE id IN (SELECT id FROM import_profiles)
                """)
            try connection.query("""
                UPDATE permd.users AS u SET email = p.email, email_lower = p.email_lower, username = p.username,
                    phone = p.phone, first_name = p.first_name, last_name = p.last_name, picture = p.picture,
                    email_verified = p.email_verified, phone_verified = p.phone_verified, updated_at = $1
                FROM import_profiles AS p WHERE u.id = p.id
                """, .integer(now))
        }
        let time = String(now)
        if !newUsers.isEmpty {
            try connection.copy("""
                COPY permd.users (id, email, email_lower, username, phone, first_name, last_name, picture, email_verified,
                                  phone_verified, created_at, updated_at) FROM STDIN
                """) { rows throws(PostgresError) in
                for id in newUsers.sorted() {
                    guard let row = newRows[id] else { continue }
                    try rows.user(id, row, time, time)
                }
            }
        }
        if !identities.isEmpty {
            try connection.copy("COPY permd.identities (provider, provider_user_id, user_id) FROM STDIN") {
                rows throws(PostgresError) in
                for (identity, user) in identities { try rows.row(identity.provider, identity.providerUserID, user) }
            }
        }
        if !memberships.isEmpty {
            try connection.copy("COPY permd.memberships (user_id, org) FROM STDIN") { rows throws(PostgresError) in
                for membership in memberships.sorted(by: Self.keyOrder) {
                    try rows.row(membership.user, membership.organization)
                }
            }
        }
        for kind in [MembershipGrant.role(""), .permission("")] {
            let selected = grants.filter { $0.grant.table == kind.table }.sorted(by: Self.keyOrder)
            if selected.isEmpty { continue }
            try connection.copy("COPY permd.\(kind.table) (user_id, org, \(kind.column)) FROM STDIN") {
                rows throws(PostgresError) in
                for grant in selected { try rows.row(grant.user, grant.organization, grant.grant.key) }
            }
        }
        let bumped = try connection.query("UPDATE permd.revision SET value = value + 1 RETURNING value")
        let revision = UInt64(bumped[0].integer(0) ?? 0)
        let logged = String(revision)
        try connection.copy("COPY permd.changes (revision, kind, user_id, org, key) FROM STDIN") {
            rows throws(PostgresError) in
            for change in changes {
                let row = ChangeLogRow.encode(change)
                try rows.row(logged, row.kind, row.user, row.org, row.key)
            }
        }
        try PostgresStore.logRevisions([actor], after: revision - 1, in: connection)
        try connection.query("SELECT pg_notify($1, $2)", .text(PostgresSchema.changesChannel), .text(logged))
        return revision
    }
}

extension PostgresImportWrites {
    // Rows are copied in key order (each table's primary key, byte order as `COLLATE "C"`
    // for the ASCII ids they mostly are): every index then grows at its right edge and each
    // foreign-key check finds its parent in the pages the previous ones read, instead of
    // touching index pages all over (the tables outgrow the server's buffers).
    static func keyOrder(_ a: PostgresImportState.Membership, _ b: PostgresImportState.Membership) -> Bool {
        a.user != b.user ? a.user < b.user : a.organization < b.organization
    }

    static func keyOrder(_ a: PostgresImportState.Grant, _ b: PostgresImportState.Grant) -> Bool {
        if a.user != b.user { return a.user < b.user }
        if a.organization != b.organization { return a.organization < b.organization }
        return a.grant.key < b.grant.key
    }
}

extension PostgresCopyRows {
    /// Appends a user's id and row (the columns of `permd.users` from `id` to
    /// `phone_verified`), then `more`, and ends the row.
    mutating func user(_ id: String, _ row: UserRow, _ more: String...) throws(PostgresError) {
        let profile = row.profile
        for field in [id, profile.email, profile.email?.lowercased(), profile.username, profile.phone,
                      profile.firstName, profile.lastName, profile.picture,
                      row.emailVerified.map { $0 ? "t" : "f" }, row.phoneVerified.map { $0 ? "t" : "f" }] {
            try append(field)
        }
        for field in more { try append(field) }
        try endRow()
    }
}

/// Decides the records of an import one after the other against `state`, as the writes would
/// apply them (SPEC §4): each record sees what the earlier ones did; a refused record does
/// nothing, and every refusal is found. Pure: the store reads the state and writes the result.
struct PostgresImportResolver {
    private(set) var state: PostgresImportState
    private(set) var writes = PostgresImportWrites()
    private(set) var summary = ImportSummary()
    private(set) var refusals: [ImportRefusal] = []
    let policy: PolicySet
    let organizations: Set<String>

    init(state: PostgresImportState, policy: PolicySet, organizations: Set<String>) {
        self.state = state
        self.policy = policy
        self.organizations = organizations
    }

    /// What one record does, decided before any of it is applied.
    private struct Decision {
        var user: String
        var created: Bool
        /// The user's new row (nil: unchanged).
        var row: UserRow?
        var identities: [Identity] = []
        /// The memberships joined (grant nil) and the grants, in the order the record gives
        /// them, as the SQLite import logs them: each membership, then its grants.
        var steps: [(organization: String, grant: MembershipGrant?)] = []

        func joined(_ organization: String) -> Bool {
            steps.contains { $0.organization == organization && $0.grant == nil }
        }
    }

    /// Decides `record` and applies it, or lists it as refused.
    mutating func add(_ record: UserRecord) throws {
        let decision: Decision
        do {
            decision = try decide(record)
        } catch let refusal as WriteRefusal {
            refusals.append(ImportRefusal(line: record.line, error: refusal))
            return
        }
        apply(decision)
    }

    /// Imports one record: a record for an existing user (by id; without an id, by email,
    /// else username, else phone) updates the profile fields it gives and adds the identities,
    /// memberships and grants it lists, never removing any; a new user without memberships
    /// joins the default organization with the default roles.
    private func decide(_ record: UserRecord) throws -> Decision {
        try WriteCheck.imported(record, organizations: organizations, policy: policy)
        let profile = record.profile.withoutBlanks()
        try WriteCheck.profile(profile)
        let given = UserRow(profile: profile, emailVerified: profile.email == nil ? nil : record.emailVerified,
                            phoneVerified: record.phoneVerified)
        var id = record.id
        var stored = id.flatMap { state.rows[$0] }
        if id == nil {
            let holders = [given.profile.email.flatMap { state.emails[$0.lowercased()] },
                           given.profile.username.flatMap { state.usernames[$0] },
                           given.profile.phone.flatMap { state.phones[$0] }]
            for case let found? in holders {
                if let row = state.rows[found] {
                    id = found
                    stored = row
                    break
                }
            }
        }
        let user = id ?? newUserID()
        var decision = Decision(user: user, created: stored == nil)
        if let stored {
            let updated = stored.updated(byImporting: given)
            if updated != stored { decision.row = updated }
        } else {
            decision.row = given.importedAsNew()
        }
        if let row = decision.row { try refuseValuesHeldByOthers(row.profile, user: user) }
        var seen = Set<Identity>()
        for identity in record.identities where seen.insert(identity).inserted {
            switch state.identities[identity] {
            case nil: decision.identities.append(identity)
            case user?: break
            case let other?:
                throw WriteRefusal(.identityTaken,
                    "identity \(identity.provider) \"\(identity.providerUserID)\" belongs to user \"\(other)\"")
            }
        }
        let memberships = stored == nil && record.memberships.isEmpty
            ? [MembershipRecord(organization: policy.settings.defaultOrganization, roles: nil)]
            : record.memberships
        for membership in memberships {
            let organization = membership.organization
            var isNewMembership = !decision.joined(organization)
            if isNewMembership, stored != nil {
                isNewMembership = !state.memberships.contains(.init(user: user, organization: organization))
            }
            if isNewMembership { decision.steps.append((organization, nil)) }
            let roles = isNewMembership ? membership.roles ?? policy.defaultRoles : membership.roles ?? []
            for grant in uniqued(roles).map(MembershipGrant.role) + uniqued(membership.permissions).map(MembershipGrant.permission)
            where !decision.steps.contains(where: { $0.organization == organization && $0.grant == grant }) {
                if !decision.joined(organization),
                   state.grants.contains(.init(user: user, organization: organization, grant: grant)) { continue }
                decision.steps.append((organization, grant))
            }
        }
        return decision
    }

    /// Applies a decision to the state and the writes, logging its changes in the order the
    /// writes make them.
    private mutating func apply(_ decision: Decision) {
        let user = decision.user
        var changes: [StateChange] = []
        if decision.created { changes.append(.userAdded(user: user)) }
        if let row = decision.row {
            if decision.created {
                writes.newUsers.append(user)
                writes.newRows[user] = row
            } else if writes.newRows[user] != nil {
                writes.newRows[user] = row
            } else {
                writes.profiles[user] = row
            }
            state.set(row, of: user)
        }
        for identity in decision.identities {
            state.identities[identity] = user
            writes.identities.append((identity, user))
        }
        if !decision.created && (decision.row != nil || !decision.identities.isEmpty) {
            changes.append(.profileUpdated(user: user))
        }
        for (organization, grant) in decision.steps {
            guard let grant else {
                let membership = PostgresImportState.Membership(user: user, organization: organization)
                state.memberships.insert(membership)
                writes.memberships.append(membership)
                changes.append(.membershipAdded(user: user, organization: organization))
                continue
            }
            let held = PostgresImportState.Grant(user: user, organization: organization, grant: grant)
            guard state.grants.insert(held).inserted else { continue }
            writes.grants.append(held)
            changes.append(grant.added(user: user, organization: organization))
        }
        summary.count(changes, created: decision.created)
        writes.changes += changes
    }

    /// Refuses an email, username or phone that another user holds.
    private func refuseValuesHeldByOthers(_ profile: UserProfile, user: String) throws {
        if let email = profile.email, let owner = state.emails[email.lowercased()], owner != user {
            throw WriteRefusal.emailTaken(email, owner: owner)
        }
        if let username = profile.username, let owner = state.usernames[username], owner != user {
            throw WriteRefusal.usernameTaken(username, owner: owner)
        }
        if let phone = profile.phone, let owner = state.phones[phone], owner != user {
            throw WriteRefusal.phoneTaken(phone, owner: owner)
        }
    }

    /// A new user id no user this import knows has. (One the database holds among the users the
    /// import did not read would fail the COPY's primary key, and the import would run again:
    /// with 128 random bits, that is never.)
    private func newUserID() -> String {
        while true {
            let id = WriteRules<PostgresTransaction>.randomUserID()
            if state.rows[id] == nil { return id }
        }
    }
}
