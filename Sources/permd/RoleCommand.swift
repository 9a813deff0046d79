import ArgumentParser
import PermdCore

/// `permd role assign|unassign`.
struct RoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "role", abstract: "Assign and unassign roles in an organization.",
        subcommands: [Assign.self, Unassign.self])

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a member a role in an organization.")
        @OptionGroup var membership: MembershipArguments
        @Argument(help: "The role key.") var role: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            try store.performAndReport(
                .assignRole(user: membership.user, organization: membership.organization, role: role))
        }
    }

    struct Unassign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a role away from a user in an organization.")
        @OptionGroup var membership: MembershipArguments
        @Argument(help: "The role key.") var role: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            try store.performAndReport(
                .unassignRole(user: membership.user, organization: membership.organization, role: role))
        }
    }
}
