import Foundation
import PermdCore
import PermdPolicy

extension PostgresStore {
    /// Imports `users` through the rules of SPEC §4 (`WriteRules.importRecord`) in one
    /// transaction and one revision: the records are decided and written one after the other,
    /// each seeing what the earlier ones wrote; a refused record writes nothing, and when any
    /// is refused the transaction is rolled back (kind `.importRefused`, every refused line).
    /// The revision row is locked first, so the import is one revision in commit order.
    ///
    /// A dry run does the same and rolls back; a read-only store can run one (its role needs
    /// the rights to write, though nothing is kept).
    public func applyImport(_ users: [ImportedUser], dryRun: Bool) throws(StoreError) -> ImportSummary {
        let outcome = try writeTransaction(retryingKeyViolations: true, rollingBack: dryRun) { transaction, groups in
            var refusals: [ImportRefusal] = []
            try transaction.run("SELECT value FROM permd.revision FOR UPDATE")
            var rules = WriteRules(transaction, policy: self.policy)
            if self.isReadOnly {
                // As a writer would open the database: the declared organizations synced.
                try rules.syncDeclaredOrganizations(location: self.location.description)
            }
            rules.changes = []
            var summary = ImportSummary()
            let organizations = Set(try transaction.run("SELECT code FROM permd.organizations").compactMap { $0.text(0) })
            let now = currentMilliseconds()
            for record in users {
                do {
                    let changes = try rules.importRecord(record, organizations: organizations, at: now)
                    summary.count(changes.changes, created: changes.created)
                    rules.changes += changes.changes
                } catch let refusal as WriteRefusal {
                    refusals.append(ImportRefusal(line: record.line, error: refusal))
                }
            }
            guard refusals.isEmpty else { throw ImportRefused(refusals: refusals, noun: "record") }
            if !rules.changes.isEmpty { groups.append(rules.changes) }
            return summary
        }
        var summary = outcome.value
        summary.revision = outcome.last
        return summary
    }

    /// Imports organizations, each through the rules of `ORG.ADD`, in one
    /// transaction and one revision; when any is refused nothing is written.
    public func applyOrganizationImport(
        _ organizations: [OrganizationImport], dryRun: Bool
    ) throws(StoreError) -> OrganizationImportSummary {
        let outcome = try writeTransaction(retryingKeyViolations: true, rollingBack: dryRun) { transaction, groups in
            var refusals: [ImportRefusal] = []
            try transaction.run("SELECT value FROM permd.revision FOR UPDATE")
            var summary = OrganizationImportSummary()
            var changes: [StateChange] = []
            for organization in organizations {
                var rules = WriteRules(transaction, policy: self.policy)
                let existed = try transaction.organization(organization.record.code) != nil
                do {
                    // `ORG.ADD` refuses before it writes: a refused organization leaves nothing.
                    _ = try rules.apply(.addOrganization(organization.record))
                } catch let refusal as WriteRefusal {
                    refusals.append(ImportRefusal(line: organization.line, error: refusal))
                    continue
                }
                summary.count(rules.changes, existed: existed)
                changes += rules.changes
            }
            guard refusals.isEmpty else { throw ImportRefused(refusals: refusals, noun: "organization") }
            if !changes.isEmpty { groups.append(changes) }
            return summary
        }
        var summary = outcome.value
        summary.revision = outcome.last
        return summary
    }
}

/// Ends an import's transaction when a record was refused: rolled back, then reported as
/// `StoreError.Kind.importRefused` with every refused line.
struct ImportRefused: Error {
    var refusals: [ImportRefusal]
    /// What was refused: "record", "organization".
    var noun: String
}

extension OrganizationImportSummary {
    /// Counts one imported organization by what it changed.
    mutating func count(_ changes: [StateChange], existed: Bool) {
        if changes.isEmpty {
            unchanged += 1
        } else if existed {
            updated += 1
        } else {
            added += 1
        }
    }
}

// The rules of one import record (SPEC §4), over the transaction: decided with reads only,
// then written, so that a refused record writes nothing.
extension WriteRules {
    /// What one record did: the changes, and whether it created the user.
    struct ImportedRecord {
        var changes: [StateChange] = []
        var created = false
    }

    /// Imports one record: a record for an existing user (by id; without an id, by email,
    /// else username, else phone) updates the profile fields it gives and adds the identities,
    /// memberships and grants it lists, never removing any; a new user without memberships
    /// joins the default organization with the default roles.
    mutating func importRecord(_ record: UserRecord, organizations: Set<String>, at now: Int64) throws -> ImportedRecord {
        try WriteCheck.imported(record, organizations: organizations, policy: policy)
        let profile = record.profile.withoutBlanks()
        try WriteCheck.profile(profile)
        let given = UserRow(profile: profile, emailVerified: profile.email == nil ? nil : record.emailVerified,
                            phoneVerified: record.phoneVerified)
        var id = record.id
        var stored = try id.flatMap { try transaction.storedRow(ofUser: $0) }
        if id == nil {
            let transaction = transaction
            let holders: [() throws -> String?] = [
                { try given.profile.email.flatMap { try transaction.holder(ofEmail: $0)?.user } },
                { try given.profile.username.flatMap { try transaction.holder(ofUsername: $0) } },
                { try given.profile.phone.flatMap { try transaction.holder(ofPhone: $0) } },
            ]
            for holder in holders {
                if let found = try holder(), let row = try transaction.storedRow(ofUser: found) {
                    id = found
                    stored = row
                    break
                }
            }
        }
        let user = try id ?? generateUserID()
        var imported = ImportedRecord(created: stored == nil)
        // Decide everything first: the row, the identities, the memberships and grants.
        let row: UserRow? = if let stored {
            stored.updated(byImporting: given) == stored ? nil : stored.updated(byImporting: given)
        } else {
            given.importedAsNew()
        }
        if let row { try refuseValuesHeldByOthers(row.profile, user: user) }
        var identities: [Identity] = []
        var seen = Set<Identity>()
        for identity in record.identities where seen.insert(identity).inserted {
            switch try transaction.holder(of: identity) {
            case nil: identities.append(identity)
            case let holder? where holder == user: break
            case let other?:
                throw WriteRefusal(.identityTaken,
                    "identity \(identity.provider) \"\(identity.providerUserID)\" belongs to user \"\(other)\"")
            }
        }
        let memberships = stored == nil && record.memberships.isEmpty
            ? [MembershipRecord(organization: policy.settings.defaultOrganization, roles: nil)]
            : record.memberships
        var joined: [String] = []
        var grants: [(organization: String, grant: MembershipGrant)] = []
        for membership in memberships {
            let organization = membership.organization
            var isNewMembership = !joined.contains(organization)
            if isNewMembership, stored != nil {
                isNewMembership = try !transaction.isMember(user: user, organization: organization)
            }
            if isNewMembership { joined.append(organization) }
            let roles = isNewMembership ? membership.roles ?? policy.defaultRoles : membership.roles ?? []
            for grant in uniqued(roles).map(MembershipGrant.role) + uniqued(membership.permissions).map(MembershipGrant.permission)
            where !grants.contains(where: { $0.organization == organization && $0.grant == grant }) {
                if !joined.contains(organization),
                   try transaction.holds(grant, user: user, organization: organization) { continue }
                grants.append((organization, grant))
            }
        }

        // Then write it.
        if stored == nil {
            imported.changes.append(.userAdded(user: user))
            guard try transaction.insertUser(user, row!, at: now) == .inserted else {
                try refuseValuesHeldByOthers(row!.profile, user: user)
                throw StoreTransactionError.valueTakenByNobody(user: user)
            }
        } else if let row {
            try transaction.updateUser(user, row, at: now)
        }
        for identity in identities { try transaction.insertIdentity(identity, user: user) }
        if stored != nil && (row != nil || !identities.isEmpty) { imported.changes.append(.profileUpdated(user: user)) }
        for organization in joined {
            try transaction.insertMembership(user: user, organization: organization)
            imported.changes.append(.membershipAdded(user: user, organization: organization))
        }
        for (organization, grant) in grants where try transaction.insert(grant, user: user, organization: organization) {
            imported.changes.append(grant.added(user: user, organization: organization))
        }
        return imported
    }
}

extension WriteCheck {
    /// The checks of an import record that need no user: identifiers and keys, identities,
    /// and that every organization (one of `organizations`), role and permission exists.
    static func imported(_ record: UserRecord, organizations: Set<String>, policy: PolicySet) throws {
        if let id = record.id { try userID(id) }
        for membership in record.memberships {
            try id(membership.organization, "organization code")
            for role in membership.roles ?? [] { try key(role, "role") }
            for permission in membership.permissions { try key(permission, "permission") }
        }
        for identity in record.identities where identity.provider.isEmpty || identity.providerUserID.isEmpty {
            throw WriteRefusal(.invalidValue, "an identity has an empty provider or provider user id")
        }
        for membership in record.memberships {
            if !organizations.contains(membership.organization) {
                throw WriteRefusal.unknownOrganization(membership.organization)
            }
            for key in membership.roles ?? [] { try role(key, in: policy) }
            for key in membership.permissions { try permission(key, in: policy) }
        }
    }
}
