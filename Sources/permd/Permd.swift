import ArgumentParser

/// The `permd` command: an authorization server and the tools around it.
@main
struct Permd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permd",
        abstract: "A self-hosted authorization server for multi-organization SaaS products.",
        subcommands: [ValidateCommand.self, TestCommand.self, DiffCommand.self, CheckCommand.self, ExplainCommand.self,
                      UserCommand.self, OrgCommand.self, MemberCommand.self, RoleCommand.self,
                      PermissionCommand.self])
}
