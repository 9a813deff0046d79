import PermdCore
import PermdPolicy
import PermdStore
import PermdTestSupport
import Testing

extension StoreContract {
    /// Opening a store (SPEC §2 declared organizations, §3 durable state).
    @Suite struct Opening {
        @Test(arguments: StoreBackend.all)
        func aNewStoreHoldsTheDeclaredOrganizationsInOneRevision(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            #expect(try db.store.organizations() == [
                OrganizationRecord(code: "org_acme", name: "Acme Ltd", externalID: "acme-123"),
                OrganizationRecord(code: "org_default", name: "Default"),
            ])
            #expect(try db.store.currentRevision() == 1)
            let log = try #require(try db.store.changes(after: 0))
            #expect(log.allSatisfy { $0.revision == 1 })
            #expect(Set(log.map(\.change)) == [.organizationAdded(code: "org_acme"), .organizationAdded(code: "org_default")])
            #expect(try db.store.userIDs(inOrganization: nil) == [])
        }

        @Test(arguments: StoreBackend.all)
        func aDefaultOrganizationTheFilesDoNotDeclareIsCreatedToo(_ backend: StoreBackend) throws {
            let policy = testPolicy(organizations: testOrganizations.filter { $0.code != "org_default" })
            let db = try StoreUnderTest(backend, policy: policy)
            #expect(try db.store.organizations().map(\.code) == ["org_acme", "org_default"])
        }

        @Test(arguments: StoreBackend.all)
        func reopeningKeepsTheStateAndMakesNoRevision(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", email: "a@x.io", organizations: ["org_acme"], roles: ["billing-admin"])
            try db.ok(.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
            let revision = try db.store.currentRevision()
            let lines = try db.stateLines()
            let reopened = try db.reopen()
            #expect(try reopened.currentRevision() == revision)
            #expect(try reopened.user("alice") == db.store.user("alice"))
            #expect(try reopened.changes(after: revision) == [])
            var sink = RecordingSink()
            #expect(try reopened.readState(into: &sink) == revision)
            #expect(sink.lines == lines)
        }

        @Test(arguments: StoreBackend.all)
        func declaredOrganizationsFollowTheFilesOnOpening(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let policy = testPolicy(organizations: [
                OrganizationDefinition(code: "org_default", name: "Default"),
                OrganizationDefinition(code: "org_acme", name: "Acme Group", externalID: "acme-456"),
                OrganizationDefinition(code: "org_new"),
            ])
            let reopened = try db.reopen(policy: policy)
            #expect(try reopened.currentRevision() == 2)
            #expect(try reopened.organizations() == [
                OrganizationRecord(code: "org_acme", name: "Acme Group", externalID: "acme-456"),
                OrganizationRecord(code: "org_default", name: "Default"),
                OrganizationRecord(code: "org_new"),
            ])
            #expect(Set(try db.changes(after: 1) ?? []) == [.organizationUpdated(code: "org_acme"),
                                                              .organizationAdded(code: "org_new")])
            #expect(try db.reopen(policy: policy).currentRevision() == 2, "unchanged files make no revision")
        }

        @Test(arguments: StoreBackend.all)
        func anOrganizationNoLongerDeclaredStaysAndMayThenBeRemoved(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let policy = testPolicy(organizations: testOrganizations.filter { $0.code != "org_acme" })
            let reopened = try db.reopen(policy: policy)
            #expect(try reopened.organizations().map(\.code) == ["org_acme", "org_default"])
            #expect((try? reopened.perform([.removeOrganization("org_acme")])[0].get()) != nil)
            #expect(try reopened.organizations().map(\.code) == ["org_default"])
        }

        @Test(arguments: StoreBackend.all)
        func theStoreAnswersWithThePoliciesItWasOpenedWith(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend, policy: testPolicy(allowSelfSignup: false))
            #expect(db.store.policy.settings.allowSelfSignup == false)
            #expect(try db.reopen(policy: testPolicy(extraRole: false)).policy.role("auditor") == nil)
        }
    }
}
