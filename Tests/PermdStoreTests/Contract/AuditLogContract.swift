import Foundation
import Logging
import PermdCore
import PermdStore
import PermdTestSupport
import Testing

extension StoreContract {
    /// The audit log (SPEC §9): every revision with when and by whom, read back with filters,
    /// and trimmed by time with the log floor raised (`--log-retention`, SPEC §8).
    @Suite struct AuditLog {
        static let app = ChangeActor.token(name: "app1", peer: "127.0.0.1:50432")
        static let local = ChangeActor.unix(uid: 1000)

        /// The time now, as the stores stamp it.
        static func now() -> UnixMilliseconds { UnixMilliseconds(Date().timeIntervalSince1970 * 1000) }

        @Test(arguments: StoreBackend.all)
        func eachRevisionOfAGroupCommitIsLoggedWithItsOwnActorAndTime(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            // Opening synced the declared organizations: logged as the policy's.
            let opening = try db.store.auditLog(AuditQuery())
            #expect(!opening.isEmpty && opening.allSatisfy { $0.actor == .policy }, "\(opening)")
            let start = try db.store.currentRevision()
            let before = Self.now()
            let results = try db.store.perform([
                AttributedWrite(.addUser(NewUser(id: "ana", organizations: ["org_acme"], roles: [])), by: Self.app),
                AttributedWrite(.addOrganization(OrganizationRecord(code: "org_x")), by: Self.local),
                AttributedWrite(.assignRole(user: "ana", organization: "org_acme", role: "viewer"), by: Self.local),
                // A sign-in is its provider's, whoever relayed it.
                AttributedWrite(.signIn(SignInRequest(provider: "google", providerUserID: "g1")), by: Self.app),
            ])
            let after = Self.now()
            #expect(results.allSatisfy { (try? $0.get()) != nil }, "\(results)")
            let entries = try db.store.auditLog(AuditQuery(after: start))
            let byRevision = Dictionary(grouping: entries, by: \.revision).mapValues { Set($0.map(\.actor)) }
            #expect(byRevision == [start + 1: [Self.app], start + 2: [Self.local], start + 3: [Self.local],
                                   start + 4: [.signIn(provider: "google")]])
            #expect(entries.prefix(2).map(\.change) == [.userAdded(user: "ana"), .membershipAdded(user: "ana", organization: "org_acme")])
            #expect(entries.allSatisfy { entry in entry.time.map { (before - 1...after + 1).contains($0) } == true },
                    "\(entries.map(\.time)) not within \(before)...\(after)")
            // What `changes(after:)` reads is the same log.
            #expect(try db.store.changes(after: start)?.map(\.change) == entries.map(\.change))
        }

        @Test(arguments: StoreBackend.all)
        func importsAreLoggedWithTheirFile(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let start = try db.store.currentRevision()
            let users = try db.store.applyImport(
                [UserRecord(id: "bo", memberships: [MembershipRecord(organization: "org_acme", roles: [])])],
                dryRun: false, actor: .importFile(name: "users.csv"))
            let organizations = try db.store.applyOrganizationImport(
                [OrganizationImport(record: OrganizationRecord(code: "org_new"), line: 2)], dryRun: false,
                actor: .importFile(name: "orgs.csv"))
            let entries = try db.store.auditLog(AuditQuery(after: start))
            #expect(users.revision == start + 1 && organizations.revision == start + 2)
            #expect(entries.map(\.actor) == [.importFile(name: "users.csv"), .importFile(name: "users.csv"),
                                             .importFile(name: "orgs.csv")])
            #expect(entries.last?.change == .organizationAdded(code: "org_new"))
            // A dry run logs nothing.
            _ = try db.store.applyImport([UserRecord(id: "cy")], dryRun: true, actor: .importFile(name: "dry.csv"))
            #expect(try db.store.auditLog(AuditQuery(after: start + 2)).isEmpty)
        }

        @Test(arguments: StoreBackend.all)
        func filtersKeepTheMatchingChangesAndALimitTheNewest(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let start = try db.store.currentRevision()
            try db.addUser("ana", organizations: ["org_acme"], roles: [])
            try db.addUser("bo", organizations: ["org_default"], roles: [])
            try db.ok(.assignRole(user: "ana", organization: "org_acme", role: "viewer"))
            try db.ok(.grantPermission(user: "bo", organization: "org_default", permission: "refund:payments"))
            let all = try db.store.auditLog(AuditQuery(after: start))
            #expect(all.count == 6)
            #expect(try db.store.auditLog(AuditQuery(after: start, user: "ana")).map(\.change) == [
                .userAdded(user: "ana"), .membershipAdded(user: "ana", organization: "org_acme"),
                .roleAssigned(user: "ana", organization: "org_acme", role: "viewer")])
            #expect(try db.store.auditLog(AuditQuery(after: start, organization: "org_default")).map(\.change) == [
                .membershipAdded(user: "bo", organization: "org_default"),
                .permissionGranted(user: "bo", organization: "org_default", permission: "refund:payments")])
            #expect(try db.store.auditLog(AuditQuery(after: start, user: "bo", organization: "org_acme")).isEmpty)
            // The newest two, oldest first.
            #expect(try db.store.auditLog(AuditQuery(after: start, limit: 2)) == Array(all.suffix(2)))
            #expect(try db.store.auditLog(AuditQuery(after: start, user: "ana", limit: 1)).map(\.change) == [
                .roleAssigned(user: "ana", organization: "org_acme", role: "viewer")])
            #expect(try db.store.auditLog(AuditQuery(after: start + 3)) == Array(all.suffix(1)))
            #expect(try db.store.auditLog(AuditQuery(after: start + 4)).isEmpty)
        }

        @Test(arguments: StoreBackend.all)
        func trimmingRemovesTheOldRevisionsAndRaisesTheFloor(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            for user in ["ana", "bo", "cy", "dan"] { try db.addUser(user) }
            let current = try db.store.currentRevision()
            let entries = try db.store.auditLog(AuditQuery())
            #expect(entries.allSatisfy { $0.time != nil })
            let times = Dictionary(entries.compactMap { entry in entry.time.map { (entry.revision, $0) } }) { first, _ in first }
            // Nothing is older than the oldest entry: nothing goes.
            #expect(try db.store.trimLog(loggedBefore: try #require(times.values.min())).revisions == 0)

            // Up to the second user's revision (and any other revision logged in the same millisecond).
            let cutoff = try #require(times[current - 2]) + 1
            let cut = try #require(times.filter { $0.value < cutoff }.keys.max())
            let trim = try db.store.trimLog(loggedBefore: cutoff)
            #expect(trim == LogTrim(revisions: times.keys.filter { $0 <= cut }.count, floor: cut))
            #expect(try db.store.auditLog(AuditQuery()) == entries.filter { $0.revision > cut })
            #expect(try db.store.currentRevision() == current, "a trim changes no state")
            #expect(try db.store.user("ana") != nil)
            // A reader behind the floor rebuilds; one at it reads on.
            #expect(try db.store.changes(after: cut - 1) == nil)
            #expect(try db.store.changes(after: cut)?.map(\.revision) == entries.filter { $0.revision > cut }.map(\.revision))
            // Trimming again to the same time does nothing more.
            #expect(try db.store.trimLog(loggedBefore: cutoff) == LogTrim(revisions: 0, floor: cut))

            // Everything, then a new write is logged after the floor.
            #expect(try db.store.trimLog(loggedBefore: Self.now() + 60_000).floor == current)
            #expect(try db.store.auditLog(AuditQuery()).isEmpty)
            #expect(try db.store.changes(after: current) == [])
            let next = try db.addUser("eve")
            #expect(try db.store.auditLog(AuditQuery()).map(\.revision) == [next, next, next])
        }

        @Test(arguments: StoreBackend.all)
        func aReadOnlyStoreReadsTheLogAndCannotTrimIt(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("ana")
            let reader = try db.place.location.open(policy: testPolicy(), logger: Logger(label: "contract"), access: .readOnly)
            #expect(try reader.auditLog(AuditQuery()) == (try db.store.auditLog(AuditQuery())))
            #expect(throws: StoreError.self) { try reader.trimLog(loggedBefore: Self.now() + 60_000) }
            #expect(try db.store.auditLog(AuditQuery(user: "ana")).count == 3)
        }

        @Test func actorsReadBackFromTheirStoredForm() {
            let actors: [ChangeActor] = [
                .token(name: "app1", peer: "127.0.0.1:50432"), .token(name: "app1", peer: "unix uid=0"),
                .unix(uid: 1000), .unix(uid: nil), .cli(user: "root"), .importFile(name: "users.csv"),
                .importFile(name: "-"), .signIn(provider: "google"), .policy, .unknown,
            ]
            for actor in actors {
                let (name, detail) = actor.stored
                #expect(ChangeActor(stored: name, detail: detail) == actor, "\(actor)")
            }
            #expect(ChangeActor.token(name: "app1", peer: "127.0.0.1:50432").description == "token:app1 (127.0.0.1:50432)")
            #expect(ChangeActor.unix(uid: 1000).description == "unix (uid=1000)")
            #expect(ChangeActor.cli(user: "root").description == "cli:root")
            #expect(ChangeActor(stored: "robot:x", detail: nil) == .unknown)
        }
    }
}
