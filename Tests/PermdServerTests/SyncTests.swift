import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `SYNC` over real sockets: woken by the write that publishes the revision, or answered
/// `ERR STALE` at its deadline — and the wake-up that lost never answers anything.
@Suite(.serialized) struct SyncTests {
    @Test func syncIsAnsweredWhenAnotherConnectionsWritePublishes() async throws {
        try await withTestServer { server in
            let waiter = try server.client()
            let revision = try #require(UInt64(try waiter.request("REVISION").dropFirst(3)))
            // A 60 s timeout: an answer within the client's 5 s read timeout was woken, not timed out.
            let sent = ContinuousClock.now
            try waiter.send("SYNC \(revision + 1) 60000\nCHECK ana org_default read:invoices\n")
            try await Task.sleep(for: .milliseconds(100))
            // On a crowded machine, with the tests' blocking socket reads holding the few
            // cooperative threads, this "100 ms" has lasted past the SYNC's minute: the deadline
            // then answered, rightly, and the test cannot tell anything.
            guard ContinuousClock.now - sent < .seconds(50) else { return }
            if waiter.hasReplyWaiting() {
                // Say what it answered: the difference between a wrong wake-up and a wrong deadline.
                Issue.record("SYNC answered before the revision existed: \(try waiter.readLines(1))")
                return
            }

            let admin = try server.admin()
            let added = try admin.request(#"USER.ADD {"id": "ana"}"#).split(separator: " ")
            #expect(added.count == 3 && added[0] == "OK")
            let written = try #require(added.last.flatMap { UInt64($0) })
            #expect(written >= revision + 1)

            let started = ContinuousClock.now
            #expect(try waiter.readLines(2) == ["OK \(written)", "ALLOW"])  // the query after SYNC sees the write
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(try waiter.request("PING") == "PONG")
        }
    }

    @Test func syncTimesOutStaleAndTheLaterWriteAnswersNothing() async throws {
        try await withTestServer { server in
            let waiter = try server.client()
            let revision = try #require(UInt64(try waiter.request("REVISION").dropFirst(3)))
            let started = ContinuousClock.now
            try waiter.send("SYNC \(revision + 1) 150\nPING\n")
            #expect(try waiter.readLines(2) == ["ERR STALE \(revision)", "PONG"])
            #expect(ContinuousClock.now - started >= .milliseconds(150))

            let admin = try server.admin()
            let added = try admin.request(#"USER.ADD {"id": "ana"}"#)
            #expect(added.hasPrefix("OK ana "))
            try await Task.sleep(for: .milliseconds(100))
            #expect(!waiter.hasReplyWaiting(), "a SYNC that timed out was answered again")
            #expect(try waiter.request("SYNC \(revision + 1) 0") == "OK \(added.split(separator: " ").last ?? "")")
        }
    }

    @Test func aSyncWithATimeoutOfZeroAnswersAtOnce() async throws {
        try await withTestServer { server in
            let client = try server.client()
            let revision = try #require(UInt64(try client.request("REVISION").dropFirst(3)))
            try client.send("SYNC \(revision + 3) 0\nSYNC \(revision)\nREVISION\n")
            #expect(try client.readLines(3) == ["ERR STALE \(revision)", "OK \(revision)", "OK \(revision)"])
        }
    }

    /// A shutdown answers a SYNC still waiting (`ERR STALE`) and closes; it does not wait
    /// for the SYNC's deadline (a minute here: before, the stop took that minute).
    @Test func shutdownAnswersAWaitingSyncAtOnce() async throws {
        let server = try await TestServer()
        let waiter = try server.client()
        let revision = try #require(UInt64(try waiter.request("REVISION").dropFirst(3)))
        try waiter.send("SYNC \(revision + 1) 60000\n")
        try await Task.sleep(for: .milliseconds(50))
        let started = ContinuousClock.now
        await server.stop()
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(try waiter.readLine() == "ERR STALE \(revision)")
        #expect(try waiter.readLine() == nil)
    }

    @Test func manyConnectionsWaitingForOneRevisionAreAllWoken() async throws {
        try await withTestServer { server in
            let waiters = try (0..<8).map { _ in try server.client() }
            let revision = try #require(UInt64(try waiters[0].request("REVISION").dropFirst(3)))
            for waiter in waiters { try waiter.send("SYNC \(revision + 1) 60000\n") }
            try await Task.sleep(for: .milliseconds(50))
            let admin = try server.admin()
            let added = try admin.request(#"USER.ADD {"id": "ana"}"#)
            #expect(added.hasPrefix("OK ana "))
            for waiter in waiters { #expect(try waiter.readLine() == "OK \(added.split(separator: " ").last ?? "")") }
        }
    }
}

extension LineClient {
    /// Whether a reply has arrived and not been read (a peek that does not wait).
    func hasReplyWaiting() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }
}
