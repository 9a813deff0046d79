import Foundation
import Logging
import PermdCore
import PermdIndex
import PermdPolicy
import PermdStore

/// The state a run loaded (`--users-from DB --policies DIR`): an index snapshot built as
/// the server builds its own, the reference for every answer, and the lists requests are
/// drawn from.
struct ReferenceState: Sendable {
    let snapshot: IndexSnapshot
    /// Every membership as (user, organization), in the index's order.
    let memberships: [Membership]
    /// Every user holding a membership.
    let users: [String]
    /// Every organization with a member.
    let organizations: [String]
    /// Every permission key the policies define, sorted.
    let permissions: [String]
    /// Every role key the policies define, sorted.
    let roles: [String]

    /// A user in an organization.
    struct Membership: Sendable, Hashable {
        var user: String
        var organization: String
    }

    /// Opens the database read-only through `StoreLocation` and builds the index: the
    /// reference never creates, migrates or changes the database the server serves.
    /// - Parameters:
    ///   - database: the `--db` value the server was started with.
    ///   - policies: the policy directory.
    static func load(database: String, policies: String) throws(LoadError) -> ReferenceState {
        let result = PolicyLoader.load(directory: policies)
        guard let policy = result.policy else {
            let errors = result.diagnostics.map(\.description).joined(separator: "\n")
            throw LoadError("the policies in \(policies) do not validate:\n\(errors)")
        }
        var logger = Logger(label: "permd-load")
        logger.logLevel = .warning
        let snapshot: IndexSnapshot
        do {
            let store = try StoreLocation(db: database).open(policy: policy, logger: logger, access: .readOnly)
            snapshot = try IndexSnapshot.build(policy: policy, reader: store)
        } catch let error as StoreError {
            throw LoadError("\(error) (give the --db the server serves)")  // names the database
        } catch {
            throw LoadError("\(database): \(error)")
        }
        return ReferenceState(snapshot: snapshot)
    }

    init(snapshot: IndexSnapshot) {
        self.snapshot = snapshot
        var memberships: [Membership] = []
        snapshot.forEachMembership { memberships.append(Membership(user: $0, organization: $1)) }
        self.memberships = memberships
        var seenUsers = Set<String>()
        users = memberships.compactMap { seenUsers.insert($0.user).inserted ? $0.user : nil }
        var seenOrganizations = Set<String>()
        organizations = memberships.compactMap { seenOrganizations.insert($0.organization).inserted ? $0.organization : nil }
        permissions = snapshot.policy.permissions.map(\.key).sorted()
        roles = snapshot.policy.roles.map(\.key).sorted()
    }

    /// The answer the server must give to `request`, from the snapshot.
    func answer(to request: LoadRequest) -> ExpectedAnswer {
        switch request {
        case .check(let user, let organization, let permission):
            .decision(snapshot.check(user: user, organization: organization, permission: permission))
        case .permissions(let user, let organization):
            .permissions(snapshot.permissions(user: user, organization: organization))
        case .explain(let user, let organization, let permission):
            .explanation(snapshot.explain(user: user, organization: organization, permission: permission))
        case .write:
            .changed
        }
    }

    /// A membership a writer may toggle: a role it does not hold and a permission it lacks;
    /// nil when it holds every role.
    func writeTarget(_ membership: Membership) -> WriteTarget? {
        let held = Set(snapshot.roles(user: membership.user, organization: membership.organization))
        guard let role = roles.first(where: { !held.contains($0) }) else { return nil }
        let effective = Set(snapshot.permissions(user: membership.user, organization: membership.organization))
        let member = permissions.first { !effective.contains($0) } ?? "permd-load:toggle"
        return WriteTarget(user: membership.user, organization: membership.organization, role: role, member: member)
    }
}

/// A problem that stops the run before it starts, with a message a person can act on.
struct LoadError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
