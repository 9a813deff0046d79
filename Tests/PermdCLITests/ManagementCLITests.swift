import Foundation
import Testing

/// The management commands of SPEC §7, run as a user runs them.
@Suite struct ManagementCLITests {
    static let policy = """
        {"permissions": [{"key": "read:invoices"}, {"key": "refund:payments"}],
         "roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true},
                   {"key": "admin", "permissions": ["*"]}],
         "organizations": [{"code": "org_default", "name": "Default"},
                           {"code": "org_acme", "name": "Acme Ltd", "external_id": "acme-123"}],
         "settings": {"default_organization": "org_default"}}
        """

    /// A temporary folder with the policy above, where each run uses `permd.db`.
    final class Workspace {
        let directory: URL

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("permd-mgmt-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("policies"),
                                                    withIntermediateDirectories: true)
            try Data(ManagementCLITests.policy.utf8).write(to: directory.appendingPathComponent("policies/p.json"))
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        /// Runs `permd arguments...` here and returns (status, stdout, stderr).
        func permd(_ arguments: String...) throws -> (status: Int32, out: String, err: String) {
            try permd(arguments)
        }

        func permd(_ first: String, _ rest: [String]) throws -> (status: Int32, out: String, err: String) {
            try permd([first] + rest)
        }

        func permd(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
            let process = Process()
            process.executableURL = try Self.executable()
            process.arguments = arguments
            process.currentDirectoryURL = directory
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PERMD_") }
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let output = out.fileHandleForReading.readDataToEndOfFile()
            let error = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: output, as: UTF8.self),
                    String(decoding: error, as: UTF8.self))
        }

        /// `$PERMD_BIN`, else the `permd` next to the test bundle.
        static func executable() throws -> URL {
            if let path = ProcessInfo.processInfo.environment["PERMD_BIN"] { return URL(fileURLWithPath: path) }
            for start in [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0])] + Bundle.allBundles.map(\.bundleURL) {
                var directory = start.standardizedFileURL
                for _ in 0..<6 {
                    let candidate = directory.appendingPathComponent("permd")
                    var isDirectory: ObjCBool = false
                    if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory),
                       !isDirectory.boolValue {
                        return candidate
                    }
                    directory = directory.deletingLastPathComponent()
                }
            }
            throw CocoaError(.fileNoSuchFile)
        }
    }

    /// The revision in an `OK ... <revision>` line.
    func revision(_ line: String) -> UInt64? {
        line.split(separator: " ").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test func writesAnswerWithIncreasingRevisions() throws {
        let here = try Workspace()
        let added = try here.permd("user", "add", "--id", "alice", "--email", "alice@acme.io", "--org", "org_acme",
                                   "--role", "admin")
        #expect(added.status == 0 && added.out.hasPrefix("OK alice "), "\(added)")
        var last = try #require(revision(added.out))
        for command in [["member", "add", "alice", "org_default"],
                        ["role", "assign", "alice", "org_default", "admin"],
                        ["permission", "grant", "alice", "org_default", "refund:payments"],
                        ["permission", "revoke", "alice", "org_default", "refund:payments"],
                        ["role", "unassign", "alice", "org_default", "admin"],
                        ["org", "add", "org_tmp", "--name", "Temp"],
                        ["member", "add", "alice", "org_tmp", "--role", "viewer"],
                        ["member", "remove", "alice", "org_tmp"],
                        ["org", "remove", "org_tmp"]] {
            let run = try here.permd(command[0], Array(command.dropFirst()))
            #expect(run.status == 0 && run.out.hasPrefix("OK "), "\(command): \(run)")
            let next = try #require(revision(run.out))
            #expect(next == last + 1, "\(command)")
            last = next
        }
        let again = try here.permd("member", "add", "alice", "org_default")
        #expect(again.out == "OK \(last)\n", "adding what exists keeps the revision")
    }

    @Test func generatedUserGoesToTheDefaultOrganization() throws {
        let here = try Workspace()
        let added = try here.permd("user", "add")
        let words = added.out.split(separator: " ")
        #expect(added.status == 0 && words.count == 3 && words[0] == "OK", "\(added)")
        let id = String(words[1])
        #expect(try here.permd("user", "list", "--org", "org_default").out == "\(id)\n")
        #expect(try here.permd("user", "list", "--org", "org_acme").out == "")
        let shown = try here.permd("user", "show", id).out
        #expect(shown.contains("  org_default\n    roles: viewer\n"), "\(shown)")
    }

    @Test func refusalsSayWhatAndWhyAndExit1() throws {
        let here = try Workspace()
        _ = try here.permd("user", "add", "--id", "alice")
        let cases: [([String], String)] = [
            (["role", "assign", "alice", "org_nowhere", "viewer"], "ERR NOT_FOUND unknown organization \"org_nowhere\""),
            (["role", "assign", "alice", "org_acme", "viewer"], "ERR CONFLICT user \"alice\" is not a member"),
            (["role", "assign", "alice", "org_default", "admn"], "ERR NOT_FOUND unknown role \"admn\""),
            (["member", "remove", "alice", "org_default"], "ERR CONFLICT user \"alice\" would be left without"),
            (["org", "remove", "org_default"], "ERR CONFLICT organization \"org_default\" is the default"),
            (["org", "remove", "org_acme"], "ERR CONFLICT organization \"org_acme\" is declared"),
            (["user", "show", "bob"], "ERR NOT_FOUND unknown user \"bob\""),
            (["user", "add", "--id", "bad id"], "ERR SYNTAX invalid user id \"bad id\""),
        ]
        for (command, message) in cases {
            let run = try here.permd(command[0], Array(command.dropFirst()))
            #expect(run.status == 1 && run.err.hasPrefix(message) && run.out.isEmpty, "\(command): \(run)")
        }
    }

    @Test func listsOrganizationsAndShowsUsers() throws {
        let here = try Workspace()
        _ = try here.permd("user", "add", "--id", "alice", "--email", "a@acme.io", "--first-name", "Alice")
        _ = try here.permd("permission", "grant", "alice", "org_default", "refund:payments")
        #expect(try here.permd("org", "list").out == "org_acme\tAcme Ltd\tacme-123\norg_default\tDefault\t\n")
        let shown = try here.permd("user", "show", "alice").out
        #expect(shown.hasPrefix("id: alice\nemail: a@acme.io (verified)\nfirst_name: Alice\n"), "\(shown)")
        #expect(shown.hasSuffix("organizations:\n  org_default\n    roles: viewer\n    permissions: refund:payments\n"))
    }

    @Test func aFileThatIsNotADatabaseIsAnError() throws {
        let here = try Workspace()
        try Data("hello\n".utf8).write(to: here.directory.appendingPathComponent("notes.txt"))
        let run = try here.permd("org", "list", "--db", "notes.txt")
        #expect(run.status == 1 && run.err.contains("not an SQLite database"), "\(run)")
    }
}
