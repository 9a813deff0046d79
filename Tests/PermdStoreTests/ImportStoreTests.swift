import Foundation
import PermdCore
@testable import PermdStore
import Testing

/// `applyImport` and `forEachUser`, which the import and export formats build on.
@Suite struct ImportStoreTests {
    static let records = [
        UserRecord(id: "alice", profile: UserProfile(email: "alice@acme.io", firstName: "Alice"),
                   memberships: [MembershipRecord(organization: "org_acme", roles: ["billing-admin"],
                                                  permissions: ["refund:payments"])], line: 2),
        UserRecord(id: nil, profile: UserProfile(email: "bob@acme.io"),
                   identities: [Identity(provider: "auth0", providerUserID: "b1")], line: 3),
    ]

    @Test func importsOnceAndIsIdempotent() throws {
        let db = try StoreFixture()
        let start = try db.store.currentRevision()
        let first = try db.store.applyImport(Self.records, dryRun: false)
        #expect(first.usersCreated == 2 && first.membershipsAdded == 2 && first.permissionsAdded == 1)
        #expect(first.revision == start + 1)
        let second = try db.store.applyImport(Self.records, dryRun: false)
        #expect(second.usersUnchanged == 2 && second.usersCreated == 0 && second.revision == start + 1)

        var exported: [UserRecord] = []
        try db.store.forEachUser { exported.append($0) }
        #expect(exported.map(\.id).first == "alice")
        #expect(exported[0].memberships == [MembershipRecord(organization: "org_acme", roles: ["billing-admin"],
                                                             permissions: ["refund:payments"])])
        let bob = try #require(exported.first { $0.profile.email == "bob@acme.io" })
        #expect(bob.memberships == [MembershipRecord(organization: "org_default", roles: ["viewer"], permissions: [])])
        #expect(bob.identities == [Identity(provider: "auth0", providerUserID: "b1")])
    }

    @Test func aRowForAnExistingUserAddsAndNeverRemoves() throws {
        let db = try StoreFixture()
        _ = try db.store.applyImport(Self.records, dryRun: false)
        let update = UserRecord(id: "alice", profile: UserProfile(lastName: "Liddell"),
                                memberships: [MembershipRecord(organization: "org_default", roles: nil)])
        let summary = try db.store.applyImport([update], dryRun: false)
        #expect(summary.usersUpdated == 1 && summary.membershipsAdded == 1)
        let alice = try #require(try db.store.user("alice"))
        #expect(alice.profile.firstName == "Alice" && alice.profile.lastName == "Liddell")
        #expect(alice.memberships.map(\.organization) == ["org_acme", "org_default"])
    }

    @Test func dryRunWritesNothing() throws {
        let db = try StoreFixture()
        let revision = try db.store.currentRevision()
        let summary = try db.store.applyImport(Self.records, dryRun: true)
        #expect(summary.usersCreated == 2 && summary.revision == revision)
        #expect(try db.store.userIDs(inOrganization: nil) == [])
        #expect(try db.store.currentRevision() == revision)
    }

    @Test func anyRefusedRecordRefusesTheWholeImportWithItsLine() throws {
        let db = try StoreFixture()
        let bad = UserRecord(id: "carol", memberships: [MembershipRecord(organization: "org_acme", roles: ["admn"])],
                             line: 17)
        do {
            _ = try db.store.applyImport(Self.records + [bad], dryRun: false)
            Issue.record("an unknown role was imported")
        } catch {
            #expect(error.kind == .importRefused([ImportRefusal(line: 17, error: .unknownRole("admn"))]))
        }
        #expect(try db.store.userIDs(inOrganization: nil) == [])
    }

    @Test func aLargeImportTrimsTheLog() throws {
        let db = try StoreFixture()
        let start = try db.store.currentRevision()
        let many = (0..<4000).map { UserRecord(id: String(format: "u%05d", $0)) }
        let summary = try db.store.applyImport(many, dryRun: false)
        #expect(summary.usersCreated == 4000)
        #expect(try db.store.changes(after: start) == nil, "readers behind a large import rebuild")
        #expect(try db.store.changes(after: summary.revision) == [])
        #expect(try db.store.userIDs(inOrganization: "org_default").count == 4000)
    }

    /// Existing user "ann" with an email and an identity, for the store-side refusal tests.
    static func storeWithAnn() throws -> StoreFixture {
        let db = try StoreFixture()
        _ = try db.store.applyImport([UserRecord(id: "ann", profile: UserProfile(email: "ann@acme.io"),
                                                 identities: [Identity(provider: "auth0", providerUserID: "a1")])],
                                     dryRun: false)
        return db
    }

    @Test func recordsApplyInOrderSoALaterRecordMayTakeAnEmailAnEarlierOneGaveUp() throws {
        let db = try Self.storeWithAnn()
        let records = [
            UserRecord(id: "ann", profile: UserProfile(email: "ann2@acme.io"), line: 2),
            UserRecord(id: "fay", profile: UserProfile(email: "ANN@acme.io"),
                       memberships: [MembershipRecord(organization: "org_acme", roles: ["viewer", "viewer"]),
                                     MembershipRecord(organization: "org_acme", roles: ["billing-admin"])], line: 3),
        ]
        let summary = try db.store.applyImport(records, dryRun: false)
        #expect(summary.usersUpdated == 1 && summary.usersCreated == 1)
        #expect(summary.membershipsAdded == 1 && summary.rolesAdded == 2)
        #expect(try db.store.user("fay")?.profile.email == "ANN@acme.io")
        #expect(try db.store.user("fay")?.memberships == [
            MembershipRecord(organization: "org_acme", roles: ["billing-admin", "viewer"], permissions: [])])
    }

    @Test func everyStoreSideRefusalIsListedAndNothingIsWritten() throws {
        let db = try Self.storeWithAnn()
        let revision = try db.store.currentRevision()
        let records = [
            UserRecord(id: "carol", profile: UserProfile(email: "Ann@acme.io"), line: 2),
            UserRecord(id: "dan", line: 3),
            UserRecord(id: "erin", identities: [Identity(provider: "auth0", providerUserID: "a1")], line: 4),
            UserRecord(id: "ann", profile: UserProfile(email: "ann2@acme.io"), line: 5),
            UserRecord(id: "fay", profile: UserProfile(email: "ann@acme.io"), line: 6),
        ]
        do {
            _ = try db.store.applyImport(records, dryRun: false)
            Issue.record("an email and an identity of another user were imported")
        } catch {
            guard case .importRefused(let refusals) = error.kind else { throw error }
            #expect(refusals.map(\.line) == [2, 4])
            #expect(refusals.map(\.error.message) == ["email \"Ann@acme.io\" belongs to user \"ann\"",
                                                       "identity auth0 \"a1\" belongs to user \"ann\""])
        }
        #expect(try db.store.userIDs(inOrganization: nil) == ["ann"])
        #expect(try db.store.user("ann")?.profile.email == "ann@acme.io")
        #expect(try db.store.currentRevision() == revision)
    }
}
