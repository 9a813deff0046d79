import Foundation
import Logging
import PermdCore
@testable import PermdStore
import Testing
import PermdTestSupport

/// How the SQLite store logs an import (the import rules themselves are in
/// `StoreContract.ImportExport`).
@Suite struct ImportStoreTests {
    /// Every change of a large import is logged, so that a running server applies it to its
    /// index instead of rebuilding (SPEC §3); permd once trimmed the log past 10,000 changes.
    @Test func aLargeImportIsLoggedChangeByChange() throws {
        let db = try StoreFixture()
        let start = try db.store.currentRevision()
        let ids = (0..<4000).map { String(format: "u%05d", $0) }
        let summary = try db.store.applyImport(ids.map { UserRecord(id: $0) }, dryRun: false)
        #expect(summary.usersCreated == 4000 && summary.revision == start + 1)
        let expected = ids.flatMap { id -> [StateChange] in
            [.userAdded(user: id), .membershipAdded(user: id, organization: "org_default"),
             .roleAssigned(user: id, organization: "org_default", role: "viewer")]
        }
        let log = try #require(try db.store.changes(after: start), "the log reaches back past a large import")
        #expect(log.count == 12_000)
        #expect(log == expected.map { ChangeRecord(revision: start + 1, change: $0) })
        #expect(try db.store.changes(after: summary.revision) == [])
    }

    /// A second handle on the fixture's database, as another process would have.
    private static func otherProcess(_ db: StoreFixture) throws -> SQLiteStore {
        try SQLiteStore(path: db.path, policy: testPolicy(), logger: Logger(label: "other"))
    }

    @Test func aWriteCommittedBetweenTheReadingAndTheWriteLockIsSeenAndTheImportReadsAgain() throws {
        let db = try StoreFixture()
        _ = try db.store.perform([.addUser(NewUser(id: "ana"))])
        let other = try Self.otherProcess(db)
        var calls = 0
        db.store.importWillTakeWriteLock = {
            calls += 1
            if calls == 1 { _ = try? other.perform([.addMember(user: "ana", organization: "org_acme", roles: nil)]) }
        }
        let summary = try db.store.applyImport([
            UserRecord(id: "ana", memberships: [MembershipRecord(organization: "org_acme", roles: ["auditor"])], line: 2),
        ], dryRun: false)
        #expect(calls == 2, "read again after the other write")
        #expect(summary.membershipsAdded == 0 && summary.rolesAdded == 1, "the other write made the membership")
        #expect(try db.store.user("ana")?.memberships.first { $0.organization == "org_acme" }
            == MembershipRecord(organization: "org_acme", roles: ["auditor", "viewer"]))
        #expect(summary.revision == (try db.store.currentRevision()))
    }

    @Test func writesThatConcernNothingTheImportStagedDoNotSendItBackToRead() throws {
        let db = try StoreFixture()
        _ = try db.store.perform([.addUser(NewUser(id: "ana"))])
        let other = try Self.otherProcess(db)
        var calls = 0
        db.store.importWillTakeWriteLock = {
            calls += 1
            // A server's traffic meanwhile: sign-ups and changes to users the import does not touch.
            _ = try? other.perform([
                .signIn(SignInRequest(provider: "google", providerUserID: "\(calls)", email: "u\(calls)@x.io",
                                      emailVerified: true)),
                .addMember(user: "ana", organization: "org_acme", roles: nil),
            ])
        }
        let revision = try db.store.currentRevision()
        let summary = try db.store.applyImport([
            UserRecord(id: "bo", profile: UserProfile(email: "bo@x.io"),
                       memberships: [MembershipRecord(organization: "org_acme", roles: ["auditor"])], line: 2),
        ], dryRun: false)
        #expect(calls == 1, "merged on the first reading")
        #expect(summary.usersCreated == 1 && summary.revision == revision + 3, "after the other two writes")
        #expect(try db.store.userIDs(inOrganization: "org_acme") == ["ana", "bo"])
    }

    @Test func aWriteThatTakesAValueTheImportGivesSendsItBackToReadAndTheImportIsRefused() throws {
        let db = try StoreFixture()
        let other = try Self.otherProcess(db)
        db.store.importWillTakeWriteLock = {
            _ = try? other.perform([.signIn(SignInRequest(provider: "google", providerUserID: "1", email: "BO@x.io",
                                                          emailVerified: true))])
        }
        do {
            _ = try db.store.applyImport([UserRecord(id: "bo", profile: UserProfile(email: "bo@x.io"), line: 2)],
                                         dryRun: false)
            Issue.record("the import took an email another user took meanwhile")
        } catch {
            guard case .importRefused(let refusals) = error.kind else { throw error }
            #expect(refusals.map(\.line) == [2] && refusals.first?.error.reason == .emailTaken)
        }
        #expect(try db.store.userIDs(inOrganization: nil).count == 1)
    }

    @Test func anImportThatKeepsLosingTheRaceReadsUnderTheWriteLock() throws {
        let db = try StoreFixture()
        _ = try db.store.perform([.addUser(NewUser(id: "bo"))])
        let other = try Self.otherProcess(db)
        var calls = 0
        db.store.importWillTakeWriteLock = {
            calls += 1
            // Each time a change to the very user the import updates.
            _ = try? other.perform([calls % 2 == 1
                ? .assignRole(user: "bo", organization: "org_default", role: "auditor")
                : .unassignRole(user: "bo", organization: "org_default", role: "auditor")])
        }
        let summary = try db.store.applyImport([UserRecord(id: "bo", profile: UserProfile(firstName: "Bo"), line: 2)],
                                               dryRun: false)
        #expect(calls == SQLiteStore.importReadAttempts)
        #expect(summary.usersUpdated == 1)
        #expect(try db.store.user("bo")?.profile.firstName == "Bo")
    }
}
