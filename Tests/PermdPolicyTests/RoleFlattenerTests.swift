import PermdPolicy
import Testing

/// Role semantics: includes over several levels, wildcards, cycles.
@Suite struct RoleFlattenerTests {
    let keys = ["read:invoices", "read:users", "reader:x", "write:invoices", "delete:org"]

    @Test func includesAcrossSeveralLevels() {
        let roles = [
            RoleDefinition(key: "viewer", permissions: ["read:invoices"]),
            RoleDefinition(key: "member", permissions: ["read:users"], includes: ["viewer"]),
            RoleDefinition(key: "lead", permissions: ["write:invoices"], includes: ["member"]),
            RoleDefinition(key: "admin", includes: ["lead", "viewer"]),
        ]
        let grants = RoleFlattener.flatten(roles: roles, permissionKeys: keys)
        #expect(grants["viewer"] == ["read:invoices"])
        #expect(grants["member"] == ["read:invoices", "read:users"])
        #expect(grants["admin"] == ["read:invoices", "read:users", "write:invoices"])
    }

    @Test func wildcards() {
        let sorted = keys.sorted()
        #expect(RoleFlattener.expand("*", sortedKeys: sorted) == sorted)
        #expect(RoleFlattener.expand("read:*", sortedKeys: sorted) == ["read:invoices", "read:users"])
        #expect(RoleFlattener.expand("read*", sortedKeys: sorted) == ["read:invoices", "read:users", "reader:x"])
        #expect(RoleFlattener.expand("zzz:*", sortedKeys: sorted) == [])
        #expect(RoleFlattener.expand("delete:org", sortedKeys: sorted) == ["delete:org"])
        #expect(RoleFlattener.expand("delete:orgs", sortedKeys: sorted) == [])
        #expect(RoleFlattener.matchingRange("read:*", sortedKeys: sorted).count == 2)
    }

    @Test func cyclesAreFoundAndCut() {
        let roles = [
            RoleDefinition(key: "a", permissions: ["read:users"], includes: ["b"]),
            RoleDefinition(key: "b", includes: ["c"]),
            RoleDefinition(key: "c", includes: ["a"]),
            RoleDefinition(key: "d", permissions: ["delete:org"], includes: ["d"]),
            RoleDefinition(key: "e", includes: ["a"]),
        ]
        #expect(RoleFlattener.cycles(roles: roles) == [["a", "b", "c"], ["d"]])
        let grants = RoleFlattener.flatten(roles: roles, permissionKeys: keys)
        #expect(grants["a"] == ["read:users"])
        #expect(grants["d"] == ["delete:org"])
    }

    @Test func policySetFlattensShippedStyleRoles() {
        let policy = PolicySet(
            permissions: keys.map { PermissionDefinition(key: $0) },
            roles: [RoleDefinition(key: "owner", permissions: ["*"]),
                    RoleDefinition(key: "auditor", permissions: ["read:*"], defaultForNewUsers: true)],
            organizations: [OrganizationDefinition(code: "org_default")],
            settings: PolicySettings(defaultOrganization: "org_default"))
        #expect(policy.grantsByRole["owner"] == keys.sorted())
        #expect(policy.grantsByRole["auditor"] == ["read:invoices", "read:users"])
        #expect(policy.defaultRoles == ["auditor"])
    }
}
