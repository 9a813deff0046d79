import ArgumentParser

/// The `permd` command: an authorization server and the tools around it.
@main
struct Permd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permd",
        abstract: "A self-hosted authorization server for multi-organization SaaS products.",
        subcommands: [UserCommand.self, OrgCommand.self, MemberCommand.self, RoleCommand.self,
                      PermissionCommand.self, ImportCommand.self, ExportCommand.self])
}
