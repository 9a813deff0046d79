import PermdCore
import PermdIndex
import PermdPolicy
import PermdProtocol
import Testing

/// The state behind the effective-permission table (SPEC §1).
private let state = InMemoryState(
    organizations: ["org_default", "org_a", "org_b"],
    users: ["alice", "bob", "carol", "dave", "erin"],
    memberships: [
        .init(user: "alice", organization: "org_a", roles: ["billing-admin"]),
        .init(user: "alice", organization: "org_b", roles: ["viewer"], permissions: ["delete:org"]),
        .init(user: "bob", organization: "org_a", permissions: ["write:invoices"]),
        .init(user: "carol", organization: "org_b", roles: ["admin"]),
        .init(user: "dave", organization: "org_a", roles: ["empty", "ghost-role"], permissions: ["ghost:perm"]),
        .init(user: "erin", organization: "org_a", roles: ["viewer", "support"], permissions: ["read:invoices"]),
        .init(user: "erin", organization: "org_default"),
    ],
    revision: 7)

private let snapshot = IndexSnapshot.build(policy: testPolicy, state: state, revision: 7)

/// (user, org, permission) → the exact EXPLAIN answer.
private let cases: [(String, String, String, String)] = [
    // A role's own permissions and those of the roles it includes, through a wildcard.
    ("alice", "org_a", "refund:payments", "ALLOW role:billing-admin"),
    ("alice", "org_a", "read:invoices", "ALLOW role:billing-admin"),
    ("alice", "org_a", "read:reports", "ALLOW role:billing-admin"),
    ("alice", "org_a", "delete:org", "DENY not-granted"),
    // Grants are per membership: org_b holds other roles and a direct grant.
    ("alice", "org_b", "delete:org", "ALLOW direct"),
    ("alice", "org_b", "read:reports", "ALLOW role:viewer"),
    ("alice", "org_b", "write:invoices", "DENY not-granted"),
    // Direct grants only.
    ("bob", "org_a", "write:invoices", "ALLOW direct"),
    ("bob", "org_a", "read:invoices", "DENY not-granted"),
    // `*` grants everything.
    ("carol", "org_b", "manage:users", "ALLOW role:admin"),
    ("carol", "org_b", "delete:org", "ALLOW role:admin"),
    // A role granting nothing, an unknown role and an unknown direct permission grant nothing.
    ("dave", "org_a", "read:invoices", "DENY not-granted"),
    // Several sources, roles sorted by key, then direct; includes are transitive.
    ("erin", "org_a", "read:invoices", "ALLOW role:support role:viewer direct"),
    ("erin", "org_a", "refund:payments", "ALLOW role:support"),
    ("erin", "org_default", "read:invoices", "DENY not-granted"),
    // Non-members and unknowns, in precedence order.
    ("bob", "org_b", "read:invoices", "DENY not-member"),
    ("carol", "org_default", "read:invoices", "DENY not-member"),
    ("zed", "org_a", "read:invoices", "DENY unknown-user"),
    ("zed", "org_zz", "read:nothing", "DENY unknown-user"),
    ("alice", "org_zz", "read:invoices", "DENY unknown-org"),
    ("alice", "org_zz", "read:nothing", "DENY unknown-org"),
    ("bob", "org_b", "read:nothing", "DENY not-member"),
    ("alice", "org_a", "read:nothing", "DENY unknown-permission"),
    ("alice", "org_a", "", "DENY unknown-permission"),
    ("", "org_a", "read:invoices", "DENY unknown-user"),
]

@Test(arguments: cases)
func effectivePermission(user: String, organization: String, permission: String, expected: String) {
    let explanation = snapshot.explain(user: user, organization: organization, permission: permission)
    #expect(Reply.line(explanation) == expected)
    let allowed = expected.hasPrefix("ALLOW")
    #expect(snapshot.check(user: user, organization: organization, permission: permission) == allowed)
    #expect(checkBytes(snapshot, user, organization, permission) == allowed)
    #expect(snapshot.permissions(user: user, organization: organization).contains(permission) == allowed)
}

@Test func everyDenyReasonIsReachable() {
    let reasons = Set(cases.compactMap { $0.3.hasPrefix("DENY ") ? String($0.3.dropFirst(5)) : nil })
    #expect(reasons == Set(DenyReason.allCases.map(Reply.text)))
}

@Test func permissionsAreSortedAndRolesAreTheAssignedOnes() {
    #expect(snapshot.permissions(user: "alice", organization: "org_a")
        == ["read:invoices", "read:reports", "refund:payments", "write:invoices"])
    #expect(snapshot.permissions(user: "alice", organization: "org_b") == ["delete:org", "read:invoices", "read:reports"])
    #expect(snapshot.roles(user: "alice", organization: "org_a") == ["billing-admin"])
    #expect(snapshot.roles(user: "erin", organization: "org_a") == ["support", "viewer"])
    #expect(snapshot.roles(user: "dave", organization: "org_a") == ["empty"])
    #expect(snapshot.directPermissions(user: "erin", organization: "org_a") == ["read:invoices"])
    #expect(snapshot.permissions(user: "zed", organization: "org_a").isEmpty)
    #expect(snapshot.roles(user: "bob", organization: "org_b").isEmpty)
}

@Test func organizationsOfAUser() {
    #expect(snapshot.organizations(user: "alice") == ["org_a", "org_b"])
    #expect(snapshot.organizations(user: "alice", permission: "delete:org") == ["org_b"])
    #expect(snapshot.organizations(user: "alice", permission: "read:invoices") == ["org_a", "org_b"])
    #expect(snapshot.organizations(user: "erin", permission: "read:invoices") == ["org_a"])
    #expect(snapshot.organizations(user: "alice", permission: "read:nothing").isEmpty)
    #expect(snapshot.organizations(user: "zed").isEmpty)
}

@Test func declaredOrganizationsAreKnownWithoutState() {
    let empty = IndexSnapshot.build(policy: testPolicy, state: InMemoryState(), revision: 0)
    #expect(empty.explain(user: "alice", organization: "org_default", permission: "read:invoices")
        == .deny(.unknownUser))
    let lonely = IndexSnapshot.build(policy: testPolicy, state: InMemoryState(users: ["alice"]), revision: 0)
    #expect(lonely.explain(user: "alice", organization: "org_default", permission: "read:invoices")
        == .deny(.notMember))
}

@Test func aMembershipLookedUpOnceDecidesEveryPermission() throws {
    let permissions = testPolicy.permissions.map(\.key)
    for membership in state.memberships {
        let slot = Array(membership.user.utf8).withUnsafeBytes { user in
            Array(membership.organization.utf8).withUnsafeBytes { organization in
                snapshot.membershipSlot(user: user, organization: organization)
            }
        }
        let found = try #require(slot)
        for permission in permissions {
            #expect(Array(permission.utf8).withUnsafeBytes { snapshot.permissionSlot($0) } != nil)
            #expect(Array(permission.utf8).withUnsafeBytes { snapshot.decide(found, $0) }
                == snapshot.permissions(user: membership.user, organization: membership.organization).contains(permission))
        }
    }
    #expect(Array("read:nothing".utf8).withUnsafeBytes { snapshot.permissionSlot($0) } == nil)
}

@Test func statisticsCountTheState() {
    let statistics = snapshot.statistics
    #expect(statistics.users == 5)
    #expect(statistics.organizations == 3)
    #expect(statistics.memberships == 7)
    #expect(statistics.roles == 5)
    #expect(statistics.permissions == 6)
    #expect(statistics.indexBytes > 0)
    #expect(snapshot.revision == 7)
}
