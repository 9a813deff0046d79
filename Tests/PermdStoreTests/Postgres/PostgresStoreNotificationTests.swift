import Logging
import PermdCore
@testable import PermdStore
import PermdTestSupport
import Testing

/// What a replica following a PostgreSQL store relies on (SPEC §8): every commit that changes
/// something notifies `permd_changes` with its revision, after the commit; a refused write or
/// one that changes nothing notifies nobody.
@Suite(.needsPostgres) struct PostgresStoreNotificationTests {
    @Test func aCommitNotifiesItsRevisionAndARefusedWriteNothing() throws {
        let place = try StoreBackend.postgres.makePlace()
        let writer = try place.location.open(policy: testPolicy(), logger: Logger(label: "writer"))
        let follower = try #require(try place.location.open(policy: testPolicy(), logger: Logger(label: "follower"))
            as? PostgresStore)
        let watcher = try #require(follower.commitWatcher() as? PostgresCommitWatcher)
        #expect(try watcher.waitForCommit(upTo: .zero) == .possibleCommit, "connected: notifications before it are lost")

        let results = try writer.perform([.addUser(NewUser(id: "ana")), .addUser(NewUser(id: "bo")),
                                          .removeMember(user: "ana", organization: "org_default")])
        let last = try results[1].get().revision
        #expect(try watcher.notifiedRevisions(waitingUpTo: .seconds(10)) == [last], "one notification per commit")
        #expect(try follower.changes(after: last - 2)?.map(\.change) == [.userAdded(user: "ana"),
            .membershipAdded(user: "ana", organization: "org_default"), .roleAssigned(user: "ana", organization: "org_default", role: "viewer"),
            .userAdded(user: "bo"), .membershipAdded(user: "bo", organization: "org_default"),
            .roleAssigned(user: "bo", organization: "org_default", role: "viewer")])

        _ = try writer.perform([.removeMember(user: "ana", organization: "org_default"), .addUser(NewUser(id: "ana"))])
        #expect(try follower.currentRevision() == last)
        #expect(try follower.commitMarker() == CommitMarker(Int64(last)))
        // Notifications arrive in commit order: the next one received is the next commit's.
        let next = try writer.perform([.addUser(NewUser(id: "cy"))])[0].get().revision
        #expect(next == last + 1)
        #expect(try watcher.notifiedRevisions(waitingUpTo: .seconds(10)) == [next],
                "a refused write and one that changes nothing commit no revision and notify nobody")
    }
}
