import ArgumentParser
import Logging
import PermdIndex
import PermdPolicy
import PermdProtocol
import PermdStore

/// `permd check USER ORG PERM...`: the protocol's CHECK answer, from the files directly.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Print ALLOW or DENY for each permission, as the server's CHECK would.",
        discussion: """
            Reads the policies and the database directly; no server is needed. One word per
            permission, space-separated, in order. Exits 0 whatever the answer; an argument the
            protocol would refuse gets the protocol's `ERR SYNTAX ...` line (on standard error)
            and exit 1, as does a database that does not exist.
            """)

    @Argument(help: "The user id.") var user: String
    @Argument(help: "The organization code.") var organization: String
    @Argument(help: "Up to \(Command.maxCheckedPermissions) permission keys.") var permissions: [String]
    @OptionGroup var policyOptions: PolicyOptions
    @OptionGroup var databaseOptions: DatabaseOptions

    func validate() throws {
        guard (1...Command.maxCheckedPermissions).contains(permissions.count) else {
            throw ValidationError("give 1 to \(Command.maxCheckedPermissions) permissions, not \(permissions.count)")
        }
    }

    func run() throws {
        try refuseInvalidArguments([user, organization] + permissions)
        let snapshot = try buildSnapshot(policy: policyOptions.load(), database: databaseOptions.db)
        print(Reply.line(decisions: permissions.map {
            snapshot.check(user: user, organization: organization, permission: $0)
        }))
    }
}

/// The protocol's answer to these words as a request's arguments (SPEC §7: `permd check`
/// answers an invalid identifier as the protocol does): the first one it would refuse is
/// printed as its `ERR SYNTAX` line, from the protocol's own check, and exits 1.
func refuseInvalidArguments(_ arguments: [String]) throws {
    for (offset, argument) in arguments.enumerated() {
        if let refusal = RequestLine.argumentProblem(argument.utf8, position: offset + 1) {
            printError(refusal.description)
            throw ExitCode(1)
        }
    }
}

/// A full index build of the policies and the database at `database`, opened read-only
/// (SPEC §3): a database that does not exist is an error, and nothing in it changes.
func buildSnapshot(policy: PolicySet, database: String) throws -> IndexSnapshot {
    do {
        let store = try StoreLocation(db: database).open(policy: policy, logger: commandLogger(), access: .readOnly)
        return try IndexSnapshot.build(policy: policy, reader: store)
    } catch {
        // A StoreError names the file already.
        printError("error: \(error)")
        throw ExitCode(1)
    }
}
