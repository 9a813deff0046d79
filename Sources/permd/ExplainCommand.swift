import ArgumentParser
import PermdIndex
import PermdProtocol

/// `permd explain USER ORG PERM`: the protocol's EXPLAIN answer, from the files directly.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Print why a permission is allowed or denied, as the server's EXPLAIN would.",
        discussion: """
            ALLOW followed by the sources that grant it (role:<key> for each held role that
            grants it, then direct), or DENY followed by the first reason of: unknown-user,
            unknown-org, not-member, unknown-permission, not-granted. Exits 0 whatever the answer;
            an argument the protocol would refuse gets its `ERR SYNTAX ...` line and exit 1.
            """)

    @Argument(help: "The user id.") var user: String
    @Argument(help: "The organization code.") var organization: String
    @Argument(help: "The permission key.") var permission: String
    @OptionGroup var policyOptions: PolicyOptions
    @OptionGroup var databaseOptions: DatabaseOptions

    func run() throws {
        try refuseInvalidArguments([user, organization, permission])
        let snapshot = try buildSnapshot(policy: policyOptions.load(), database: databaseOptions.db)
        print(Reply.line(snapshot.explain(user: user, organization: organization, permission: permission)))
    }
}
