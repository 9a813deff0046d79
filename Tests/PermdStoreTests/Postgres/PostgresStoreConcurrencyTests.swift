import Dispatch
import Foundation
import Logging
import PermdCore
import PermdPolicy
import PermdStore
import PermdTestSupport
import Testing

/// Writes racing on separate handles (separate connections, as separate replicas hold them)
/// of one PostgreSQL database: the rules hold whatever the interleaving (SPEC §8).
@Suite(.needsPostgres) struct PostgresStoreConcurrencyTests {
    /// A handle for a thread of its own; each is used by that one thread only.
    final class Handle: @unchecked Sendable {
        let store: any StateStore
        init(_ store: any StateStore) { self.store = store }
    }

    /// Opens `count` handles on one fresh database (the first creates it).
    static func handles(_ count: Int, _ place: StorePlace) throws -> [Handle] {
        try (0..<count).map { _ in Handle(try place.location.open(policy: testPolicy(), logger: Logger(label: "race"))) }
    }

    /// Runs `writes[i]` on `handles[i]`, all started together; the results in order.
    static func race(_ handles: [Handle], _ writes: [[Write]]) -> [[Result<WriteOutcome, WriteRefusal>]?] {
        let results = Mutex2<[[Result<WriteOutcome, WriteRefusal>]?]>(Array(repeating: nil, count: handles.count))
        let ready = DispatchSemaphore(value: 0)
        let start = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for (index, handle) in handles.enumerated() {
            let batch = writes[index]
            done.enter()
            Thread {
                ready.signal()
                start.wait()
                var outcomes: [Result<WriteOutcome, WriteRefusal>] = []
                for write in batch {
                    guard let result = try? handle.store.perform([write])[0] else { break }
                    outcomes.append(result)
                }
                if outcomes.count == batch.count { results.withLock { $0[index] = outcomes } }
                done.leave()
            }.start()
        }
        for _ in handles { ready.wait() }
        for _ in handles { start.signal() }
        _ = done.wait(timeout: .now() + 60)
        return results.withLock { $0 }
    }

    static let rounds = 5

    @Test func removingTheLastTwoOrganizationsAtOnceLeavesOne() throws {
        let place = try StoreBackend.postgres.makePlace()
        let handles = try Self.handles(2, place)
        for round in 0..<Self.rounds {
            let user = "alice\(round)"
            _ = try handles[0].store.perform([.addUser(NewUser(id: user, organizations: ["org_default", "org_acme"]))])
            let results = Self.race(handles, [[.removeMember(user: user, organization: "org_default")],
                                              [.removeMember(user: user, organization: "org_acme")]])
            let outcomes = try results.map { try #require($0?.first) }
            #expect(outcomes.filter { (try? $0.get()) != nil }.count == 1, "exactly one removal wins: \(outcomes)")
            for case .failure(let refusal) in outcomes { expectRefusal(refusal, .lastOrganization, naming: [user]) }
            #expect(try handles[1].store.user(user)?.memberships.count == 1)
        }
    }

    @Test func twoUsersTakingOneEmailAtOnceHaveOneWinner() throws {
        let place = try StoreBackend.postgres.makePlace()
        let handles = try Self.handles(2, place)
        for round in 0..<Self.rounds {
            let email = "shared\(round)@example.com"
            let results = Self.race(handles, [
                [.addUser(NewUser(id: "a\(round)", profile: UserProfile(email: email)))],
                [.addUser(NewUser(id: "b\(round)", profile: UserProfile(email: email.uppercased())))],
            ])
            let outcomes = try results.map { try #require($0?.first) }
            #expect(outcomes.filter { (try? $0.get()) != nil }.count == 1, "exactly one user gets the email: \(outcomes)")
            for case .failure(let refusal) in outcomes { expectRefusal(refusal, .emailTaken) }
            let holders = try ["a\(round)", "b\(round)"].filter { try handles[0].store.user($0) != nil }
            #expect(holders.count == 1)
        }
    }

    @Test func twoUsersLinkingOneIdentityAtOnceHaveOneWinner() throws {
        let place = try StoreBackend.postgres.makePlace()
        let handles = try Self.handles(2, place)
        for round in 0..<Self.rounds {
            let users = ["ana\(round)", "bo\(round)"]
            for user in users {
                _ = try handles[0].store.perform([.addUser(NewUser(id: user, profile: UserProfile(email: "\(user)@x.io")))])
            }
            // Each sign-in finds its user by a verified email and links the same identity.
            let results = Self.race(handles, users.map { user in
                [.signIn(SignInRequest(provider: "google", providerUserID: "g-\(round)", email: "\(user)@x.io",
                                       emailVerified: true))]
            })
            let outcomes = try results.map { try #require($0?.first) }
            #expect(outcomes.filter { (try? $0.get()) != nil }.count == 1, "exactly one user gets the identity: \(outcomes)")
            let linked = try users.filter { user in
                try handles[1].store.user(user)?.identities.contains(Identity(provider: "google", providerUserID: "g-\(round)")) == true
            }
            #expect(linked.count == 1, "the identity belongs to one user: \(linked)")
        }
    }

    @Test func grantsFromThreeHandlesAtOnceAreAllKeptEachInItsOwnRevision() throws {
        let place = try StoreBackend.postgres.makePlace()
        let handles = try Self.handles(3, place)
        let users = (0..<20).map { "u\($0)" }
        for user in users { _ = try handles[0].store.perform([.addUser(NewUser(id: user, organizations: ["org_acme"]))]) }
        let before = try handles[0].store.currentRevision()
        let permissions = ["read:invoices", "write:invoices", "refund:payments"]
        let results = Self.race(handles, permissions.map { permission in
            users.map { .grantPermission(user: $0, organization: "org_acme", permission: permission) }
        })
        let outcomes = try results.flatMap { try #require($0) }
        let revisions = outcomes.compactMap { try? $0.get().revision }
        #expect(revisions.count == users.count * permissions.count, "no grant refused or lost")
        #expect(Set(revisions) == Set((before + 1)...(before + UInt64(revisions.count))),
                "one revision each, gap-free")
        let after = try handles[1].store.currentRevision()
        #expect(after == before + UInt64(users.count * permissions.count))
        let log = try #require(try handles[2].store.changes(after: before))
        #expect(log.map(\.revision) == Array((before + 1)...after), "the log in revision order, one change each")
        for user in users {
            #expect(try handles[1].store.user(user)?.memberships.first?.permissions.sorted() == permissions.sorted())
        }
    }
}
