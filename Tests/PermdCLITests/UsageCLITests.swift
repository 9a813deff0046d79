import Foundation
import Testing

/// Exit statuses and refusals of the command line itself (SPEC §6, §7): a test run that
/// tests nothing, a command group without its subcommand, an identifier the protocol would
/// refuse, an argument that is not UTF-8.
@Suite struct UsageCLITests {
    static func workspace() throws -> String {
        try PermdProcess.temporaryDirectory(["policies/p.json": ReadOnlyCLITests.policy])
    }

    @Test func aTestRunWithoutTestFilesFails() throws {
        let directory = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try PermdProcess.run(["test", "policies"], in: directory)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError == "policies: error: no test files (*.test.json) in the directory\n", "\(outcome)")
        #expect(outcome.standardOutput.isEmpty, "\(outcome)")
    }

    @Test(arguments: [[], ["user"], ["org"], ["member"], ["role"], ["permission"]])
    func aCommandGroupWithoutItsSubcommandIsAUsageError(_ group: [String]) throws {
        let outcome = try PermdProcess.run(group)
        #expect(outcome.status == 2, "\(group): \(outcome)")
        #expect(outcome.standardOutput.isEmpty, "\(group): \(outcome)")
        let name = (["permd"] + group).joined(separator: " ")
        #expect(outcome.standardError.hasPrefix("Error: \(name) needs a subcommand"), "\(group): \(outcome)")
        #expect(outcome.standardError.contains("USAGE: \(name) <subcommand>"), "\(group): \(outcome)")
        let help = try PermdProcess.run(group + ["--help"])
        #expect(help.status == 0 && help.standardOutput.contains("SUBCOMMANDS:"), "\(group) --help: \(help)")
    }

    @Test func checkAndExplainAnswerAnInvalidIdentifierAsTheProtocolDoes() throws {
        let directory = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let added = try PermdProcess.run(["user", "add", "--id", "alice", "--org", "org_acme"], in: directory)
        try #require(added.status == 0, "\(added)")
        let long = String(repeating: "x", count: 256)
        let cases: [([String], String)] = [
            (["check", "alice", "org_acme", "read invoices"], "ERR SYNTAX argument 3 holds a byte outside printable ASCII"),
            (["check", "alice", "org_acme", "read:invoices", "réad:x"],
             "ERR SYNTAX argument 4 holds a byte outside printable ASCII"),
            (["check", "alicé", "org_acme", "read:invoices"], "ERR SYNTAX argument 1 holds a byte outside printable ASCII"),
            (["check", long, "org_acme", "read:invoices"], "ERR SYNTAX argument 1 is longer than 255 bytes"),
            (["explain", "alice", "org acme", "read:invoices"], "ERR SYNTAX argument 2 holds a byte outside printable ASCII"),
            (["explain", "alice", "org_acme", "read:\u{7F}"], "ERR SYNTAX argument 3 holds a byte outside printable ASCII"),
        ]
        for (command, answer) in cases {
            let outcome = try PermdProcess.run(command, in: directory)
            #expect(outcome.status == 1, "\(command): \(outcome)")
            #expect(outcome.standardError == answer + "\n", "\(command): \(outcome)")
            #expect(outcome.standardOutput.isEmpty, "\(command): \(outcome)")
        }
        // A valid key the policies do not define is still an answer.
        let unknown = try PermdProcess.run(["check", "alice", "org_acme", "nope:*"], in: directory)
        #expect(unknown.status == 0 && unknown.lines == ["DENY"], "\(unknown)")
    }

    @Test func anArgumentThatIsNotUTF8IsRefusedAndNothingIsStored() throws {
        let directory = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try PermdProcess.run(
            shell: #""$PERMD" user add --id rene --first-name "$(printf 'Ren\351')" --org org_acme"#, in: directory)
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError == #"permd: argument 6 is not valid UTF-8 ("Ren\xE9"); nothing was done"# + "\n",
                "\(outcome)")
        #expect(outcome.standardOutput.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory + "/permd.db"), "nothing was written")

        let variable = try PermdProcess.run(
            shell: #"PERMD_DB="$(printf 'caf\351.db')" "$PERMD" org list"#, in: directory)
        #expect(variable.status == 2, "\(variable)")
        #expect(variable.standardError == #"permd: PERMD_DB is not valid UTF-8 ("caf\xE9.db"); nothing was done"# + "\n",
                "\(variable)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(files == ["policies"], "no database under a repaired name: \(files)")
    }
}
