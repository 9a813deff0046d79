import Foundation
import Testing

/// Errors about files say what is wrong and where, once, in words — never a library's
/// internals — and exit 1 (SPEC §7).
@Suite struct MessagesCLITests {
    /// A folder with policies, a text file, a folder named like a database and a real database.
    static func workspace() throws -> String {
        let directory = try PermdProcess.temporaryDirectory([
            "policies/p.json": ReadOnlyCLITests.policy,
            "notes.txt": String(repeating: "not a database\n", count: 100),
            "folder.db/keep": "",
        ])
        let added = try PermdProcess.run(["user", "add", "--id", "alice"], in: directory)
        try #require(added.status == 0, "\(added)")
        return directory
    }

    /// Every command that opens `--db`, with `db` as its value.
    static func databaseCommands(_ db: String) -> [[String]] {
        [
            ["org", "list", "--db", db], ["user", "show", "alice", "--db", db], ["user", "add", "--id", "bob", "--db", db],
            ["member", "add", "alice", "org_acme", "--db", db], ["check", "alice", "org_acme", "read:invoices", "--db", db],
            ["explain", "alice", "org_acme", "read:invoices", "--db", db], ["diff", "policies", "policies", "--db", db],
            ["export", "--db", db], ["import", "--dry-run", "policies/p.json", "--db", db],
            ["serve", "--db", db, "--listen", "127.0.0.1:0"],
        ]
    }

    @Test(arguments: [
        ("notes.txt", "not an SQLite database"),
        ("folder.db", "is a directory, not a database file"),
    ])
    func aDatabaseThatCannotBeOpenedIsNamedOnceInWords(_ db: String, _ problem: String) throws {
        let directory = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for command in Self.databaseCommands(db) {
            let outcome = try PermdProcess.run(command, in: directory)
            #expect(outcome.status == 1, "\(command): \(outcome)")
            #expect(outcome.standardError == "error: \(db): \(problem)\n", "\(command): \(outcome)")
            #expect(outcome.standardOutput.isEmpty, "\(command): \(outcome)")
        }
        // validate reports the database as one of its diagnostics.
        let validate = try PermdProcess.run(["validate", "policies", "--db", db], in: directory)
        #expect(validate.status == 1, "\(validate)")
        #expect(validate.lines.filter { $0.contains(db) } == ["\(db): error: \(problem)"], "\(validate)")
    }

    @Test func aDatabaseInAFolderThatDoesNotExistSaysSo() throws {
        let directory = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let write = try PermdProcess.run(["user", "add", "--id", "bob", "--db", "nowhere/x.db"], in: directory)
        #expect(write.status == 1, "\(write)")
        #expect(write.standardError == "error: nowhere/x.db: cannot create the database: the folder does not exist\n",
                "\(write)")
        let read = try PermdProcess.run(["org", "list", "--db", "nowhere/x.db"], in: directory)
        #expect(read.status == 1 && read.standardError == "error: nowhere/x.db: database not found\n", "\(read)")
    }

    @Test(.enabled(if: geteuid() != 0, "the superuser reads every file"))
    func anUnreadableDatabaseSaysSo() throws {
        let directory = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: directory + "/permd.db")
        for command in Self.databaseCommands("permd.db") {
            let outcome = try PermdProcess.run(command, in: directory)
            #expect(outcome.status == 1, "\(command): \(outcome)")
            #expect(outcome.standardError == "error: permd.db: cannot read the database file: permission denied\n",
                    "\(command): \(outcome)")
        }
    }

    @Test func importOfAFolderSaysSoInWords() throws {
        let directory = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try PermdProcess.run(["import", "policies"], in: directory)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError == "policies: error: cannot read the file: it is a directory\n", "\(outcome)")
        let device = try PermdProcess.run(["import", "/dev/null"], in: directory)
        #expect(device.status == 1, "\(device)")
        #expect(device.standardError == "/dev/null: error: cannot read the file: it is not a regular file (a pipe or "
            + "a device); save it to a file first\n", "\(device)")
    }

    @Test func policyDirectoryProblemsNameTheDirectoryOnce() throws {
        let directory = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, String)] = [
            ("nowhere", "nowhere: error: policy directory not found"),
            ("notes.txt", "notes.txt: error: not a directory: give the folder that holds the policy files"),
        ]
        for (policies, message) in cases {
            let outcome = try PermdProcess.run(["org", "list", "--policies", policies], in: directory)
            #expect(outcome.status == 1, "\(policies): \(outcome)")
            #expect(outcome.standardError == message + "\n", "\(policies): \(outcome)")
        }
    }
}
