import Foundation
import Testing

/// `permd check`, `explain`, `test` and `diff`, run as a user runs them.
@Suite struct IndexCLITests {
    static let policies: [String: String] = [
        "settings.json": #"{"settings": {"default_organization": "org_default"}}"#,
        "organizations.json": #"{"organizations": [{"code": "org_default"}, {"code": "org_a"}]}"#,
        "permissions.json": #"{"permissions": [{"key": "read:invoices"}, {"key": "write:invoices"}, {"key": "delete:org"}]}"#,
        "roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true}, {"key": "editor", "includes": ["viewer"], "permissions": ["write:invoices"]}]}"#,
        "billing.test.json": #"""
            {"name": "billing", "organizations": [{"code": "org_b"}],
             "users": [{"id": "alice", "memberships": [{"org": "org_a", "roles": ["editor"]}, {"org": "org_b"}]},
                       {"id": "bob", "memberships": [{"org": "org_a", "roles": [], "permissions": ["delete:org"]}]}],
             "expect": [{"user": "alice", "org": "org_a", "allow": ["read:invoices", "write:invoices"], "deny": ["delete:org"]},
                        {"user": "alice", "org": "org_b", "allow": ["read:invoices"], "deny": ["write:invoices"]},
                        {"user": "bob", "org": "org_a", "allow": ["delete:org"], "deny": ["read:invoices"]}]}
            """#,
    ]

    static func workspace(_ changes: [String: String] = [:]) throws -> String {
        try PermdProcess.temporaryDirectory(policies.merging(changes) { _, new in new })
    }

    @Test func passingTestsExitZero() throws {
        let directory = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try PermdProcess.run(["test", directory])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.lines == ["7 passed, 0 failed"])
    }

    @Test func failedExpectationsAreExplainedAndExitFour() throws {
        let directory = try Self.workspace(["more.test.json": #"""
            {"users": [{"id": "carol", "memberships": [{"org": "org_a", "roles": ["viewer"]}]}],
             "expect": [{"user": "carol", "org": "org_a", "allow": ["write:invoices"], "deny": ["read:invoices"]},
                        {"user": "dave", "org": "org_a", "allow": ["read:invoices"]}]}
            """#])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try PermdProcess.run(["test", directory])
        #expect(outcome.status == 4, "\(outcome)")
        #expect(outcome.lines == [
            "more.test.json: carol org_a write:invoices: expected ALLOW, got DENY not-granted",
            "more.test.json: carol org_a read:invoices: expected DENY, got ALLOW role:viewer",
            "more.test.json: dave org_a read:invoices: expected ALLOW, got DENY unknown-user",
            "7 passed, 3 failed",
        ])
    }

    @Test func invalidPoliciesExitThree() throws {
        let directory = try Self.workspace([
            "roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:invoice"]}]}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try PermdProcess.run(["test", directory])
        #expect(outcome.status == 3, "\(outcome)")
        #expect(outcome.standardError.contains(#"unknown permission "read:invoice""#))
    }

    @Test func malformedTestFilesAreReportedWithPointerAndExitOne() throws {
        let directory = try Self.workspace([
            "broken.test.json": #"{"users": [{"id": "x", "memberships": [{"org": "org_a", "roles": ["editr"]}]}], "expect": [{"user": "x"}]}"#,
            "syntax.test.json": "{\"users\": [\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try PermdProcess.run(["test", directory])
        #expect(outcome.status == 1, "\(outcome)")
        let errors = outcome.standardError.split(separator: "\n").map(String.init)
        #expect(errors.contains(#"broken.test.json:/users/0/memberships/0/roles/0: error: unknown role "editr""#))
        #expect(errors.contains("broken.test.json:/expect/0/org: error: missing required field"))
        #expect(errors.contains { $0.hasPrefix("syntax.test.json:2:") && $0.contains("error: invalid JSON") })
        #expect(outcome.standardOutput.isEmpty)
    }

    @Test func checkAndExplainReadTheDatabase() throws {
        let directory = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = ["--policies", directory, "--db", directory + "/permd.db"]
        // A database that does not exist is an error (SPEC §3), and is not created.
        let missing = try PermdProcess.run(["explain", "alice", "org_a", "read:invoices"] + db)
        #expect(missing.status == 1 && missing.standardOutput.isEmpty, "\(missing)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/permd.db"))
        for command in [["user", "add", "--id", "alice", "--org", "org_a", "--role", "editor"],
                        ["permission", "grant", "alice", "org_a", "delete:org"]] {
            let outcome = try PermdProcess.run(command + db)
            #expect(outcome.status == 0, "\(outcome)")
        }
        let check = try PermdProcess.run(["check", "alice", "org_a", "read:invoices", "delete:org", "nope:x"] + db)
        #expect(check.status == 0, "\(check)")
        #expect(check.lines == ["ALLOW ALLOW DENY"])
        let answers = try [
            ["alice", "org_a", "write:invoices"], ["alice", "org_a", "delete:org"], ["alice", "org_default", "read:invoices"],
            ["alice", "org_zz", "read:invoices"], ["alice", "org_a", "nope:x"], ["zed", "org_a", "read:invoices"],
        ].map { try PermdProcess.run(["explain"] + $0 + db).standardOutput }
        #expect(answers == ["ALLOW role:editor\n", "ALLOW direct\n", "DENY not-member\n", "DENY unknown-org\n",
                            "DENY unknown-permission\n", "DENY unknown-user\n"])
        let tooMany = try PermdProcess.run(["check", "alice", "org_a"] + db)
        #expect(tooMany.status != 0)
    }

    @Test func diffListsGrantsAndRevocationsWithTheirRoles() throws {
        let old = try Self.workspace()
        let new = try Self.workspace([
            // editor loses write:invoices and gains delete:org; viewer is unchanged.
            "roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true}, {"key": "editor", "includes": ["viewer"], "permissions": ["delete:org"]}]}"#,
        ])
        defer {
            try? FileManager.default.removeItem(atPath: old)
            try? FileManager.default.removeItem(atPath: new)
        }
        let text = try PermdProcess.run(["diff", old, new])
        #expect(text.status == 0, "\(text)")
        #expect(text.lines == [
            "+ alice org_a delete:org role:editor",
            "- alice org_a write:invoices role:editor",
            "1 granted, 1 revoked",
        ])
        let json = try PermdProcess.run(["diff", old, new, "--format", "json", "--max-revoked", "0"])
        #expect(json.status == 5, "\(json)")
        #expect(json.lines == [#"{"granted":[{"user":"alice","org":"org_a","permission":"delete:org","sources":["role:editor"]}],"revoked":[{"user":"alice","org":"org_a","permission":"write:invoices","sources":["role:editor"]}],"summary":{"granted":1,"revoked":1}}"#])
        let allowed = try PermdProcess.run(["diff", old, new, "--max-revoked", "1"])
        #expect(allowed.status == 0)
    }

    @Test func theShippedPoliciesPassTheirTests() throws {
        let outcome = try PermdProcess.run(["test", PermdProcess.repositoryRoot + "/policies"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.lines.last?.hasSuffix(" passed, 0 failed") == true)
    }
}
