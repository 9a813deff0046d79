import Foundation
import PermdTestSupport
import Testing

/// The commands that only read the database (SPEC §3): they open it read-only, never create
/// it, never change it, and `export --output` never overwrites it.
@Suite struct ReadOnlyCLITests {
    static let policy = """
        {"permissions": [{"key": "read:invoices"}, {"key": "refund:payments"}],
         "roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true}],
         "organizations": [{"code": "org_default"}, {"code": "org_acme", "name": "Acme Ltd"}],
         "settings": {"default_organization": "org_default"}}
        """
    /// The same policies, declaring one more organization and renaming one: a store that
    /// synced them on opening would write.
    static let otherPolicy = """
        {"permissions": [{"key": "read:invoices"}, {"key": "refund:payments"}],
         "roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true}],
         "organizations": [{"code": "org_default"}, {"code": "org_acme", "name": "Acme Group"},
                           {"code": "org_extra"}],
         "settings": {"default_organization": "org_default"}}
        """

    /// A folder with `policies/`, `other/` and a `permd.db` holding alice, closed cleanly.
    final class Workspace {
        let path: String

        init() throws {
            path = try PermdProcess.temporaryDirectory([
                "policies/p.json": ReadOnlyCLITests.policy,
                "other/p.json": ReadOnlyCLITests.otherPolicy,
                "new-user.csv": "id,email,external_organization_id\nbob,bob@acme.io,org_acme\n",
            ])
            for write in [["user", "add", "--id", "alice", "--email", "alice@acme.io", "--org", "org_acme"],
                          ["permission", "grant", "alice", "org_acme", "refund:payments"]] {
                let outcome = try run(write)
                try #require(outcome.status == 0, "\(outcome)")
            }
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        /// Runs `permd arguments...` in the folder (its `policies/` and `permd.db` unless given).
        func run(_ arguments: [String]) throws -> PermdProcess.Outcome {
            try PermdProcess.run(arguments, in: path)
        }

        func contents(_ name: String) -> Data? {
            try? fileContents(URL(fileURLWithPath: path + "/" + name))
        }

        func exists(_ name: String) -> Bool {
            FileManager.default.fileExists(atPath: path + "/" + name)
        }

        /// The revision, read with a write that changes nothing (an existing membership).
        func revision() throws -> String {
            try run(["member", "add", "alice", "org_acme"]).standardOutput
        }
    }

    /// Every read-only command of SPEC §3 but `log` (not built), each reading `db` with the
    /// policies in `policies`.
    static func readOnlyCommands(db: String, policies: String) -> [[String]] {
        let options = ["--db", db, "--policies", policies]
        return [
            ["export"] + options,
            ["export", "--format", "kinde-ndjson"] + options,
            ["export", "--output", "out.csv"] + options,
            ["check", "alice", "org_acme", "read:invoices"] + options,
            ["explain", "alice", "org_acme", "refund:payments"] + options,
            ["validate", policies, "--db", db],
            ["diff", "policies", policies, "--db", db],
            ["user", "show", "alice"] + options,
            ["user", "list"] + options,
            ["user", "list", "--org", "org_acme"] + options,
            ["org", "list"] + options,
            ["import", "--dry-run", "new-user.csv"] + options,
        ]
    }

    @Test func readOnlyCommandsLeaveTheDatabaseFileAndRevisionUnchanged() throws {
        let here = try Workspace()
        let revision = try here.revision()
        let bytes = try #require(here.contents("permd.db"))
        for command in Self.readOnlyCommands(db: "permd.db", policies: "other") {
            let outcome = try here.run(command)
            #expect(outcome.status == 0, "\(command): \(outcome)")
            #expect(here.contents("permd.db") == bytes, "\(command) changed the database file")
            #expect(here.contents("permd.db-wal")?.isEmpty ?? true, "\(command) wrote to the write-ahead log")
        }
        #expect(try here.revision() == revision)
        // What they read is the state as stored: the other policies' organizations were not added.
        #expect(try here.run(["org", "list", "--policies", "other"]).lines == ["org_acme\tAcme Ltd\t", "org_default\t\t"])
        let dryRun = try here.run(["import", "--dry-run", "new-user.csv", "--policies", "other"])
        #expect(dryRun.standardOutput.contains("1 created"), "\(dryRun)")
        #expect(try here.run(["user", "list"]).lines == ["alice"], "the dry run imported nothing")
    }

    @Test func aMissingDatabaseIsAnErrorAndIsNotCreated() throws {
        let here = try Workspace()
        for command in Self.readOnlyCommands(db: "typo.db", policies: "policies") {
            let outcome = try here.run(command)
            #expect(outcome.status == 1, "\(command): \(outcome)")
            // validate prints its diagnostics, this one too, on standard output.
            let said = outcome.standardError + (command[0] == "validate" ? outcome.standardOutput : "")
            #expect(said.contains("typo.db") && said.contains("database not found"), "\(command): \(outcome)")
            #expect(!outcome.standardOutput.contains("id,email"), "\(command): no header-only backup")
            for file in ["typo.db", "typo.db-wal", "typo.db-shm"] {
                #expect(!here.exists(file), "\(command) created \(file)")
            }
        }
        #expect(!here.exists("out.csv"), "no export file was written")
    }

    @Test func checkAndExplainOnAMissingDatabaseSayWhich() throws {
        let here = try Workspace()
        let check = try here.run(["check", "alice", "org_acme", "read:invoices", "--db", "typo.db"])
        #expect(check.status == 1 && check.standardOutput.isEmpty, "\(check)")
        #expect(check.standardError == "error: typo.db: database not found\n", "\(check)")
    }

    @Test func exportRefusesToOverwriteTheDatabaseOrItsSiblings() throws {
        let here = try Workspace()
        try FileManager.default.createSymbolicLink(atPath: here.path + "/link.csv", withDestinationPath: "permd.db")
        try FileManager.default.createSymbolicLink(atPath: here.path + "/db-link", withDestinationPath: "permd.db")
        try FileManager.default.createDirectory(atPath: here.path + "/sub", withIntermediateDirectories: true)
        let bytes = try #require(here.contents("permd.db"))
        let absolute = here.path + "/permd.db"
        let cases: [(output: String, db: String)] = [
            ("permd.db", "permd.db"), ("./permd.db", "permd.db"), (absolute, "permd.db"), ("permd.db", absolute),
            ("sub/../permd.db", "permd.db"), ("link.csv", "permd.db"), ("permd.db-wal", "permd.db"),
            ("permd.db-shm", "permd.db"), ("permd.db-journal", "permd.db"), ("permd.db-wal", "db-link"),
            ("sub/../permd.db-wal", "permd.db"),
        ]
        for (output, db) in cases {
            let outcome = try here.run(["export", "--db", db, "--output", output])
            #expect(outcome.status == 1, "--output \(output) --db \(db): \(outcome)")
            #expect(outcome.standardError.contains("refus"), "\(output): \(outcome)")
            #expect(here.contents("permd.db") == bytes, "--output \(output) changed the database")
        }
        for sibling in ["permd.db-wal", "permd.db-shm", "permd.db-journal"] {
            #expect(here.contents(sibling)?.isEmpty ?? true, "\(sibling) was written")
        }
        // The temporary file an export writes first must not be the database either.
        try FileManager.default.copyItem(atPath: absolute, toPath: here.path + "/backup.partial")
        let partial = try here.run(["export", "--db", "backup.partial", "--output", "backup"])
        #expect(partial.status == 1, "\(partial)")
        #expect(here.contents("backup.partial") == bytes)
        let fine = try here.run(["export", "--output", "backup.csv"])
        #expect(fine.status == 0 && here.contents("backup.csv").map { String(decoding: $0, as: UTF8.self) }?
            .contains("alice@acme.io") == true, "\(fine)")
    }
}
