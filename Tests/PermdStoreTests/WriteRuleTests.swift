import Logging
import PermdCore
import PermdPolicy
@testable import PermdStore
import PermdTestSupport
import Testing

/// The invariants of SPEC §1 as the single write path enforces them.
@Suite struct WriteRuleTests {
    @Test func userWithoutOrganizationJoinsTheDefaultWithDefaultRoles() throws {
        let db = try StoreFixture()
        try db.addUser("alice")
        let alice = try #require(try db.store.user("alice"))
        #expect(alice.memberships == [MembershipRecord(organization: "org_default", roles: ["viewer"], permissions: [])])
    }

    @Test func explicitRolesReplaceTheDefaults() throws {
        let db = try StoreFixture()
        try db.addUser("alice", organizations: ["org_acme"], roles: ["auditor"])
        try db.addUser("bob", organizations: ["org_acme"], roles: [])
        #expect(try db.store.user("alice")?.memberships.map(\.roles) == [["auditor"]])
        #expect(try db.store.user("bob")?.memberships.map(\.roles) == [[]])
        try db.ok(.addMember(user: "bob", organization: "org_default", roles: nil))
        #expect(try db.store.user("bob")?.memberships.first { $0.organization == "org_default" }?.roles == ["viewer"])
    }

    @Test func generatedIDsAreUniqueAndValid() throws {
        let db = try StoreFixture()
        let first = try db.write(.addUser(NewUser())).get()
        let second = try db.write(.addUser(NewUser())).get()
        guard case .userAdded(let a, _) = first, case .userAdded(let b, _) = second else {
            Issue.record("expected userAdded")
            return
        }
        #expect(a != b)
        #expect(a.hasPrefix("kp_") && Identifier.isValidID(a))
    }

    @Test func removingTheLastMembershipIsAConflict() throws {
        let db = try StoreFixture()
        try db.addUser("alice")
        #expect(try db.refusal(.removeMember(user: "alice", organization: "org_default")) == .conflict)
        try db.ok(.addMember(user: "alice", organization: "org_acme", roles: nil))
        try db.ok(.removeMember(user: "alice", organization: "org_default"))
        #expect(try db.store.organizationCodes(ofUser: "alice") == ["org_acme"])
    }

    @Test func removingAMembershipRemovesItsGrants() throws {
        let db = try StoreFixture()
        try db.addUser("alice", organizations: ["org_default", "org_acme"])
        try db.ok(.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
        try db.ok(.removeMember(user: "alice", organization: "org_acme"))
        try db.ok(.addMember(user: "alice", organization: "org_acme", roles: []))
        let acme = try db.store.user("alice")?.memberships.first { $0.organization == "org_acme" }
        #expect(acme == MembershipRecord(organization: "org_acme", roles: [], permissions: []))
    }

    @Test func grantsNeedAMembership() throws {
        let db = try StoreFixture()
        try db.addUser("alice")
        #expect(try db.refusal(.assignRole(user: "alice", organization: "org_acme", role: "viewer")) == .conflict)
        #expect(try db.refusal(.grantPermission(user: "alice", organization: "org_acme", permission: "read:invoices"))
            == .conflict)
        #expect(try db.refusal(.assignRole(user: "nobody", organization: "org_acme", role: "viewer")) == .notFound)
        #expect(try db.refusal(.assignRole(user: "alice", organization: "org_nowhere", role: "viewer")) == .notFound)
        #expect(try db.refusal(.addMember(user: "alice", organization: "org_nowhere", roles: nil)) == .notFound)
    }

    @Test func unknownRolesAndPermissionsAreNotFound() throws {
        let db = try StoreFixture()
        try db.addUser("alice")
        #expect(try db.refusal(.assignRole(user: "alice", organization: "org_default", role: "admn")) == .notFound)
        #expect(try db.refusal(.unassignRole(user: "alice", organization: "org_default", role: "admn")) == .notFound)
        #expect(try db.refusal(.grantPermission(user: "alice", organization: "org_default", permission: "nope"))
            == .notFound)
        #expect(try db.refusal(.addUser(NewUser(id: "bob", roles: ["admn"]))) == .notFound)
        #expect(try db.store.user("bob") == nil)
    }

    @Test func defaultAndDeclaredOrganizationsCannotBeRemoved() throws {
        let db = try StoreFixture()
        #expect(try db.refusal(.removeOrganization("org_default")) == .conflict)
        #expect(try db.refusal(.removeOrganization("org_acme")) == .conflict)
        #expect(try db.refusal(.removeOrganization("org_missing")) == .notFound)
        try db.ok(.addOrganization(OrganizationRecord(code: "org_tmp")))
        try db.ok(.removeOrganization("org_tmp"))
        #expect(try db.store.organization("org_tmp") == nil)
    }

    @Test func removingAnOrganizationThatIsSomeonesLastIsAConflict() throws {
        let db = try StoreFixture()
        try db.ok(.addOrganization(OrganizationRecord(code: "org_tmp")))
        try db.addUser("alice", organizations: ["org_tmp"])
        #expect(try db.refusal(.removeOrganization("org_tmp")) == .conflict)
        try db.ok(.addMember(user: "alice", organization: "org_default", roles: nil))
        try db.ok(.removeOrganization("org_tmp"))
        #expect(try db.store.organizationCodes(ofUser: "alice") == ["org_default"])
    }

    @Test func emailIsUniqueCaseInsensitively() throws {
        let db = try StoreFixture()
        try db.addUser("alice", email: "Alice@Acme.io")
        #expect(try db.refusal(.addUser(NewUser(id: "bob", profile: UserProfile(email: "alice@ACME.io")))) == .conflict)
        #expect(try db.store.user("bob") == nil)
    }

    @Test func invalidIdentifiersAreSyntaxErrors() throws {
        let db = try StoreFixture()
        #expect(try db.refusal(.addUser(NewUser(id: "has space"))) == .invalid)
        #expect(try db.refusal(.addOrganization(OrganizationRecord(code: ""))) == .invalid)
        try db.addUser("alice")
        #expect(try db.refusal(.assignRole(user: "alice", organization: "org_default", role: "bad*key")) == .invalid)
    }

    @Test func declaredOrganizationsFollowTheFiles() throws {
        let db = try StoreFixture()
        #expect(try db.store.organization("org_acme") ==
            OrganizationRecord(code: "org_acme", name: "Acme Ltd", externalID: "acme-123"))
        #expect(try db.refusal(.addOrganization(OrganizationRecord(code: "org_acme", name: "Other"))) == .conflict)
        #expect(try db.refusal(.addOrganization(OrganizationRecord(code: "org_x", externalID: "acme-123"))) == .conflict)
    }

    @Test func removingAUserRemovesEverything() throws {
        let db = try StoreFixture()
        try db.addUser("alice", email: "a@x.io", organizations: ["org_acme"])
        try db.ok(.removeUser("alice"))
        #expect(try db.store.user("alice") == nil)
        #expect(try db.refusal(.removeUser("alice")) == .notFound)
        try db.addUser("alice2", email: "a@x.io")  // the email is free again
    }

    @Test func aRefusedWriteInAGroupLeavesTheOthers() throws {
        let db = try StoreFixture()
        let results = try db.store.perform([
            .addUser(NewUser(id: "alice")),
            .assignRole(user: "alice", organization: "org_default", role: "admn"),
            .assignRole(user: "alice", organization: "org_default", role: "auditor"),
        ])
        #expect(results.map { (try? $0.get()) != nil } == [true, false, true])
        #expect(try results[2].get().revision == results[0].get().revision + 1)
        #expect(try db.store.user("alice")?.memberships.first?.roles == ["auditor", "viewer"])
        #expect(try db.store.currentRevision() == results[2].get().revision)
    }
}

/// Idempotency, revisions and the change log.
@Suite struct RevisionTests {
    @Test func addingWhatExistsKeepsTheRevision() throws {
        let db = try StoreFixture()
        let added = try db.addUser("alice", email: "a@x.io", organizations: ["org_acme"])
        #expect(try db.addUser("alice", email: "a@x.io", organizations: ["org_acme"]) == added)
        #expect(try db.ok(.addMember(user: "alice", organization: "org_acme", roles: nil)) == added)
        #expect(try db.ok(.assignRole(user: "alice", organization: "org_acme", role: "viewer")) == added)
        #expect(try db.ok(.unassignRole(user: "alice", organization: "org_acme", role: "auditor")) == added)
        #expect(try db.ok(.addOrganization(OrganizationRecord(code: "org_acme"))) == added)
        #expect(try db.store.currentRevision() == added)
        #expect(try db.refusal(.addUser(NewUser(id: "alice", profile: UserProfile(email: "b@x.io")))) == .conflict)
    }

    @Test func everyChangingWriteBumpsTheRevisionByOne() throws {
        let db = try StoreFixture()
        var last = try db.store.currentRevision()
        let writes: [Write] = [
            .addUser(NewUser(id: "alice")),
            .addMember(user: "alice", organization: "org_acme", roles: nil),
            .assignRole(user: "alice", organization: "org_acme", role: "billing-admin"),
            .grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"),
            .revokePermission(user: "alice", organization: "org_acme", permission: "refund:payments"),
            .unassignRole(user: "alice", organization: "org_acme", role: "billing-admin"),
            .removeMember(user: "alice", organization: "org_acme"),
            .addOrganization(OrganizationRecord(code: "org_x", name: "X")),
            .removeOrganization("org_x"),
            .removeUser("alice"),
        ]
        for write in writes {
            let revision = try db.ok(write)
            #expect(revision == last + 1, "\(write)")
            last = revision
        }
    }

    @Test func theChangeLogHoldsEachWritesChanges() throws {
        let db = try StoreFixture()
        let start = try db.store.currentRevision()
        try db.addUser("alice", organizations: ["org_acme"])
        try db.ok(.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
        try db.ok(.removeUser("alice"))
        let log = try #require(try db.store.changes(after: start))
        #expect(log == [
            ChangeRecord(revision: start + 1, change: .userAdded(user: "alice")),
            ChangeRecord(revision: start + 1, change: .membershipAdded(user: "alice", organization: "org_acme")),
            ChangeRecord(revision: start + 1, change: .roleAssigned(user: "alice", organization: "org_acme", role: "viewer")),
            ChangeRecord(revision: start + 2, change: .permissionGranted(
                user: "alice", organization: "org_acme", permission: "refund:payments")),
            ChangeRecord(revision: start + 3, change: .userRemoved(user: "alice")),
        ])
        #expect(try db.store.changes(after: start + 3) == [])
        #expect(try db.store.changes(after: start + 4) == nil)
    }

    @Test func declaredOrganizationsAreLoggedOnceAndReloadBumps() throws {
        let db = try StoreFixture()
        #expect(try db.store.currentRevision() == 1)
        #expect(try db.store.changes(after: 0)?.map(\.change) ==
            [.organizationAdded(code: "org_acme"), .organizationAdded(code: "org_default")])
        let reopened = try SQLiteStore(path: db.path, policy: testPolicy(), logger: .init(label: "test"))
        #expect(try reopened.currentRevision() == 1)
        #expect(try reopened.reload(policy: testPolicy()) == 2)
        #expect(try db.store.changes(after: 1)?.map(\.change) == [.policyReloaded])
    }

    @Test func readStateFeedsTheDocumentedOrder() throws {
        let db = try StoreFixture()
        try db.addUser("bob", organizations: ["org_acme"], roles: ["auditor"])
        try db.addUser("alice")
        try db.ok(.grantPermission(user: "bob", organization: "org_acme", permission: "refund:payments"))
        var sink = RecordingSink()
        let revision = try db.store.readState(into: &sink)
        #expect(revision == (try db.store.currentRevision()))
        #expect(sink.lines == [
            "org org_acme", "org org_default", "user alice", "user bob",
            "member alice org_default", "member bob org_acme",
            "role alice org_default viewer", "role bob org_acme auditor",
            "grant bob org_acme refund:payments",
        ])
    }

    @Test func aPolicyThatDropsARoleStillLetsItBeUnassigned() throws {
        let db = try StoreFixture()
        try db.addUser("alice", roles: ["auditor"])
        let store = try SQLiteStore(path: db.path, policy: testPolicy(extraRole: false), logger: .init(label: "test"))
        let results = try store.perform([.unassignRole(user: "alice", organization: "org_default", role: "auditor")])
        #expect((try? results[0].get()) != nil)
        #expect(try store.user("alice")?.memberships.first?.roles == [])
    }
}
