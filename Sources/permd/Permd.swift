import ArgumentParser
import Logging

/// The `permd` command: an authorization server and the tools around it.
@main
struct Permd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permd",
        abstract: "A self-hosted authorization server for multi-organization SaaS products.",
        subcommands: [
            ServeCommand.self, ValidateCommand.self, CheckCommand.self, ExplainCommand.self, TestCommand.self,
            DiffCommand.self, ImportCommand.self, ExportCommand.self, LogCommand.self, UserCommand.self, OrgCommand.self,
            MemberCommand.self, RoleCommand.self, PermissionCommand.self,
        ])

    /// Runs the chosen subcommand. SPEC §7 fixes the exit status of a usage error at 2,
    /// where ArgumentParser would use 64 (EX_USAGE); a command group without its subcommand
    /// and an argument that is not UTF-8 are usage errors too.
    static func main() async {
        // Logs go to standard error: standard output carries answers and exports.
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        if let refusal = RawCommandLine.undecodableValue() {
            printError("permd: \(refusal)")
            exit(withError: ExitCode(2))
        }
        do {
            var command = try parseAsRoot()
            let group = type(of: command)
            if !group.configuration.subcommands.isEmpty {
                // Parsing stops at the deepest command named: here, a group (`permd user`).
                printError(missingSubcommand(group))
                exit(withError: ExitCode(2))
            }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            guard code == .validationFailure else { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty { printError(message) }
            exit(withError: ExitCode(2))
        }
    }

    /// `Error: permd user needs a subcommand (add, remove, show or list)`, then the group's help.
    private static func missingSubcommand(_ group: any ParsableCommand.Type) -> String {
        let name = ObjectIdentifier(group) == ObjectIdentifier(Permd.self) ? "permd" : "permd \(group._commandName)"
        var names = group.configuration.subcommands.map { $0._commandName }
        let last = names.removeLast()
        let list = names.isEmpty ? last : names.joined(separator: ", ") + " or " + last
        return "Error: \(name) needs a subcommand (\(list))\n\n" + helpMessage(for: group)
    }
}
