import ArgumentParser
import Foundation
import PermdCore
import PermdIndex
import PermdJSON
import PermdPolicy
import PermdProtocol

/// `permd diff OLD_DIR NEW_DIR`: every grant that moving from one policy set to another
/// adds or removes, for the same state.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "List the permissions granted and revoked by moving from OLD_DIR's policies to NEW_DIR's.",
        discussion: """
            Both policy sets are compiled against the same state: the database given with --db
            (or PERMD_DB), else the fixtures of the policy tests (*.test.json) of both
            directories. Text output: one line per change, `+` granted or `-` revoked, then
            user, organization, permission and what grants it (role:<key> or direct; for a
            revoked permission, what granted it before), then a summary. Exit status: 0;
            1 invalid input; 3 a policy set does not validate; 5 more grants revoked than
            --max-revoked.
            """)

    /// How the changes are printed.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "The current policy directory.") var old: String
    @Argument(help: "The proposed policy directory.") var new: String

    @Option(name: .long, help: "The SQLite database holding the state (env PERMD_DB); it must exist.")
    var db: String?

    @Option(name: .long, help: "Exit 5 when more than N grants would be revoked.")
    var maxRevoked: Int?

    @Option(name: .long, help: "Output format: text or json.")
    var format: Format = .text

    func run() throws {
        let oldPolicy = try load(old)
        let newPolicy = try load(new)
        let before: IndexSnapshot
        let after: IndexSnapshot
        if let db = db ?? ProcessInfo.processInfo.environment["PERMD_DB"] {
            before = try buildSnapshot(policy: oldPolicy, database: db)
            after = try buildSnapshot(policy: newPolicy, database: db)
        } else {
            let state = try fixtures([(old, oldPolicy), (new, newPolicy)])
            before = IndexSnapshot.build(policy: oldPolicy, state: state, revision: 0)
            after = IndexSnapshot.build(policy: newPolicy, state: state, revision: 0)
        }
        let changes = PolicyImpact.compare(old: before, new: after)
        let granted = changes.count { $0.kind == .granted }
        let revoked = changes.count - granted
        switch format {
        case .text:
            for change in changes { print(Self.line(change)) }
            print("\(granted) granted, \(revoked) revoked")
        case .json:
            print(Self.json(changes, granted: granted, revoked: revoked).serialized())
        }
        if let maxRevoked, revoked > maxRevoked {
            printError("permd: \(revoked) grants would be revoked, more than --max-revoked \(maxRevoked)")
            throw ExitCode(5)
        }
    }

    private func load(_ directory: String) throws -> PolicySet {
        let loaded = PolicyLoader.load(directory: directory)
        guard let policy = loaded.policy else {
            for diagnostic in loaded.diagnostics { printError(diagnostic.description) }
            printError("permd: the policies in \(directory) do not validate: \(loaded.diagnostics.summary)")
            throw ExitCode(3)
        }
        return policy
    }

    /// The union of the test fixtures of every directory, each read against its own policies.
    private func fixtures(_ sets: [(directory: String, policy: PolicySet)]) throws -> InMemoryState {
        var state = InMemoryState()
        for (directory, policy) in sets {
            let entries = FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? []
            for relative in entries.filter({ $0.hasSuffix(".test.json") }).sorted() {
                let path = (directory as NSString).appendingPathComponent(relative)
                let parsed = PolicyTestFile.parse(path: path, bytes: Array(FileManager.default.contents(atPath: path) ?? Data()),
                                                  policy: policy)
                guard let file = parsed.file else {
                    for problem in parsed.problems { printError(problem.description) }
                    throw ExitCode(1)
                }
                for code in file.state.organizations { state.addOrganization(code) }
                for id in file.state.users { state.addUser(id) }
                for membership in file.state.memberships {
                    state.addMembership(user: membership.user, organization: membership.organization,
                                        roles: membership.roles, permissions: membership.permissions)
                }
            }
        }
        return state
    }

    /// `+ alice org_acme delete:projects role:admin` (granted) or `- ...` (revoked).
    static func line(_ change: GrantChange) -> String {
        ([change.kind == .granted ? "+" : "-", change.user, change.organization, change.permission]
            + change.sources.map(Reply.text)).joined(separator: " ")
    }

    /// `{"granted": [...], "revoked": [...], "summary": {"granted": N, "revoked": N}}`.
    static func json(_ changes: [GrantChange], granted: Int, revoked: Int) -> JSONValue {
        func entries(_ kind: GrantChange.Kind) -> JSONValue {
            .array(changes.filter { $0.kind == kind }.map { change in
                .object([
                    JSONMember("user", .string(change.user)),
                    JSONMember("org", .string(change.organization)),
                    JSONMember("permission", .string(change.permission)),
                    JSONMember("sources", .array(change.sources.map { .string(Reply.text($0)) })),
                ])
            })
        }
        return .object([
            JSONMember("granted", entries(.granted)),
            JSONMember("revoked", entries(.revoked)),
            JSONMember("summary", .object([
                JSONMember("granted", .integer(Int64(granted))),
                JSONMember("revoked", .integer(Int64(revoked))),
            ])),
        ])
    }
}
