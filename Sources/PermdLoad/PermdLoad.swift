import ArgumentParser

/// `permd-load`: drives a running permd (or Redis, for comparison) the way
/// `redis-benchmark` drives Redis, and writes datasets to load (SPEC §9).
@main
struct PermdLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permd-load",
        abstract: "Load-test a running permd server and check every answer.",
        subcommands: [LoadCommand.self, SeedCommand.self, FillRedisCommand.self],
        defaultSubcommand: LoadCommand.self)

    /// Runs the chosen subcommand; a usage error exits 2, as `permd`'s do (SPEC §7), where
    /// ArgumentParser would use 64. Exit 1 is left for a run that found something wrong.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty { printError(message) }
            exit(withError: ExitCode(2))
        }
    }
}
