import PermdCore
import PermdStore
import Testing

extension StoreContract {
    /// Organizations (SPEC §1, §2, `ORG.ADD`, `ORG.DEL`).
    @Suite struct Organizations {
        @Test(arguments: StoreBackend.all)
        func addingAnOrganizationStoresItOnceAndUpdatesOnlyWhatIsGiven(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let added = try db.ok(.addOrganization(OrganizationRecord(code: "org_x", name: "X", externalID: "x-1")))
            #expect(try db.changes(after: added - 1) == [.organizationAdded(code: "org_x")])
            #expect(try db.ok(.addOrganization(OrganizationRecord(code: "org_x", name: "X", externalID: "x-1"))) == added)
            #expect(try db.ok(.addOrganization(OrganizationRecord(code: "org_x"))) == added, "nothing given: a no-op")
            let renamed = try db.ok(.addOrganization(OrganizationRecord(code: "org_x", name: "Ex")))
            #expect(renamed == added + 1)
            #expect(try db.changes(after: added) == [.organizationUpdated(code: "org_x")])
            #expect(try db.store.organizations().first { $0.code == "org_x" }
                == OrganizationRecord(code: "org_x", name: "Ex", externalID: "x-1"))
        }

        @Test(arguments: StoreBackend.all)
        func theDefaultAndDeclaredOrganizationsCannotBeRemoved(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.expectRefused(.removeOrganization("org_default"), .protectedOrganization, naming: "org_default")
            try db.expectRefused(.removeOrganization("org_acme"), .protectedOrganization, naming: "org_acme")
            try db.expectRefused(.removeOrganization("org_missing"), .unknownOrganization, naming: "org_missing")
            #expect(try db.store.organizations().map(\.code) == ["org_acme", "org_default"])
        }

        @Test(arguments: StoreBackend.all)
        func aDeclaredOrganizationIsNamedByTheFilesOnly(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.expectRefused(.addOrganization(OrganizationRecord(code: "org_acme", name: "Other")),
                                 .protectedOrganization, naming: "org_acme")
            let revision = try db.store.currentRevision()
            #expect(try db.ok(.addOrganization(OrganizationRecord(code: "org_acme", name: "Acme Ltd"))) == revision,
                    "what the files say already: a no-op")
            #expect(try db.store.organizations().first { $0.code == "org_acme" }?.name == "Acme Ltd")
        }

        @Test(arguments: StoreBackend.all)
        func anExternalIDBelongsToOneOrganization(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.expectRefused(.addOrganization(OrganizationRecord(code: "org_x", externalID: "acme-123")),
                                 .externalIDTaken, naming: "acme-123", "org_acme")
            #expect(try !db.store.organizations().contains { $0.code == "org_x" })
            try db.ok(.addOrganization(OrganizationRecord(code: "org_x", externalID: "x-1")))
            try db.expectRefused(.addOrganization(OrganizationRecord(code: "org_y", externalID: "x-1")),
                                 .externalIDTaken, naming: "x-1", "org_x")
        }

        @Test(arguments: StoreBackend.all)
        func removingAnOrganizationKeepsEveryMemberInOne(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addOrganization(OrganizationRecord(code: "org_tmp")))
            try db.addUser("alice", organizations: ["org_tmp"])
            try db.addUser("bob", organizations: ["org_tmp", "org_default"])
            try db.expectRefused(.removeOrganization("org_tmp"), .lastOrganization, naming: "alice", "org_tmp")
            try db.ok(.addMember(user: "alice", organization: "org_default", roles: []))
            try db.ok(.grantPermission(user: "bob", organization: "org_tmp", permission: "refund:payments"))
            let before = try db.store.currentRevision()
            #expect(try db.ok(.removeOrganization("org_tmp")) == before + 1)
            #expect(try db.changes(after: before) == [.organizationRemoved(code: "org_tmp")])
            #expect(try db.store.organizations().map(\.code) == ["org_acme", "org_default"])
            #expect(try db.memberships("alice")?.map(\.organization) == ["org_default"])
            #expect(try db.memberships("bob") == [MembershipRecord(organization: "org_default", roles: ["viewer"])])
            #expect(try db.store.userIDs(inOrganization: "org_tmp") == [])
            #expect(try !db.stateLines().contains { $0.contains("org_tmp") }, "its memberships and grants are gone")
        }

        @Test(arguments: StoreBackend.all)
        func anOrganizationWithoutMembersIsRemoved(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addOrganization(OrganizationRecord(code: "org_tmp")))
            try db.ok(.removeOrganization("org_tmp"))
            #expect(try db.store.organizations().map(\.code) == ["org_acme", "org_default"])
            try db.expectRefused(.removeOrganization("org_tmp"), .unknownOrganization)
        }
    }
}
