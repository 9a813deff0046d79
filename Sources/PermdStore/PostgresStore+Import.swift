import Foundation
public import PermdCore
import PermdPolicy

extension PostgresStore {
    /// Imports `users` through the rules of SPEC §4 in one transaction and one revision,
    /// set-based (`PostgresImportState`, `PostgresImportResolver`, `PostgresImportWrites`):
    /// under the revision row's lock, taken first so that the import is one revision in commit
    /// order, the state the records concern is read once, every record is decided in memory
    /// against it and what earlier records did (a refused record does nothing), and the result
    /// is copied in. When any record is refused, nothing is written (kind `.importRefused`,
    /// every refused line).
    ///
    /// A dry run reads and decides the same, and writes nothing; a read-only store can run
    /// one (its role needs the rights to create temporary tables).
    public func applyImport(_ users: [ImportedUser], dryRun: Bool, actor: ChangeActor) throws(StoreError) -> ImportSummary {
        let outcome = try writeTransaction(retryingKeyViolations: true, rollingBack: dryRun) { transaction, _ in
            try transaction.run("SELECT value FROM permd.revision FOR UPDATE")
            if self.isReadOnly {
                // As a writer would open the database: the declared organizations synced.
                var rules = WriteRules(transaction, policy: self.policy)
                try rules.syncDeclaredOrganizations(location: self.location.description)
            }
            let connection = transaction.connection
            let organizations = Set(try transaction.run("SELECT code FROM permd.organizations").compactMap { $0.text(0) })
            var resolver = PostgresImportResolver(state: try PostgresImportState.read(for: users, in: connection),
                                                  policy: self.policy, organizations: organizations)
            for record in users { try resolver.add(record) }
            guard resolver.refusals.isEmpty else { throw ImportRefused(refusals: resolver.refusals, noun: "record") }
            // The revision is handed out by the merge itself (its changes are copied in, too
            // many for the statements `writeTransaction` logs with), so no group is appended.
            if !dryRun && !resolver.writes.changes.isEmpty {
                _ = try resolver.writes.merge(into: connection, at: currentMilliseconds(), by: actor)
            }
            return resolver.summary
        }
        var summary = outcome.value
        summary.revision = outcome.last
        return summary
    }

    /// Imports organizations, each through the rules of `ORG.ADD`, in one
    /// transaction and one revision; when any is refused nothing is written.
    public func applyOrganizationImport(
        _ organizations: [OrganizationImport], dryRun: Bool, actor: ChangeActor
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
            if !changes.isEmpty { groups.append(LoggedRevision(changes, by: actor)) }
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
