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
            DiffCommand.self, ImportCommand.self, ExportCommand.self, UserCommand.self, OrgCommand.self,
            MemberCommand.self, RoleCommand.self, PermissionCommand.self,
        ])

    /// Runs the chosen subcommand. SPEC §7 fixes the exit status of a usage error at 2,
    /// where ArgumentParser would use 64 (EX_USAGE).
    static func main() async {
        // Logs go to standard error: standard output carries answers and exports.
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        do {
            var command = try parseAsRoot()
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
}

