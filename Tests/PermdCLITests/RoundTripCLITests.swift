import Foundation
import Testing

/// `permd export --organizations` and `permd export`, imported into an empty database, export
/// the same again (SPEC §4), run as a user runs them.
@Suite struct RoundTripCLITests {
    /// The policies after a release that dropped the role `admin` and the permission `refund:payments`.
    static let laterPolicy = """
        {"permissions": [{"key": "read:invoices"}],
         "roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true}],
         "organizations": [{"code": "org_default", "name": "Default"},
                           {"code": "org_acme", "name": "Acme Ltd", "external_id": "acme-123"}],
         "settings": {"default_organization": "org_default"}}
        """

    @Test(arguments: ["kinde-csv", "kinde-ndjson"])
    func anExportImportedIntoAnEmptyDatabaseExportsTheSame(format: String) throws {
        let directory = try PermdProcess.temporaryDirectory([
            "policies/p.json": ManagementCLITests.policy, "later/p.json": Self.laterPolicy,
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func permd(_ arguments: String..., policies: String = "policies", db: String = "permd.db") throws -> PermdProcess.Outcome {
            let outcome = try PermdProcess.run(arguments + ["--policies", policies, "--db", db], in: directory)
            #expect(outcome.status == 0, "permd \(arguments.joined(separator: " ")): \(outcome)")
            return outcome
        }
        _ = try permd("org", "add", "org_beta", "--name", "Beta, Inc.", "--external-id", "crm-9")
        _ = try permd("org", "add", "org_gamma")
        _ = try permd("user", "add", "--id", "alice", "--email", "alice@acme.io", "--first-name", "Alice",
                      "--last-name", "", "--org", "org_acme", "--org", "org_beta", "--role", "admin")
        _ = try permd("permission", "grant", "alice", "org_beta", "refund:payments")
        _ = try permd("permission", "grant", "alice", "org_beta", "read:invoices")
        _ = try permd("user", "add", "--id", "bob", "--first-name", "Bob", "--org", "org_gamma")

        let organizations = try permd("export", "--organizations", policies: "later")
        #expect(organizations.standardOutput.contains("org_beta,\"Beta, Inc.\",crm-9\n"), "\(organizations)")
        let users = try permd("export", "--format", format, policies: "later")
        #expect(users.standardError.contains(
            "export: notice: left out 3 grants of roles or permissions the policies no longer define "
            + "(2 role assignments, 1 direct permission)"), "\(users)")
        #expect(!users.standardOutput.contains(#""last_name":"""#), "a blank last name is no value")
        try Data(organizations.standardOutput.utf8).write(to: URL(fileURLWithPath: directory + "/orgs.csv"))
        try Data(users.standardOutput.utf8).write(to: URL(fileURLWithPath: directory + "/users.export"))

        let imported = try permd("import", "orgs.csv", policies: "later", db: "new.db")
        #expect(imported.standardOutput.contains("organizations: 2 added, 0 updated, 2 unchanged"), "\(imported)")
        _ = try permd("import", "users.export", policies: "later", db: "new.db")
        #expect(try permd("export", "--organizations", policies: "later", db: "new.db").standardOutput
            == organizations.standardOutput)
        let again = try permd("export", "--format", format, policies: "later", db: "new.db")
        #expect(again.standardOutput == users.standardOutput)
        #expect(again.standardError.isEmpty, "nothing left out the second time: \(again.standardError)")

        let twice = try permd("import", "orgs.csv", policies: "later", db: "new.db")
        #expect(twice.standardOutput.contains("organizations: 0 added, 0 updated, 4 unchanged"), "\(twice)")
    }
}
