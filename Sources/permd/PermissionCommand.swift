import ArgumentParser
import PermdCore

/// `permd permission grant|revoke`: direct permissions, held on top of roles.
struct PermissionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permission", abstract: "Grant and revoke direct permissions in an organization.",
        subcommands: [Grant.self, Revoke.self])

    struct Grant: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grant a member a permission directly.")
        @OptionGroup var membership: MembershipArguments
        @Argument(help: "The permission key.") var permission: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            try store.performAndReport(
                .grantPermission(user: membership.user, organization: membership.organization, permission: permission))
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a directly granted permission.")
        @OptionGroup var membership: MembershipArguments
        @Argument(help: "The permission key.") var permission: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            try store.performAndReport(
                .revokePermission(user: membership.user, organization: membership.organization, permission: permission))
        }
    }
}
