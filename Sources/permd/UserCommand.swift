import ArgumentParser
import Foundation
import PermdCore
import PermdProtocol
import PermdStore

/// `permd user add|remove|show|list`.
struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Add, remove, show and list users.",
        subcommands: [Add.self, Remove.self, Show.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user; prints `OK <user-id> <revision>`.",
            discussion: "Without --org the user joins the default organization; without --role each "
                + "organization gives the default roles. A blank value (--email \"\") is no value.")

        @Option(help: "The user id (generated when omitted; not - or MORE).") var id: String?
        @Option(help: "The email address (unique, compared case-insensitively; verified unless --email-unverified).")
        var email: String?
        @Flag(help: "The email is not verified: a verified sign-in with it takes it from this user.")
        var emailUnverified = false
        @Option(help: "The username (unique).") var username: String?
        @Option(help: "The phone number (unique).") var phone: String?
        @Option(help: "The first name.") var firstName: String?
        @Option(help: "The last name.") var lastName: String?
        @Option(help: "The picture's URL.") var picture: String?
        @Option(name: .customLong("org"), help: "An organization to join (repeatable).") var organizations: [String] = []
        @Option(name: .customLong("role"), help: "A role held in each organization joined (repeatable).")
        var roles: [String] = []
        @OptionGroup var store: StoreOptions

        func validate() throws {
            if emailUnverified && email == nil {
                throw ValidationError("--email-unverified says something about --email, which is not given")
            }
        }

        func run() throws {
            let profile = UserProfile(email: email, username: username, phone: phone, firstName: firstName,
                                      lastName: lastName, picture: picture)
            let user = NewUser(
                id: id, profile: profile, emailVerified: emailUnverified ? false : nil,
                organizations: organizations, roles: roles.isEmpty ? nil : roles)
            try store.performAndReport(.addUser(user))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user with their memberships and grants.")
        @Argument(help: "The user id.") var id: String
        @OptionGroup var store: StoreOptions

        func run() throws { try store.performAndReport(.removeUser(id)) }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a user's profile, identities and memberships.")
        @Argument(help: "The user id.") var id: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            let (found, activity) = try store.read { (try $0.user(id), try $0.activity(ofUser: id)) }
            guard let user = found else {
                printError(Reply.line(WriteRefusal.unknownUser(id)))
                throw ExitCode(1)
            }
            print(Self.render(user, activity: activity), terminator: "")
        }

        /// The readable form: `field: value` lines, then identities and memberships indented.
        static func render(_ user: UserRecord, activity: UserActivity?) -> String {
            var lines = ["id: \(user.id ?? "")"]
            let profile = user.profile
            func verified(_ flag: Bool?) -> String { flag.map { $0 ? " (verified)" : " (not verified)" } ?? "" }
            let fields: [(String, String?)] = [
                ("email", profile.email.map { $0 + verified(user.emailVerified) }), ("username", profile.username),
                ("phone", profile.phone.map { $0 + verified(user.phoneVerified) }), ("first_name", profile.firstName),
                ("last_name", profile.lastName), ("picture", profile.picture),
            ]
            for case (let name, let value?) in fields { lines.append("\(name): \(value)") }
            if let activity {
                let format = Date.ISO8601FormatStyle()
                lines.append("created: \(activity.created.formatted(format))")
                lines.append("updated: \(activity.updated.formatted(format))")
                lines.append("last_signed_in: \(activity.lastSignedIn.map { $0.formatted(format) } ?? "never")")
            }
            lines.append("identities:\(user.identities.isEmpty ? " none" : "")")
            for identity in user.identities { lines.append("  \(identity.provider) \(identity.providerUserID)") }
            lines.append("organizations:")
            for membership in user.memberships {
                let roles = membership.roles ?? []
                lines.append("  \(membership.organization)")
                lines.append("    roles: \(roles.isEmpty ? "-" : roles.joined(separator: " "))")
                lines.append("    permissions: \(membership.permissions.isEmpty ? "-" : membership.permissions.joined(separator: " "))")
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List user ids, one per line, sorted.")
        @Option(name: .customLong("org"), help: "Only the members of this organization.") var organization: String?
        @OptionGroup var store: StoreOptions

        func run() throws {
            let ids = try store.read { try $0.userIDs(inOrganization: organization) }
            for id in ids { print(id) }
        }
    }
}
