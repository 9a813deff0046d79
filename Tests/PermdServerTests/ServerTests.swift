import Foundation
import Logging
import PermdCore
import PermdPolicy
import PermdServer
import PermdStore
import Testing
import PermdTestSupport

@Suite(.serialized) struct ServerTests {
    @Test func everyCommandAndReplyForm() async throws {
        try await withTestServer { server in
            let anonymous = try server.client()
            #expect(try anonymous.request("PING") == "PONG")
            #expect(try anonymous.request("USER.ADD {}").hasPrefix("ERR NOAUTH"))
            #expect(try anonymous.request("AUTH wrong") == "ERR NOAUTH wrong token")

            let admin = try server.admin()
            let added = try admin.request(#"USER.ADD {"id": "ana", "email": "ana@acme.io"}"#).split(separator: " ")
            #expect(added.count == 3 && added[0] == "OK" && added[1] == "ana")
            #expect(try admin.request("MEMBER.ADD ana org_acme admin").hasPrefix("OK "))
            #expect(try admin.request("PERM.ADD ana org_default write:invoices").hasPrefix("OK "))
            #expect(try admin.request("CHECK ana org_acme delete:org") == "ALLOW")
            #expect(try admin.request("CHECK ana org_default read:invoices write:invoices delete:org nope")
                == "ALLOW ALLOW DENY DENY")
            #expect(try admin.request("PERMS ana org_default") == "OK read:invoices write:invoices")
            #expect(try admin.request("ROLES ana org_acme") == "OK admin")
            #expect(try admin.request("ORGS ana") == "OK org_acme org_default")
            #expect(try admin.request("ORGS ana delete:org") == "OK org_acme")
            #expect(try admin.request("ORGS nobody") == "OK")
            #expect(try admin.request("EXPLAIN ana org_acme read:invoices") == "ALLOW role:admin")
            #expect(try admin.request("EXPLAIN ana org_default write:invoices") == "ALLOW direct")
            #expect(try admin.request("EXPLAIN bob org_acme read:invoices") == "DENY unknown-user")
            #expect(try admin.request("ROLE.DEL ana org_acme admin").hasPrefix("OK "))
            #expect(try admin.request("ROLE.ADD ana org_acme admn").hasPrefix("ERR NOT_FOUND"))
            #expect(try admin.request("PERM.DEL ana org_default write:invoices").hasPrefix("OK "))
            #expect(try admin.request("CHECK ana org_default write:invoices") == "DENY")
            for user in ["bo", "cy", "di"] {
                #expect(try admin.request("USER.ADD {\"id\": \"\(user)\"}").hasPrefix("OK \(user) "))
            }
            #expect(try admin.request("WHO org_default read:invoices - 2") == "OK ana bo MORE")
            #expect(try admin.request("WHO org_default read:invoices bo 2") == "OK cy di")
            #expect(try admin.request("WHO org_default read:invoices - x").hasPrefix("ERR SYNTAX"))
            #expect(try admin.request("ORG.ADD org_new {\"name\": \"New\"}").hasPrefix("OK "))
            #expect(try admin.request("ORG.DEL org_new").hasPrefix("OK "))
            #expect(try admin.request("ORG.DEL org_acme").hasPrefix("ERR CONFLICT"))
            #expect(try admin.request("MEMBER.DEL ana org_default").hasPrefix("OK "))
            #expect(try admin.request("MEMBER.DEL ana org_acme").hasPrefix("ERR CONFLICT"))
            #expect(try admin.request("USER.ADD {\"id\": 7}").hasPrefix("ERR SYNTAX"))
            #expect(try admin.request("USER.ADD [1]").hasPrefix("ERR SYNTAX"))
            #expect(try admin.request("USER.ADD {\"id\": ").hasPrefix("ERR SYNTAX"))
            #expect(try admin.request(#"SIGNIN {"provider": "google", "provider_user_id": "1", "email": "ana@acme.io", "email_verified": true}"#)
                == "OK ana org_acme")
            #expect(try admin.request(#"SIGNIN {"provider": "google", "provider_user_id": "2"}"#).hasSuffix(" org_default NEW"))
            #expect(try admin.request(#"SIGNIN {"provider": "google"}"#).hasPrefix("ERR SYNTAX"))
            #expect(try admin.request("USER.DEL di").hasPrefix("OK "))

            let revision = try admin.request("REVISION")
            let number = try #require(UInt64(revision.dropFirst(3)))
            #expect(try admin.request("SYNC \(number)") == "OK \(number)")
            #expect(try admin.request("SYNC \(number + 5) 50") == "ERR STALE \(number)")
            let stats = try admin.request("STATS")
            for key in ["revision", "users", "organizations", "memberships", "roles", "permissions", "index_bytes",
                        "build_ms", "connections", "checks", "allows", "denies", "uptime_s"] {
                #expect(stats.contains(" \(key)="), "STATS lacks \(key)")
            }
            #expect(try admin.request("HELP").hasPrefix("OK CHECK PERMS"))
            #expect(try admin.request("RELOAD").hasPrefix("OK "))
            try "{ not json".write(toFile: server.policiesPath + "/broken.json", atomically: true, encoding: .utf8)
            #expect(try admin.request("RELOAD").hasPrefix("ERR INVALID "))
            #expect(try admin.request("CHECK ana org_acme read:invoices") == "DENY")  // still served
            #expect(try admin.request("QUIT") == "OK")
            #expect(try admin.readLine() == nil)
        }
    }

    /// Policy files that clash with the database (a declared organization's external id held by
    /// another) are invalid policies: `ERR INVALID` with the reason, the old ones kept serving.
    @Test func reloadingPoliciesThatClashWithTheDatabaseIsInvalid() async throws {
        try await withTestServer { server in
            let admin = try server.admin()
            #expect(try admin.request(#"ORG.ADD org_x {"external_id": "acme-9"}"#).hasPrefix("OK "))
            #expect(try admin.request(#"USER.ADD {"id": "ana", "organizations": ["org_acme"]}"#).hasPrefix("OK "))
            let clashing = TestServer.policyJSON.replacingOccurrences(
                of: #"{"code": "org_acme"}"#, with: #"{"code": "org_acme", "external_id": "acme-9"}"#)
            try clashing.write(toFile: server.policiesPath + "/policy.json", atomically: true, encoding: .utf8)
            let answer = try admin.request("RELOAD")
            #expect(answer.hasPrefix("ERR INVALID "), "\(answer)")
            #expect(answer.contains("acme-9") && answer.contains("org_x"), "\(answer)")
            #expect(try admin.request("CHECK ana org_acme read:invoices") == "ALLOW")  // still served
            try TestServer.policyJSON.write(toFile: server.policiesPath + "/policy.json", atomically: true, encoding: .utf8)
            #expect(try admin.request("RELOAD").hasPrefix("OK "))
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withTestServer { server in
            let admin = try server.admin()
            _ = try admin.request(#"USER.ADD {"id": "ana"}"#)
            let count = 20_000
            let text = (0..<count).map { $0 % 2 == 0 ? "CHECK ana org_default read:invoices\n" : "CHECK ana org_default p\($0)\n" }
            try admin.send(text.joined())
            let replies = try admin.readLines(count)
            #expect(replies.enumerated().allSatisfy { $0.element == ($0.offset % 2 == 0 ? "ALLOW" : "DENY") })
        }
    }

    /// Plain CHECK lines take a shortcut (`PlainCheck`) only while no write of the burst is
    /// held for the writer: one that follows a write in the same burst is answered after it,
    /// in order, and sees it.
    @Test func aPlainCheckAfterAWriteInTheSameBurstSeesIt() async throws {
        try await withTestServer { server in
            let admin = try server.admin()
            _ = try admin.request(#"USER.ADD {"id": "bo"}"#)
            let check = "CHECK bo org_acme write:invoices"
            let burst = [check, "MEMBER.ADD bo org_acme", "ROLE.ADD bo org_acme admin", check,
                         "check  bo org_acme write:invoices", "ROLE.DEL bo org_acme admin", check,
                         "CHECK bo org_acme read:invoices write:invoices"]
            try admin.send(burst.joined(separator: "\n") + "\n")
            let replies = try admin.readLines(burst.count)
            #expect(replies[0] == "DENY")
            #expect(replies[1].hasPrefix("OK ") && replies[2].hasPrefix("OK ") && replies[5].hasPrefix("OK "), "\(replies)")
            #expect(replies[3] == "ALLOW" && replies[4] == "ALLOW", "\(replies)")
            #expect(replies[6] == "DENY" && replies[7] == "ALLOW DENY", "\(replies)")
        }
    }

    /// The outbound buffer is reused from burst to burst: replies that back up (a client
    /// that reads late, small socket buffers, so that writes are partial and NIO still holds
    /// a burst when the next is answered) must arrive whole and in order.
    @Test func repliesThatBackUpArriveWholeAndInOrder() async throws {
        try await withTestServer(configure: { $0.outboundHighWatermark = 4096 }) { server in
            let admin = try server.admin()
            _ = try admin.request(#"USER.ADD {"id": "ana"}"#)
            let client = try LineClient(port: server.port, socketBuffer: 4096)
            let requests = ["PERMS ana org_default", "CHECK ana org_default read:invoices write:invoices read:invoices",
                            "CHECK ana org_default nope", "EXPLAIN ana org_default read:invoices", "PING"]
            let expected = ["OK read:invoices", "ALLOW DENY ALLOW", "DENY", "ALLOW role:viewer", "PONG"]
            let rounds = 4_000
            let text = String(repeating: requests.joined(separator: "\n") + "\n", count: rounds)
            nonisolated(unsafe) let sender = client
            let sent = Thread {
                try? sender.send(text)
            }
            sent.start()
            try await Task.sleep(for: .milliseconds(200))  // let the replies fill both sides' buffers first
            let replies = try client.readLines(rounds * requests.count)
            let wrong = replies.enumerated().first { $0.element != expected[$0.offset % expected.count] }
            #expect(wrong == nil, "reply \(wrong?.offset ?? 0): \(wrong?.element ?? "")")
        }
    }

    @Test func dripFedBytesGetTheSameAnswers() async throws {
        try await withTestServer { server in
            let admin = try server.admin()
            let text = "PING\r\n\nAUTH s3cret\nMEMBER.ADD x org_acme\nCHECK x org_acme read:invoices\n"
            for byte in text.utf8 { try admin.send([byte]) }
            #expect(try admin.readLines(4) == ["PONG", "OK", "ERR NOT_FOUND unknown user \"x\"", "DENY"])
        }
    }

    @Test func badInputGetsErrorsAndTheConnectionKeepsWorking() async throws {
        try await withTestServer(configure: { $0.maxLineLength = 64 }) { server in
            let client = try server.client()
            try client.send(String(repeating: "A", count: 10_000) + "\n")
            try client.send([0x00, 0xFF, 0x80, 0x0A, 0x43, 0x48, 0x45, 0x43, 0x4B, 0x20, 0xC3, 0xA9, 0x20, 0x6F, 0x20, 0x70, 0x0A])
            try client.send("\n\r\n  \nCHECK a b\nPING\r\n")
            #expect(try client.readLines(4).map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
                == ["ERR TOO_LONG", "ERR UNKNOWN_COMMAND", "ERR SYNTAX", "ERR ARITY"])
            #expect(try client.readLine() == "PONG")
        }
    }

    @Test func halfClosedClientsGetTheirAnswers() async throws {
        try await withTestServer { server in
            let client = try server.client()
            try client.send("PING\nCHECK a b c")
            client.shutdownWrite()
            #expect(try client.readLines(2) == ["PONG", "DENY"])
            #expect(try client.readLine() == nil)
        }
    }

    @Test func concurrentReadersAndWritersLoseNothing() async throws {
        try await withTestServer { server in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        let admin = try server.admin()
                        for index in 0..<50 {
                            let user = "w\(writer)-\(index)"
                            try admin.send("USER.ADD {\"id\": \"\(user)\"}\nCHECK \(user) org_default read:invoices\n")
                            let replies = try admin.readLines(2)
                            #expect(replies[0].hasPrefix("OK \(user) "))
                            #expect(replies[1] == "ALLOW")  // a write answered OK is visible at once
                        }
                    }
                }
                for reader in 0..<4 {
                    group.addTask {
                        let client = try server.client()
                        for index in 0..<200 {
                            try client.send("CHECK r org_default read:invoices\nPING\nREVISION\n")
                            let replies = try client.readLines(3)
                            #expect(replies[0] == "DENY" && replies[1] == "PONG" && replies[2].hasPrefix("OK "),
                                    "reader \(reader) round \(index)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let client = try server.client()
            #expect(try client.request("WHO org_default read:invoices - 1000").split(separator: " ").count == 201)
        }
    }

    @Test func reloadUnderLoadFailsNoQuery() async throws {
        try await withTestServer { server in
            let admin = try server.admin()
            _ = try admin.request(#"USER.ADD {"id": "ana"}"#)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let reloader = try server.admin()
                    for _ in 0..<10 { #expect(try reloader.request("RELOAD").hasPrefix("OK ")) }
                }
                group.addTask {
                    let client = try server.client()
                    for _ in 0..<300 { #expect(try client.request("CHECK ana org_default read:invoices") == "ALLOW") }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func outsideWritesAreVisibleWithinOneSecond() async throws {
        try await withTestServer { server in
            let policy = try #require(PolicyLoader.load(directory: server.policiesPath).policy)
            let other = try SQLiteStore(path: server.databasePath, policy: policy, logger: Logger(label: "cli"))
            let results = try other.perform([.addUser(NewUser(id: "cli-user"))])
            guard case .success(let outcome) = results.first else { Issue.record("write failed"); return }
            let client = try server.client()
            let started = ContinuousClock.now
            while try client.request("CHECK cli-user org_default read:invoices") != "ALLOW" {
                #expect(ContinuousClock.now - started < .seconds(1))
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try client.request("SYNC \(outcome.revision)") == "OK \(outcome.revision)")
        }
    }

    @Test func idleConnectionsAreClosedAndTheLimitAnswersBusy() async throws {
        try await withTestServer(configure: {
            $0.idleTimeoutSeconds = 1
            $0.maxConnections = 2
        }) { server in
            let first = try server.client()
            let second = try server.client()
            #expect(try first.request("PING") == "PONG")
            let third = try server.client()
            #expect(try third.readLine()?.hasPrefix("ERR BUSY") == true)
            #expect(try third.readLine() == nil)
            #expect(try second.request("PING") == "PONG")
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try first.readLine() == nil)
        }
    }

    @Test func unixSocketSessionsMayWriteWithoutAToken() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("permd-\(UUID().uuidString.prefix(8)).sock").path
        try await withTestServer(configure: {
            $0.unixPath = path
            $0.adminToken = nil
        }) { server in
            let local = try LineClient(unixPath: path)
            #expect(try local.request(#"USER.ADD {"id": "ana"}"#).hasPrefix("OK ana "))
            #expect(try local.request("CHECK ana org_default read:invoices") == "ALLOW")
            let remote = try server.client()
            #expect(try remote.request("USER.DEL ana").hasPrefix("ERR NOAUTH"))
        }
    }

    @Test func aQueryTokenGuardsEveryCommand() async throws {
        try await withTestServer(configure: { $0.queryToken = "q" }) { server in
            let client = try server.client()
            #expect(try client.request("CHECK a b c").hasPrefix("ERR NOAUTH"))
            #expect(try client.request("AUTH q") == "OK")
            #expect(try client.request("CHECK a b c") == "DENY")
            #expect(try client.request("USER.DEL a").hasPrefix("ERR NOAUTH"))
        }
    }
}
