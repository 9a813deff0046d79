import PermdCore
import PermdIndex
import PermdPolicy
import Testing

@Test func diffMatchesAHandComputedAnswer() {
    // OLD: billing-admin = viewer + write:invoices + refund:payments.
    // NEW: billing-admin drops refund:payments; viewer gains delete:org through a new key.
    let new = PolicySet(
        permissions: testPolicy.permissions,
        roles: testPolicy.roles.map { role in
            var role = role
            if role.key == "billing-admin" { role.permissions = ["write:invoices"] }
            if role.key == "viewer" { role.permissions = ["read:*", "delete:org"] }
            return role
        },
        organizations: testPolicy.organizations, settings: testPolicy.settings)
    let state = InMemoryState(
        organizations: ["org_a"], users: ["alice", "bob", "carol"],
        memberships: [
            .init(user: "alice", organization: "org_a", roles: ["billing-admin"]),
            .init(user: "bob", organization: "org_a", roles: ["viewer"], permissions: ["refund:payments"]),
            .init(user: "carol", organization: "org_a", roles: ["admin"]),
        ])
    let changes = PolicyImpact.compare(
        old: IndexSnapshot.build(policy: testPolicy, state: state, revision: 1),
        new: IndexSnapshot.build(policy: new, state: state, revision: 1))
    // By hand: alice gains delete:org (through viewer included by billing-admin) and loses
    // refund:payments; bob gains delete:org and keeps refund:payments (direct); carol
    // (admin = *) changes nothing.
    #expect(changes.map(Change.init) == [
        Change(.granted, "alice", "org_a", "delete:org", [.role("billing-admin")]),
        Change(.revoked, "alice", "org_a", "refund:payments", [.role("billing-admin")]),
        Change(.granted, "bob", "org_a", "delete:org", [.role("viewer")]),
    ])
}

/// A `GrantChange`, comparable in one expectation.
private struct Change: Equatable {
    var kind: GrantChange.Kind
    var user: String
    var organization: String
    var permission: String
    var sources: [GrantSource]

    init(_ kind: GrantChange.Kind, _ user: String, _ organization: String, _ permission: String,
         _ sources: [GrantSource]) {
        (self.kind, self.user, self.organization, self.permission, self.sources) =
            (kind, user, organization, permission, sources)
    }

    init(_ change: GrantChange) {
        self.init(change.kind, change.user, change.organization, change.permission, change.sources)
    }
}
