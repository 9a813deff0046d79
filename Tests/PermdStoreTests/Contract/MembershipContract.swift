import PermdCore
import PermdStore
import Testing
import PermdTestSupport

extension StoreContract {
    /// Memberships, roles and direct permissions (SPEC §1, `MEMBER.*`, `ROLE.*`, `PERM.*`).
    @Suite struct Memberships {
        @Test(arguments: StoreBackend.all)
        func aMembershipWithoutARoleListGetsTheDefaultRoles(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice")
            try db.ok(.addMember(user: "alice", organization: "org_acme", roles: nil))
            #expect(try db.membership("alice", "org_acme") == MembershipRecord(organization: "org_acme", roles: ["viewer"]))
            try db.addUser("bob")
            try db.ok(.addMember(user: "bob", organization: "org_acme", roles: ["auditor"]))
            #expect(try db.membership("bob", "org_acme") == MembershipRecord(organization: "org_acme", roles: ["auditor"]))
            try db.addUser("carol")
            try db.ok(.addMember(user: "carol", organization: "org_acme", roles: []))
            #expect(try db.membership("carol", "org_acme") == MembershipRecord(organization: "org_acme", roles: []))
        }

        @Test(arguments: StoreBackend.all)
        func joiningAgainAddsTheRolesGivenAndNothingElse(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", organizations: ["org_acme"], roles: [])
            let revision = try db.store.currentRevision()
            #expect(try db.ok(.addMember(user: "alice", organization: "org_acme", roles: nil)) == revision,
                    "an existing membership does not get the defaults")
            #expect(try db.ok(.addMember(user: "alice", organization: "org_acme", roles: ["auditor", "viewer"]))
                == revision + 1)
            #expect(try db.membership("alice", "org_acme")?.roles == ["auditor", "viewer"])
            #expect(try db.ok(.addMember(user: "alice", organization: "org_acme", roles: ["auditor"])) == revision + 1)
        }

        @Test(arguments: StoreBackend.all)
        func grantsNeedAMembership(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice")
            try db.expectRefused(.assignRole(user: "alice", organization: "org_acme", role: "viewer"),
                                 .notMember, naming: "alice", "org_acme")
            try db.expectRefused(.grantPermission(user: "alice", organization: "org_acme", permission: "read:invoices"),
                                 .notMember, naming: "alice", "org_acme")
            try db.expectRefused(.assignRole(user: "nobody", organization: "org_acme", role: "viewer"),
                                 .unknownUser, naming: "nobody")
            try db.expectRefused(.grantPermission(user: "alice", organization: "org_nowhere", permission: "read:invoices"),
                                 .unknownOrganization, naming: "org_nowhere")
            try db.expectRefused(.addMember(user: "alice", organization: "org_nowhere", roles: nil),
                                 .unknownOrganization, naming: "org_nowhere")
            try db.expectRefused(.addMember(user: "nobody", organization: "org_acme", roles: nil),
                                 .unknownUser, naming: "nobody")
            try db.expectRefused(.removeMember(user: "nobody", organization: "org_acme"), .unknownUser)
            try db.expectRefused(.removeMember(user: "alice", organization: "org_nowhere"), .unknownOrganization)
        }

        /// Removing a grant that is not held still names an unknown user or organization
        /// (the rules look them up only when nothing was removed); for a known pair it is a no-op.
        @Test(arguments: StoreBackend.all)
        func removingAGrantNotHeldNamesAnUnknownUserOrOrganization(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice")
            try db.expectRefused(.unassignRole(user: "nobody", organization: "org_default", role: "viewer"),
                                 .unknownUser, naming: "nobody")
            try db.expectRefused(.revokePermission(user: "alice", organization: "org_nowhere", permission: "read:invoices"),
                                 .unknownOrganization, naming: "org_nowhere")
            let revision = try db.store.currentRevision()
            #expect(try db.ok(.unassignRole(user: "alice", organization: "org_acme", role: "viewer")) == revision)
            #expect(try db.ok(.revokePermission(user: "alice", organization: "org_default", permission: "read:invoices"))
                == revision)
        }

        @Test(arguments: StoreBackend.all)
        func unknownRolesAndPermissionsAreRefused(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice")
            try db.expectRefused(.assignRole(user: "alice", organization: "org_default", role: "admn"),
                                 .unknownRole, naming: "admn")
            try db.expectRefused(.unassignRole(user: "alice", organization: "org_default", role: "admn"),
                                 .unknownRole, naming: "admn")
            try db.expectRefused(.grantPermission(user: "alice", organization: "org_default", permission: "nope"),
                                 .unknownPermission, naming: "nope")
            try db.expectRefused(.revokePermission(user: "alice", organization: "org_default", permission: "nope"),
                                 .unknownPermission, naming: "nope")
            try db.expectRefused(.addMember(user: "alice", organization: "org_acme", roles: ["viewer", "admn"]),
                                 .unknownRole, naming: "admn")
            #expect(try db.membership("alice", "org_acme") == nil)
        }

        @Test(arguments: StoreBackend.all)
        func grantingAndRemovingAreIdempotent(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", organizations: ["org_acme"])
            let granted = try db.ok(.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
            #expect(try db.ok(.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
                == granted)
            #expect(try db.ok(.assignRole(user: "alice", organization: "org_acme", role: "viewer")) == granted)
            #expect(try db.ok(.unassignRole(user: "alice", organization: "org_acme", role: "auditor")) == granted)
            #expect(try db.ok(.revokePermission(user: "alice", organization: "org_acme", permission: "read:invoices"))
                == granted)
            #expect(try db.ok(.removeMember(user: "alice", organization: "org_default")) == granted, "not a member: no-op")
            #expect(try db.membership("alice", "org_acme")
                == MembershipRecord(organization: "org_acme", roles: ["viewer"], permissions: ["refund:payments"]))
            let revoked = try db.ok(.revokePermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
            #expect(revoked == granted + 1)
            #expect(try db.ok(.unassignRole(user: "alice", organization: "org_acme", role: "viewer")) == revoked + 1)
            #expect(try db.membership("alice", "org_acme") == MembershipRecord(organization: "org_acme", roles: []))
        }

        @Test(arguments: StoreBackend.all)
        func theLastMembershipCannotBeRemoved(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice")
            try db.expectRefused(.removeMember(user: "alice", organization: "org_default"),
                                 .lastOrganization, naming: "alice", "org_default")
            try db.ok(.addMember(user: "alice", organization: "org_acme", roles: nil))
            try db.ok(.removeMember(user: "alice", organization: "org_default"))
            #expect(try db.memberships("alice")?.map(\.organization) == ["org_acme"])
            try db.expectRefused(.removeMember(user: "alice", organization: "org_acme"), .lastOrganization)
        }

        @Test(arguments: StoreBackend.all)
        func removingAMembershipRemovesItsGrants(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", organizations: ["org_default", "org_acme"], roles: ["billing-admin"])
            try db.ok(.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
            let before = try db.store.currentRevision()
            try db.ok(.removeMember(user: "alice", organization: "org_acme"))
            #expect(try db.changes(after: before) == [.membershipRemoved(user: "alice", organization: "org_acme")])
            try db.ok(.addMember(user: "alice", organization: "org_acme", roles: []))
            #expect(try db.membership("alice", "org_acme") == MembershipRecord(organization: "org_acme", roles: []))
            #expect(try db.membership("alice", "org_default")
                == MembershipRecord(organization: "org_default", roles: ["billing-admin"]), "the other membership keeps its")
        }

        @Test(arguments: StoreBackend.all)
        func aRoleThePoliciesDroppedCanStillBeUnassignedButNotAssigned(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", roles: ["auditor"])
            let store = try db.reopen(policy: testPolicy(extraRole: false))
            let results = try store.perform([
                .assignRole(user: "alice", organization: "org_default", role: "auditor"),
                .unassignRole(user: "alice", organization: "org_default", role: "auditor"),
            ])
            expectRefused(results[0], .unknownRole, naming: "auditor")
            #expect((try? results[1].get()) != nil)
            #expect(try store.user("alice")?.memberships == [MembershipRecord(organization: "org_default", roles: [])])
        }
    }
}
