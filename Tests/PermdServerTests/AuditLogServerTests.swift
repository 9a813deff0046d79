import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PermdCore
import PermdIndex
import PermdPolicy
@testable import PermdServer
import NIOCore
import PermdStore
import PermdTestSupport
import Testing

/// The audit log seen from the server: a follower whose revision a trim (`--log-retention`)
/// left behind the log floor rebuilds and misses nothing (SPEC §8 "Falling behind"), and the
/// writer trims at start.
@Suite struct AuditLogServerTests {
    @Test(arguments: StoreFixture.backends)
    func aFollowerLeftBehindByATrimRebuildsAndMissesNothing(_ backend: String) throws {
        try StoreFixture.with(backend) { store in
            let (location, policiesPath, policy) = (store.location, store.policiesPath, store.policy)
            let logs = LogCapture()
            let logger = Logger(label: "audit-test") { _ in logs }
            let engine = try StoreEngine(store: location.open(policy: policy, logger: logger), policiesDirectory: policiesPath,
                                         logger: logger)
            let followed = engine.snapshot.revision

            // Another process writes twice and trims its log past both writes, before the engine looks.
            let other = try location.open(policy: policy, logger: logger)
            for user in ["ana", "bo"] {
                _ = try other.perform([.addUser(NewUser(id: user, organizations: ["org_acme"]))], by: .cli(user: "ops"))[0].get()
            }
            let now = UnixMilliseconds(Date().timeIntervalSince1970 * 1000)
            let trim = try other.trimLog(loggedBefore: now + 60_000)
            #expect(trim.floor == followed + 2)
            #expect(try other.changes(after: followed) == nil)

            #expect(try engine.refresh())
            #expect(engine.snapshot.revision == followed + 2)
            #expect(engine.snapshot.check(user: "bo", organization: "org_acme", permission: "read:invoices"))
            #expect(!logs.lines(containing: "rebuilding the index in full").isEmpty, "\(logs.messages)")
            other.close()
            engine.close()
        }
    }

    @Test func aConnectionIsLoggedAsItsTokenWithItsPeerElseAsItsUnixUid() throws {
        var access = ConnectionAccess(queryTokenRequired: false)
        #expect(access.actor(from: .unix(uid: 1000)) == .unix(uid: 1000))
        access.raise(to: .admin, adminToken: "app1")
        #expect(access.actor(from: .unix(uid: 1000)) == .token(name: "app1", peer: "unix uid=1000"))
        #expect(access.actor(from: ConnectionPeer(try SocketAddress(ipAddress: "127.0.0.1", port: 50432)))
            == .token(name: "app1", peer: "127.0.0.1:50432"))
        #expect(access.actor(from: ConnectionPeer(try SocketAddress(ipAddress: "::1", port: 50432)))
            == .token(name: "app1", peer: "[::1]:50432"))
    }

    /// The writes of several connections committed together: each revision names its own
    /// connection (the same token, told apart by the peer).
    @Test func writesCommittedTogetherEachNameTheirConnection() async throws {
        // A write timeout far longer than the pauses below, however slow a loaded machine is.
        try await withTestServer(writeTimeout: .seconds(600)) { server in
            let clients = try (0..<3).map { _ in try server.admin() }
            for client in clients { client.setTimeout(seconds: 600) }
            // Another process holds the write lock: the writer waits on the first write, and the
            // others queue behind it, to be committed together once the lock is let go. (The
            // pauses only make that likely; the expectations hold whatever the batches were.
            // They block rather than await: a test that awaits can wait long for a thread.)
            let lock = try SQLiteWriteLock(path: server.databasePath)
            try clients[0].send("ORG.ADD org_0\n")
            usleep(200_000)
            try clients[1].send("ORG.ADD org_1\n")
            try clients[2].send("ORG.ADD org_2\n")
            usleep(200_000)
            lock.release()
            for client in clients { #expect(try client.readLine()?.hasPrefix("OK ") == true) }

            let policy = try #require(PolicyLoader.load(directory: server.policiesPath).policy)
            let reader = try SQLiteStore(readingOnly: server.databasePath, policy: policy, logger: Logger(label: "audit-test"))
            for (index, client) in clients.enumerated() {
                let entries = try reader.auditLog(AuditQuery(organization: "org_\(index)"))
                #expect(entries.map(\.actor) == [.token(name: "admin", peer: "127.0.0.1:\(client.localPort)")])
            }
        }
    }
}

extension LineClient {
    /// The local TCP port of the connection: the peer port the server sees.
    var localPort: Int { localTCPPort(fd) }
}
