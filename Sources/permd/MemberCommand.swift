import ArgumentParser
import PermdCore

/// `permd member add|remove`.
struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "Add users to organizations and remove them.",
        subcommands: [Add.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user to an organization; without --role the membership gets the default roles.")
        @OptionGroup var membership: MembershipArguments
        @Option(name: .customLong("role"), help: "A role to hold there (repeatable).") var roles: [String] = []
        @OptionGroup var store: StoreOptions

        func run() throws {
            try store.performAndReport(.addMember(user: membership.user, organization: membership.organization,
                                                  roles: roles.isEmpty ? nil : roles))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a user from an organization, with the grants held there (not their last one).")
        @OptionGroup var membership: MembershipArguments
        @OptionGroup var store: StoreOptions

        func run() throws {
            try store.performAndReport(
                .removeMember(user: membership.user, organization: membership.organization))
        }
    }
}
