import ArgumentParser
import PermdCore
import PermdStore

/// `permd org add|remove|list`.
struct OrgCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Add, remove and list organizations.",
        subcommands: [Add.self, Remove.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an organization (or update its name and external id); prints `OK <revision>`.")
        @Argument(help: "The organization code.") var code: String
        @Option(help: "The display name.") var name: String?
        @Option(help: "Its id in another system (imports match it).") var externalId: String?
        @OptionGroup var store: StoreOptions

        func run() throws {
            try store.performAndReport(.addOrganization(OrganizationRecord(code: code, name: name, externalID: externalId)))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an organization (not the default or a declared one) and its memberships.")
        @Argument(help: "The organization code.") var code: String
        @OptionGroup var store: StoreOptions

        func run() throws { try store.performAndReport(.removeOrganization(code)) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List organizations, one per line: code, name, external id, tab-separated.")
        @OptionGroup var store: StoreOptions

        func run() throws {
            for org in try store.read({ try $0.organizations() }) {
                print([org.code, org.name ?? "", org.externalID ?? ""].joined(separator: "\t"))
            }
        }
    }
}
