import Foundation
import Testing

/// `permd validate`, run as a subprocess.
@Suite struct ValidateCommandTests {
    static let valid: [String: String] = [
        "settings.json": #"{"settings": {"default_organization": "org_default"}}"#,
        "organizations.json": #"{"organizations": [{"code": "org_default"}]}"#,
        "permissions.json": #"{"permissions": [{"key": "read:invoices"}, {"key": "write:invoices"}]}"#,
        "roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:*"]}, {"key": "editor", "includes": ["viewer"], "permissions": ["write:invoices"]}]}"#,
    ]

    /// The valid set plus a wildcard that matches nothing (one warning).
    static let withWarning = valid.merging([
        "roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:*", "delete:*"]}, {"key": "editor", "includes": ["viewer"], "permissions": ["write:invoices"]}]}"#,
    ]) { _, new in new }

    /// Two errors and one warning.
    static let broken = withWarning.merging([
        "z-more.json": #"{"roles": [{"key": "admin", "includes": ["editr"], "permissions": ["read:invoice", "write:invoices"]}]}"#,
    ]) { _, new in new }

    @Test func validPoliciesExitZero() throws {
        let directory = try PermdProcess.temporaryDirectory(Self.valid)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try PermdProcess.run(["validate", directory])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.lines == ["0 errors, 0 warnings"])
    }

    @Test func errorsArePrintedSortedWithASummaryAndExitOne() throws {
        let directory = try PermdProcess.temporaryDirectory(Self.broken)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try PermdProcess.run(["validate", directory])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.lines == [
            #"\#(directory)/roles.json:/roles/0/permissions/1: warning: wildcard "delete:*" matches no permission"#,
            #"\#(directory)/z-more.json:/roles/0/includes/0: error: unknown role "editr" (did you mean "editor"?)"#,
            #"\#(directory)/z-more.json:/roles/0/permissions/0: error: unknown permission "read:invoice" (did you mean "read:invoices"?)"#,
            "2 errors, 1 warning",
        ])
    }

    @Test func warningsPassUnlessStrict() throws {
        let directory = try PermdProcess.temporaryDirectory(Self.withWarning)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let relaxed = try PermdProcess.run(["validate", directory])
        #expect(relaxed.status == 0, "\(relaxed)")
        #expect(relaxed.lines.last == "0 errors, 1 warning")
        let strict = try PermdProcess.run(["validate", directory, "--strict"])
        #expect(strict.status == 1, "\(strict)")
        #expect(strict.lines.last == "0 errors, 1 warning")
    }

    @Test func jsonFormatParses() throws {
        let directory = try PermdProcess.temporaryDirectory(Self.broken.merging(["z-syntax.json": "{\n  \"roles\": [,]\n}"]) { _, new in new })
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try PermdProcess.run(["validate", directory, "--format", "json"])
        #expect(outcome.status == 1, "\(outcome)")
        let parsed = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8))
        let items = try #require(parsed as? [[String: Any]])
        #expect(items.count == 4)
        #expect(items.map { Set($0.keys) }.allSatisfy { $0 == ["file", "pointer", "line", "column", "severity", "message"] })
        #expect(items[0]["severity"] as? String == "warning")
        #expect(items[0]["pointer"] as? String == "/roles/0/permissions/1")
        #expect(items[0]["line"] is NSNull)
        #expect(items[1]["message"] as? String == #"unknown role "editr" (did you mean "editor"?)"#)
        #expect(items[3]["file"] as? String == directory + "/z-syntax.json")
        #expect(items[3]["line"] as? Int == 2)
        #expect(items[3]["column"] as? Int == 13)
    }

    @Test func directoryComesFromTheOptionThenTheEnvironment() throws {
        let directory = try PermdProcess.temporaryDirectory(Self.withWarning)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let byOption = try PermdProcess.run(["validate", "--policies", directory])
        #expect(byOption.lines.last == "0 errors, 1 warning", "\(byOption)")
        let byEnvironment = try PermdProcess.run(["validate"], environment: ["PERMD_POLICIES": directory])
        #expect(byEnvironment.lines.last == "0 errors, 1 warning", "\(byEnvironment)")
        let missing = try PermdProcess.run(["validate"], in: directory)
        #expect(missing.status == 1)
        #expect(missing.lines == ["policies: error: policy directory not found", "1 error, 0 warnings"])
    }

    @Test func shippedPoliciesValidateStrictly() throws {
        let outcome = try PermdProcess.run(["validate", "--strict", "policies"], in: PermdProcess.repositoryRoot)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.lines == ["0 errors, 0 warnings"])
    }

    @Test func usageErrorsExitTwo() throws {
        let outcome = try PermdProcess.run(["validate", "--format", "xml"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains("'xml' is invalid"))
    }

    @Test func databaseGrantsOfRemovedRolesAndPermissionsAreWarnings() throws {
        let directory = try PermdProcess.temporaryDirectory(Self.valid)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/permd.db"
        let policies = ["--policies", directory, "--db", db]
        for write in [["user", "add", "--id", "alice", "--role", "editor"],
                      ["permission", "grant", "alice", "org_default", "write:invoices"]] {
            let outcome = try PermdProcess.run(write + policies)
            #expect(outcome.status == 0, "\(outcome)")
        }
        // The next version of the policies drops the role and the permission.
        let newer = try PermdProcess.temporaryDirectory(Self.valid.merging([
            "permissions.json": #"{"permissions": [{"key": "read:invoices"}]}"#,
            "roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:*"]}]}"#,
        ]) { _, new in new })
        defer { try? FileManager.default.removeItem(atPath: newer) }

        let outcome = try PermdProcess.run(["validate", newer, "--db", db])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.lines == [
            #"\#(db): warning: role "editor" held by user "alice" in "org_default" is not defined; it grants nothing"#,
            #"\#(db): warning: permission "write:invoices" granted to user "alice" in "org_default" is not defined; it grants nothing"#,
            "0 errors, 2 warnings",
        ])
        let strict = try PermdProcess.run(["validate", newer, "--db", db, "--strict"])
        #expect(strict.status == 1, "\(strict)")
        let missing = try PermdProcess.run(["validate", newer, "--db", directory + "/none.db"])
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.lines.first == "\(directory)/none.db: error: database not found")
    }
}
