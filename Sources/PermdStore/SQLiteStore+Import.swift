import PermdCore
import PermdPolicy

/// The name the agreed API gives import records: the same type export writes.
public typealias ImportedUser = UserRecord

extension SQLiteStore {
    /// Past this many changes, an import is not logged change by change: the log is trimmed
    /// instead, and readers behind it rebuild in full (cheaper than replaying each change).
    static let largeImportChangeCount = 10_000

    /// Imports `users` in one transaction, through the same rules as every write (SPEC §4):
    /// a record for an existing user (by id, else by email) updates the profile fields it
    /// gives and adds the identities, memberships and grants it lists, never removing any;
    /// a new user without memberships joins the default organization with the default roles.
    ///
    /// The whole import is one revision. When any record is refused, nothing is written and
    /// the error (kind `.importRefused`) lists every refused record with its line. A dry run
    /// reports the same summary and rolls back.
    public func applyImport(_ users: [ImportedUser], dryRun: Bool) throws(StoreError) -> ImportSummary {
        try writeTransaction(rollingBack: dryRun) { () throws -> ImportSummary in
            let start = try readRevision()
            var summary = ImportSummary()
            var refusals: [ImportRefusal] = []
            var changes: [StateChange] = []
            for record in users {
                pendingChanges = []
                try connection.run("SAVEPOINT record")
                do {
                    let created = try importRecord(record)
                    try connection.run("RELEASE record")
                    if created {
                        summary.usersCreated += 1
                    } else if pendingChanges.isEmpty {
                        summary.usersUnchanged += 1
                    } else {
                        summary.usersUpdated += 1
                    }
                    for change in pendingChanges {
                        switch change {
                        case .membershipAdded: summary.membershipsAdded += 1
                        case .roleAssigned: summary.rolesAdded += 1
                        case .permissionGranted: summary.permissionsAdded += 1
                        default: break
                        }
                    }
                    changes.append(contentsOf: pendingChanges)
                } catch let refusal as WriteError {
                    try connection.run("ROLLBACK TO record")
                    try connection.run("RELEASE record")
                    refusals.append(ImportRefusal(line: record.line, error: refusal))
                }
            }
            pendingChanges = []
            if !refusals.isEmpty {
                throw StoreError(.importRefused(refusals), path: connection.path, message:
                    "\(refusals.count) record\(refusals.count == 1 ? "" : "s") refused; nothing was imported")
            }
            summary.revision = start
            if !changes.isEmpty && !dryRun {
                summary.revision = start + 1
                if changes.count > Self.largeImportChangeCount {
                    try trimLog(through: summary.revision)
                } else {
                    try appendToLog(changes, revision: summary.revision)
                }
                try writeRevision(summary.revision)
            }
            return summary
        }
    }

    /// Applies one record; true when it created a user.
    private func importRecord(_ record: UserRecord) throws -> Bool {
        if let id = record.id { try checkID(id, "user id") }
        for membership in record.memberships {
            try checkID(membership.organization, "organization code")
            for role in membership.roles ?? [] { try checkKey(role, "role") }
            for permission in membership.permissions { try checkKey(permission, "permission") }
        }
        for identity in record.identities where identity.provider.isEmpty || identity.providerUserID.isEmpty {
            throw WriteError(code: .invalid, message: "an identity has an empty provider or provider user id")
        }
        for membership in record.memberships {
            try requireOrganization(membership.organization)
            for role in membership.roles ?? [] { try requireRole(role) }
            for permission in membership.permissions { try requirePermission(permission) }
        }

        let existing: String? = if let id = record.id {
            try userExists(id) ? id : nil
        } else if let email = record.profile.email {
            try userID(byEmail: email)
        } else {
            nil
        }
        if let user = existing {
            var changed = try updateProfile(of: user, with: record.profile, emailVerified: record.emailVerified,
                                            phoneVerified: record.phoneVerified)
            for identity in record.identities {
                changed = try insertIdentity(identity, user: user) || changed
            }
            if changed { pendingChanges.append(.profileUpdated(user: user)) }
            for membership in record.memberships { try merge(membership, user: user) }
            return false
        }

        let id = try record.id ?? generateUserID()
        try insertUser(id: id, profile: record.profile, emailVerified: record.emailVerified,
                       phoneVerified: record.phoneVerified)
        for identity in record.identities { _ = try insertIdentity(identity, user: id) }
        let memberships = record.memberships.isEmpty
            ? [MembershipRecord(organization: policy.settings.defaultOrganization, roles: nil)]
            : record.memberships
        for membership in memberships { try merge(membership, user: id) }
        return true
    }

    /// Adds the membership (default roles when it is new and gives none) and its grants.
    private func merge(_ membership: MembershipRecord, user: String) throws {
        let organization = membership.organization
        if try isMember(user: user, organization: organization) {
            for role in membership.roles ?? [] { try insertRole(user: user, organization: organization, role: role) }
        } else {
            try insertMembership(user: user, organization: organization, roles: membership.roles)
        }
        for permission in membership.permissions {
            try insertGrant(user: user, organization: organization, permission: permission)
        }
    }
}
