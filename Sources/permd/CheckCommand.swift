import ArgumentParser
import Foundation
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
            permission, space-separated, in order. Exits 0 whatever the answer.
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
        let snapshot = try buildSnapshot(policy: policyOptions.load(), database: databaseOptions.db)
        print(Reply.line(decisions: permissions.map {
            snapshot.check(user: user, organization: organization, permission: $0)
        }))
    }
}

/// A full index build of the policies and the database at `database`. A database file that
/// does not exist is not created: the state is then empty (every user unknown).
func buildSnapshot(policy: PolicySet, database: String) throws -> IndexSnapshot {
    guard FileManager.default.fileExists(atPath: database) else {
        return IndexSnapshot.build(policy: policy, state: InMemoryState(), revision: 0)
    }
    do {
        let store = try SQLiteStore(path: database, policy: policy, logger: commandLogger())
        return try IndexSnapshot.build(policy: policy, reader: store)
    } catch {
        printError("permd: \(database): \(error)")
        throw ExitCode(1)
    }
}
