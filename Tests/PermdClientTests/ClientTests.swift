import PermdClient
import PermdCore
import PermdProtocol
import PermdTestSupport
import Testing

private let policyJSON = """
{"permissions": [{"key": "read:invoices"}, {"key": "write:invoices"}, {"key": "delete:org"}],
 "roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true},
           {"key": "admin", "includes": ["viewer"], "permissions": ["write:invoices", "delete:org"]}],
 "organizations": [{"code": "org_default"}, {"code": "org_acme"}],
 "settings": {"default_organization": "org_default"}}
"""

@Suite(.serialized) struct ClientTests {
    @Test func everyCommandThroughTheTypedMethods() async throws {
        let server = try ServedPermd(policyJSON: policyJSON)
        let client = try await PermdConnection.connect(port: server.port, token: server.adminToken)
        try await client.ping()
        let added = try await client.addUser(json: #"{"id": "ana", "email": "ana@acme.io", "email_verified": true}"#)
        #expect(added.user == "ana" && added.revision > 0)
        try await client.addMember(user: "ana", organization: "org_acme", roles: ["admin"])
        let granted = try await client.addPermission(user: "ana", organization: "org_default", permission: "write:invoices")
        #expect(try await client.check("ana", "org_acme", "delete:org"))
        #expect(try await client.check("ana", "org_default", ["read:invoices", "write:invoices", "delete:org"]) == [true, true, false])
        #expect(try await client.permissions(user: "ana", organization: "org_default") == ["read:invoices", "write:invoices"])
        #expect(try await client.roles(user: "ana", organization: "org_acme") == ["admin"])
        #expect(try await client.organizations(user: "ana") == ["org_acme", "org_default"])
        #expect(try await client.organizations(user: "ana", permission: "delete:org") == ["org_acme"])
        #expect(try await client.explain(user: "ana", organization: "org_acme", permission: "read:invoices") == .allow([.role("admin")]))
        #expect(try await client.explain(user: "bo", organization: "org_acme", permission: "read:invoices") == .deny(.unknownUser))
        #expect(try await client.sync(to: granted) >= granted)
        #expect(try await client.revision() >= granted)
        #expect(try await client.statistics()["users"] == "1")
        for user in ["bo", "cy", "di", "ed"] { _ = try await client.addUser(json: "{\"id\": \"\(user)\"}") }
        // Five users, pages of two: every page read.
        #expect(try await client.who(organization: "org_default", permission: "read:invoices", pageSize: 2) == ["ana", "bo", "cy", "di", "ed"])
        #expect(try await client.signIn(json: #"{"provider": "google", "provider_user_id": "1", "email": "ana@acme.io", "email_verified": true}"#)
            == .select(user: "ana", organizations: ["org_acme", "org_default"]))
        let signedUp = try await client.signIn(json: #"{"provider": "google", "provider_user_id": "2"}"#)
        guard case .signedUp(_, "org_default") = signedUp else {
            Issue.record("expected a sign-up, got \(signedUp)")
            return
        }
        try await client.removePermission(user: "ana", organization: "org_default", permission: "write:invoices")
        try await client.removeRole(user: "ana", organization: "org_acme", role: "admin")
        try await client.addRole(user: "ana", organization: "org_acme", role: "viewer")
        try await client.addOrganization("org_new", json: #"{"name": "New"}"#)
        try await client.removeMember(user: "ana", organization: "org_default")
        try await client.deleteOrganization("org_new")
        try await client.deleteUser("ed")
        #expect(try await client.reload() > 0)
        await client.close()
    }

    @Test func overTheUnixSocket() async throws {
        let socketName = "permd-client-\(freeLoopbackPort()).sock"
        let server = try ServedPermd(policyJSON: policyJSON, arguments: ["--unix", "/tmp/" + socketName])
        let client = try await PermdConnection.connect(unixPath: "/tmp/" + socketName, token: server.adminToken)
        try await client.ping()
        _ = try await client.addUser(json: #"{"id": "ana"}"#)
        #expect(try await client.check("ana", "org_default", "read:invoices"))
        await client.close()
        server.stop()
    }

    @Test func eachErrCodeIsItsOwnError() async throws {
        let server = try ServedPermd(policyJSON: policyJSON)
        let client = try await PermdConnection.connect(port: server.port, token: server.adminToken)
        await #expect(throws: PermdError.self) { try await client.deleteUser("nobody") }
        do {
            try await client.deleteUser("nobody")
            Issue.record("deleting an unknown user succeeded")
        } catch ErrorCode.notFound {
            // the code matched
        }
        do {
            _ = try await client.sync(to: 1_000, timeoutMilliseconds: 10)
            Issue.record("SYNC to a revision never reached succeeded")
        } catch let error as PermdError {
            #expect(error.code == .stale)
        }
        _ = try await client.addUser(json: #"{"id": "ana"}"#)
        do {
            _ = try await client.addUser(json: #"{"id": "ana", "email": "other@acme.io"}"#)
            Issue.record("adding another user with the same id succeeded")
        } catch ErrorCode.conflict {}
        // Refused before it is sent, with the server's own message.
        #expect(throws: ProtocolError(.arity, "wrong number of arguments; usage: \(Command.perms.usage)")) {
            try ClientRequest(.perms, ["ana"])
        }
        #expect(throws: ProtocolError.self) { try ClientRequest(.check, ["ana", "org acme", "read"]) }
        // Without the token, writes are refused: NOAUTH.
        let anonymous = try await PermdConnection.connect(port: server.port)
        do {
            try await anonymous.deleteUser("ana")
            Issue.record("a write without the token succeeded")
        } catch ErrorCode.noAuth {}
        await #expect(throws: PermdError(ProtocolError(.noAuth, "wrong token"))) {
            _ = try await PermdConnection.connect(port: server.port, token: "wrong")
        }
        await #expect(throws: PermdClientError.self) {
            _ = try await PermdConnection.connect(port: freeLoopbackPort())
        }
        await client.close()
        await anonymous.close()
    }

    @Test func pipelinedRequestsAnswerInOrder() async throws {
        let server = try ServedPermd(policyJSON: policyJSON)
        let client = try await PermdConnection.connect(port: server.port, token: server.adminToken)
        _ = try await client.addUser(json: #"{"id": "ana"}"#)
        try await client.addMember(user: "ana", organization: "org_acme", roles: ["admin"])
        // 1,000 requests in one write; every other one denied.
        let requests = try (0..<1_000).map { index in
            try ClientRequest(.check, ["ana", index % 2 == 0 ? "org_acme" : "org_nowhere", "delete:org"])
        }
        let replies = try await client.send(requests)
        #expect(replies.count == 1_000)
        #expect(replies.enumerated().allSatisfy { $0.element.decisions == [$0.offset % 2 == 0] })
        // Concurrent calls on one connection pipeline too.
        let decisions = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<200 {
                group.addTask { (index, try await client.check("ana", index % 3 == 0 ? "org_acme" : "org_default", "delete:org")) }
            }
            return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(decisions.count == 200 && decisions.allSatisfy { $0.value == ($0.key % 3 == 0) })
        await client.close()
    }

    @Test func aPoolSharesItsConnectionsAndReplacesAClosedOne() async throws {
        let server = try ServedPermd(policyJSON: policyJSON)
        let pool = PermdPool(port: server.port, token: server.adminToken, size: 3)
        _ = try await pool.addUser(json: #"{"id": "ana"}"#)
        let answers = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<300 { group.addTask { try await pool.check("ana", "org_default", "read:invoices") } }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(answers.count == 300 && answers.allSatisfy { $0 })
        // A connection closed under the pool is replaced on its next turn.
        let first = try await pool.connection()
        await first.close()
        await #expect(throws: PermdClientError(.closed)) { try await first.ping() }
        for _ in 0..<6 { #expect(try await pool.check("ana", "org_default", "read:invoices")) }
        await pool.close()
    }
}
