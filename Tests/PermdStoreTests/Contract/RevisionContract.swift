import Foundation
import Logging
import PermdCore
import PermdPolicy
import PermdStore
import Testing
import PermdTestSupport

extension StoreContract {
    /// The revision (SPEC §1, §3, §8): one per committed change, gap-free, in commit order.
    @Suite struct Revisions {
        @Test(arguments: StoreBackend.all)
        func everyWriteThatChangesSomethingIsTheNextRevision(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
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
                .addOrganization(OrganizationRecord(code: "org_x", name: "Ex")),
                .removeOrganization("org_x"),
                .signIn(SignInRequest(provider: "google", providerUserID: "1")),
                .removeUser("alice"),
            ]
            for write in writes {
                let revision = try db.ok(write)
                #expect(revision == last + 1, "\(write)")
                #expect(try db.store.currentRevision() == revision)
                last = revision
            }
        }

        @Test(arguments: StoreBackend.all)
        func aWriteThatChangesNothingAnswersTheCurrentRevision(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let added = try db.addUser("alice", email: "a@x.io", organizations: ["org_acme"])
            let noOps: [Write] = [
                .addUser(NewUser(id: "alice", profile: UserProfile(email: "a@x.io"), organizations: ["org_acme"])),
                .addMember(user: "alice", organization: "org_acme", roles: nil),
                .assignRole(user: "alice", organization: "org_acme", role: "viewer"),
                .unassignRole(user: "alice", organization: "org_acme", role: "auditor"),
                .revokePermission(user: "alice", organization: "org_acme", permission: "refund:payments"),
                .removeMember(user: "alice", organization: "org_default"),
                .addOrganization(OrganizationRecord(code: "org_acme")),
            ]
            for write in noOps {
                #expect(try db.write(write).get() == (write.isAddUser
                    ? .userAdded(id: "alice", revision: added) : .committed(revision: added)), "\(write)")
            }
            #expect(try db.store.currentRevision() == added)
            #expect(try db.store.changes(after: added) == [])
        }

        @Test(arguments: StoreBackend.all)
        func aBatchKeepsItsAcceptedWritesWhenOneIsRefused(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let start = try db.store.currentRevision()
            let results = try db.store.perform([
                .addUser(NewUser(id: "alice")),
                .assignRole(user: "alice", organization: "org_default", role: "admn"),
                .assignRole(user: "alice", organization: "org_default", role: "viewer"),
                .assignRole(user: "alice", organization: "org_default", role: "auditor"),
                .removeUser("nobody"),
                .grantPermission(user: "alice", organization: "org_default", permission: "refund:payments"),
            ])
            #expect(results.count == 6)
            #expect(try results[0].get() == .userAdded(id: "alice", revision: start + 1))
            expectRefused(results[1], .unknownRole, naming: "admn")
            #expect(try results[2].get() == .committed(revision: start + 1), "a no-op answers the revision so far")
            #expect(try results[3].get() == .committed(revision: start + 2))
            expectRefused(results[4], .unknownUser, naming: "nobody")
            #expect(try results[5].get() == .committed(revision: start + 3))
            #expect(try db.store.currentRevision() == start + 3)
            #expect(try db.membership("alice", "org_default")
                == MembershipRecord(organization: "org_default", roles: ["auditor", "viewer"],
                                    permissions: ["refund:payments"]))
            #expect(try db.store.changes(after: start)?.map(\.revision) == [start + 1, start + 1, start + 1,
                                                                             start + 2, start + 3])
        }

        @Test(arguments: StoreBackend.all)
        func aLaterWriteInABatchSeesTheEarlierOnes(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let results = try db.store.perform([
                .addUser(NewUser(id: "alice", profile: UserProfile(email: "a@x.io"))),
                .addUser(NewUser(id: "bob", profile: UserProfile(email: "A@x.io"))),
                .addMember(user: "alice", organization: "org_acme", roles: []),
                .removeMember(user: "alice", organization: "org_default"),
                .removeMember(user: "alice", organization: "org_acme"),
            ])
            expectRefused(results[1], .emailTaken, naming: "alice")
            #expect((try? results[3].get()) != nil)
            expectRefused(results[4], .lastOrganization, naming: "alice")
            #expect(try db.memberships("alice")?.map(\.organization) == ["org_acme"])
        }

        @Test(arguments: StoreBackend.all)
        func anEmptyBatchAnswersNothingAndWritesNothing(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let revision = try db.store.currentRevision()
            #expect(try db.store.commit([]).outcomes.isEmpty)
            #expect(try db.store.currentRevision() == revision)
        }

        @Test(arguments: StoreBackend.all)
        func aReloadIsARevisionThatLogsThePolicyReloadOnSQLiteOnlyItsOrganizationsOnPostgreSQL(
            _ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let before = try db.store.currentRevision()
            // SQLite's one server logs the reload; on PostgreSQL it is one replica's own (SPEC §8).
            let logsReload = db.store.backend == .sqlite
            let reloaded = before + (logsReload ? 1 : 0)
            #expect(try db.store.reload(policy: testPolicy()) == reloaded)
            #expect(try db.changes(after: before) == (logsReload ? [.policyReloaded] : []))
            let policy = testPolicy(extraRole: false, organizations: testOrganizations + [OrganizationDefinition(code: "org_new")])
            #expect(try db.store.reload(policy: policy) == reloaded + 1)
            #expect(try db.store.changes(after: reloaded)?.map(\.change)
                == [.organizationAdded(code: "org_new")] + (logsReload ? [.policyReloaded] : []))
            #expect(db.store.policy.role("auditor") == nil)
            try db.expectRefused(.assignRole(user: "x", organization: "org_default", role: "auditor"), .unknownUser)
            try db.addUser("alice")
            try db.expectRefused(.assignRole(user: "alice", organization: "org_default", role: "auditor"), .unknownRole)
            try db.expectRefused(.removeOrganization("org_new"), .protectedOrganization)
        }

        @Test(arguments: StoreBackend.all)
        func theCommitMarkerMovesWhenAnotherHandleCommits(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let marker = try db.store.commitMarker()
            #expect(try db.store.commitMarker() == marker, "nothing committed: the same marker")
            _ = try db.store.currentRevision()
            _ = try db.store.user("nobody")
            #expect(try db.store.commitMarker() == marker, "reads do not move it")

            let other = try db.reopen()
            let seen = try db.store.commitMarker()
            let revision = try other.perform([.addUser(NewUser(id: "alice"))])[0].get().revision
            #expect(try db.store.commitMarker() != seen)
            #expect(try db.store.currentRevision() == revision)
            #expect(try db.store.changes(after: revision - 1)?.first == ChangeRecord(revision: revision,
                                                                                      change: .userAdded(user: "alice")))
            #expect(try db.store.user("alice") != nil)
        }

        @Test(arguments: StoreBackend.all)
        func twoHandlesWritingAtOnceLoseNothingAndShareNoRevision(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let start = try db.store.currentRevision()
            let perWriter = 40
            let location = db.place.location
            let outcomes = Mutex2<[String: [Result<UInt64, StoreError>]]>([:])
            let threads = ["a", "b"].map { name in
                Thread {
                    var mine: [Result<UInt64, StoreError>] = []
                    do {
                        let store = try location.open(policy: testPolicy(), logger: Logger(label: name))
                        for i in 0..<perWriter {
                            do {
                                let result = try store.perform([.addUser(NewUser(id: "\(name)\(i)"))])[0]
                                mine.append(.success(try result.get().revision))
                            } catch let error as StoreError {
                                mine.append(.failure(error))
                            }
                        }
                    } catch {
                        mine.append(.failure(error as! StoreError))
                    }
                    outcomes.withLock { $0[name] = mine }
                }
            }
            threads.forEach { $0.start() }
            let deadline = Date().addingTimeInterval(60)
            while outcomes.withLock({ $0.count }) < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            let all = outcomes.withLock { $0 }
            #expect(all.count == 2)
            var revisions: [UInt64] = []
            for (_, results) in all {
                for case .failure(let error) in results { Issue.record("a write failed: \(error)") }
                let mine = results.compactMap { try? $0.get() }
                #expect(mine == mine.sorted() && Set(mine).count == mine.count, "strictly increasing per writer")
                revisions += mine
            }
            #expect(revisions.count == 2 * perWriter)
            #expect(Set(revisions) == Set((start + 1)...(start + UInt64(2 * perWriter))), "gap-free, none given twice")
            #expect(try db.store.currentRevision() == start + UInt64(2 * perWriter))
            #expect(try db.store.userIDs(inOrganization: nil).count == 2 * perWriter)
            #expect(try db.store.changes(after: start)?.filter {
                if case .userAdded = $0.change { true } else { false }
            }.map(\.revision).sorted() == revisions.sorted())
        }
    }
}

extension Write {
    /// Whether this is `USER.ADD` (answered with the user's id).
    var isAddUser: Bool {
        if case .addUser = self { true } else { false }
    }
}
