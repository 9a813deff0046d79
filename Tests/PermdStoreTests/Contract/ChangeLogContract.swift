import Foundation
import PermdCore
import PermdStore
import PermdTestSupport
import Testing

extension StoreContract {
    /// The change log and the full state feed: what an index is built and kept current from.
    @Suite struct ChangeLog {
        @Test(arguments: StoreBackend.all)
        func eachWriteLogsItsChangesUnderItsRevision(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let steps: [(write: Write, changes: [StateChange])] = [
                (.addUser(NewUser(id: "alice", profile: UserProfile(email: "a@x.io"),
                                  organizations: ["org_acme", "org_default"])),
                 [.userAdded(user: "alice"),
                  .membershipAdded(user: "alice", organization: "org_acme"),
                  .roleAssigned(user: "alice", organization: "org_acme", role: "viewer"),
                  .membershipAdded(user: "alice", organization: "org_default"),
                  .roleAssigned(user: "alice", organization: "org_default", role: "viewer")]),
                (.addMember(user: "alice", organization: "org_acme", roles: ["auditor"]),
                 [.roleAssigned(user: "alice", organization: "org_acme", role: "auditor")]),
                (.assignRole(user: "alice", organization: "org_acme", role: "billing-admin"),
                 [.roleAssigned(user: "alice", organization: "org_acme", role: "billing-admin")]),
                (.unassignRole(user: "alice", organization: "org_acme", role: "billing-admin"),
                 [.roleUnassigned(user: "alice", organization: "org_acme", role: "billing-admin")]),
                (.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"),
                 [.permissionGranted(user: "alice", organization: "org_acme", permission: "refund:payments")]),
                (.revokePermission(user: "alice", organization: "org_acme", permission: "refund:payments"),
                 [.permissionRevoked(user: "alice", organization: "org_acme", permission: "refund:payments")]),
                (.addOrganization(OrganizationRecord(code: "org_x")), [.organizationAdded(code: "org_x")]),
                (.addOrganization(OrganizationRecord(code: "org_x", name: "X")), [.organizationUpdated(code: "org_x")]),
                (.addMember(user: "alice", organization: "org_x", roles: []),
                 [.membershipAdded(user: "alice", organization: "org_x")]),
                (.removeMember(user: "alice", organization: "org_x"),
                 [.membershipRemoved(user: "alice", organization: "org_x")]),
                (.removeOrganization("org_x"), [.organizationRemoved(code: "org_x")]),
                (.signIn(SignInRequest(provider: "google", providerUserID: "1", email: "a@x.io", emailVerified: true)),
                 [.profileUpdated(user: "alice")]),
                (.removeUser("alice"), [.userRemoved(user: "alice")]),
            ]
            let start = try db.store.currentRevision()
            for (write, changes) in steps {
                let before = try db.store.currentRevision()
                let revision = try db.ok(write)
                #expect(revision == before + 1, "\(write)")
                #expect(try db.store.changes(after: before) == changes.map { ChangeRecord(revision: revision, change: $0) },
                        "\(write)")
            }
            var logged = steps.map(\.changes)
            // A sign-up logs the user it creates; its id is only known from the answer.
            let before = try db.store.currentRevision()
            guard case .signedIn(.signedUp(let id, _), _) = try db.write(.signIn(SignInRequest(
                provider: "google", providerUserID: "2"))).get() else {
                Issue.record("expected a sign-up")
                return
            }
            logged.append([.userAdded(user: id), .membershipAdded(user: id, organization: "org_default"),
                           .roleAssigned(user: id, organization: "org_default", role: "viewer")])
            #expect(try db.changes(after: before) == logged.last)
            if db.store.backend == .sqlite {
                #expect(try db.store.reload(policy: testPolicy()) == before + 2)
                logged.append([.policyReloaded])
                #expect(try db.changes(after: before + 1) == logged.last)
            } else {
                // A replica's own reload logs nothing (SPEC §8).
                #expect(try db.store.reload(policy: testPolicy()) == before + 1)
            }

            // The whole log after the start: every step's changes, in order, one revision each.
            let log = try #require(try db.store.changes(after: start))
            #expect(log.map(\.change) == logged.flatMap { $0 })
            var expectedRevisions: [UInt64] = []
            for (index, changes) in logged.enumerated() {
                expectedRevisions += Array(repeating: start + UInt64(index) + 1, count: changes.count)
            }
            #expect(log.map(\.revision) == expectedRevisions)
        }

        /// An import logs each record's changes as its writes would make them — the user, then
        /// each membership followed by its grants — on every store alike, so that a follower
        /// or anything reading the log sees the same sequence from SQLite and PostgreSQL.
        @Test(arguments: StoreBackend.all)
        func anImportLogsEachMembershipThenItsGrants(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("old", organizations: ["org_default"])
            let start = try db.store.currentRevision()
            let summary = try db.store.applyImport([
                UserRecord(id: "new", memberships: [
                    MembershipRecord(organization: "org_acme", roles: ["auditor"], permissions: ["refund:payments"]),
                    MembershipRecord(organization: "org_default", roles: nil),
                    MembershipRecord(organization: "org_acme", roles: ["billing-admin"]),
                ], line: 2),
                UserRecord(id: "old", memberships: [
                    MembershipRecord(organization: "org_default", roles: ["auditor"]),
                    MembershipRecord(organization: "org_acme", roles: nil),
                ], line: 3),
            ], dryRun: false)
            #expect(summary.revision == start + 1)
            #expect(try db.store.changes(after: start)?.map(\.change) == [
                .userAdded(user: "new"),
                .membershipAdded(user: "new", organization: "org_acme"),
                .roleAssigned(user: "new", organization: "org_acme", role: "auditor"),
                .permissionGranted(user: "new", organization: "org_acme", permission: "refund:payments"),
                .membershipAdded(user: "new", organization: "org_default"),
                .roleAssigned(user: "new", organization: "org_default", role: "viewer"),
                .roleAssigned(user: "new", organization: "org_acme", role: "billing-admin"),
                .roleAssigned(user: "old", organization: "org_default", role: "auditor"),
                .membershipAdded(user: "old", organization: "org_acme"),
                .roleAssigned(user: "old", organization: "org_acme", role: "viewer"),
            ])
        }

        @Test(arguments: StoreBackend.all)
        func theLogAfterARevisionStartsRightAfterIt(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let start = try db.store.currentRevision()
            try db.addUser("alice", organizations: ["org_acme"])
            try db.ok(.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
            try db.ok(.removeUser("alice"))
            #expect(try db.store.changes(after: start + 1) == [
                ChangeRecord(revision: start + 2, change: .permissionGranted(
                    user: "alice", organization: "org_acme", permission: "refund:payments")),
                ChangeRecord(revision: start + 3, change: .userRemoved(user: "alice")),
            ])
            #expect(try db.store.changes(after: start + 3) == [], "caught up: nothing after the current revision")
            #expect(try db.store.changes(after: start + 4) == nil, "ahead of the store: rebuild")
        }

        @Test(arguments: StoreBackend.all)
        func theStateFeedIsSortedInTheDocumentedOrderWithItsRevision(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("bob", organizations: ["org_acme"], roles: ["auditor", "billing-admin"])
            try db.addUser("alice")
            try db.ok(.grantPermission(user: "bob", organization: "org_acme", permission: "refund:payments"))
            try db.ok(.grantPermission(user: "bob", organization: "org_acme", permission: "read:invoices"))
            try db.ok(.addMember(user: "alice", organization: "org_acme", roles: []))
            var sink = RecordingSink()
            #expect(try db.store.readState(into: &sink) == db.store.currentRevision())
            #expect(sink.lines == [
                "org org_acme", "org org_default", "user alice", "user bob",
                "member alice org_acme", "member alice org_default", "member bob org_acme",
                "role alice org_default viewer", "role bob org_acme auditor", "role bob org_acme billing-admin",
                "grant bob org_acme read:invoices", "grant bob org_acme refund:payments",
            ])
            if let counts = try db.store.stateCounts() {
                #expect(counts == StateCounts(users: 2, organizations: 2, memberships: 3))
            }
        }

        @Test(arguments: StoreBackend.all)
        func theManagementReadsAnswerFromTheStoredState(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let before = Date().addingTimeInterval(-1)
            try db.addUser("carol", organizations: ["org_acme"])
            try db.addUser("alice")
            try db.addUser("bob", organizations: ["org_acme", "org_default"])
            #expect(try db.store.userIDs(inOrganization: nil) == ["alice", "bob", "carol"])
            #expect(try db.store.userIDs(inOrganization: "org_acme") == ["bob", "carol"])
            #expect(try db.store.userIDs(inOrganization: "org_nowhere") == [])
            #expect(try db.store.user("nobody") == nil)
            #expect(try db.store.activity(ofUser: "nobody") == nil)
            let activity = try #require(try db.store.activity(ofUser: "alice"))
            #expect(activity.created >= before && activity.created <= Date().addingTimeInterval(1))
            #expect(activity.updated >= activity.created && activity.lastSignedIn == nil)
            try db.ok(.addOrganization(OrganizationRecord(code: "org_b", name: "B", externalID: "b-1")))
            #expect(try db.store.organizations() == [
                OrganizationRecord(code: "org_acme", name: "Acme Ltd", externalID: "acme-123"),
                OrganizationRecord(code: "org_b", name: "B", externalID: "b-1"),
                OrganizationRecord(code: "org_default", name: "Default"),
            ])
        }
    }
}
