import Foundation
import PermdJSON

/// A realistic dataset, the same for the same sizes and seed: policy files (permissions,
/// roles with includes and wildcards, declared organizations, settings) and a Kinde CSV of
/// users in one to three organizations each. Pure: it makes text, `SeedCommand` writes it.
struct Dataset {
    let users: Int
    let organizations: Int
    let roles: Int
    let permissions: Int
    let seed: UInt64

    /// The code of the default organization, always the first.
    static let defaultOrganization = "org_default"

    /// The CSV header (docs/import-export.md).
    static let csvHeader = "id,email,first_name,last_name,external_organization_id,role_key,permission_key"

    private static let verbs = ["read", "create", "update", "delete", "export", "approve", "manage", "comment",
                                "download", "invite"]
    private static let resources = ["invoices", "projects", "tasks", "reports", "users", "settings", "payments",
                                    "webhooks", "api-keys", "audit-log", "integrations", "documents", "dashboards",
                                    "subscriptions", "teams", "comments"]
    private static let roleNames = ["member", "admin", "billing-admin", "project-manager", "auditor", "support",
                                    "developer", "analyst", "editor", "moderator", "integration-manager", "guest"]
    private static let companies = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne",
                                    "Tyrell", "Soylent", "Cyberdyne", "Wonka", "Gringotts", "Oscorp", "Monarch"]
    private static let firstNames = ["Ana", "Bo", "Chen", "Dana", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jade",
                                     "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq"]
    private static let lastNames = ["Ruiz", "Li", "Okafor", "Novak", "Schmidt", "Tanaka", "Haddad", "Silva", "Kowalski",
                                    "Nguyen", "Andersen", "Moreau", "Rossi", "Kaur", "Petrov", "Garcia", "Ito", "Brown"]

    // MARK: Policies

    /// `<verb>:<resource>`, resource by resource; past 160 keys the resources repeat with
    /// a number (`read:invoices-2`).
    var permissionKeys: [String] {
        (0..<permissions).map { index in
            let round = index / (Self.verbs.count * Self.resources.count)
            let within = index % (Self.verbs.count * Self.resources.count)
            let resource = Self.resources[within / Self.verbs.count] + (round == 0 ? "" : "-\(round + 1)")
            return "\(Self.verbs[within % Self.verbs.count]):\(resource)"
        }
    }

    /// `viewer` (every `read:` permission, the default role), `owner` (`*`), then named
    /// roles each granting a few permissions, some a prefix wildcard, and including up to
    /// two earlier roles (never `owner`), so includes nest without cycles.
    var roleDefinitions: [JSONValue] {
        var random = SplitMix(seed: seed ^ 0x524F_4C45)
        let keys = permissionKeys
        let verbsInUse = Self.verbs.filter { verb in keys.contains { $0.hasPrefix(verb + ":") } }
        var roles: [JSONValue] = []
        var roleKeys: [String] = []
        for index in 0..<self.roles {
            let key: String
            var members: [JSONMember]
            switch index {
            case 0:
                key = "viewer"
                members = [JSONMember("key", .string(key)), JSONMember("name", .string("Viewer")),
                           JSONMember("description", .string("Reads everything in the organization")),
                           JSONMember("permissions", .array([.string("read:*")])),
                           JSONMember("default_for_new_users", .bool(true))]
            case 1:
                key = "owner"
                members = [JSONMember("key", .string(key)), JSONMember("name", .string("Owner")),
                           JSONMember("description", .string("Every permission")),
                           JSONMember("permissions", .array([.string("*")]))]
            default:
                let base = Self.roleNames[(index - 2) % Self.roleNames.count]
                let round = (index - 2) / Self.roleNames.count
                key = round == 0 ? base : "\(base)-\(round + 1)"
                var granted = Set<String>()
                for _ in 0..<(2 + random.below(5)) { granted.insert(random.pick(keys)) }
                var grants = granted.sorted().map(JSONValue.string)
                if random.percent(25), !verbsInUse.isEmpty { grants.append(.string(random.pick(verbsInUse) + ":*")) }
                members = [JSONMember("key", .string(key)), JSONMember("name", .string(Self.title(key))),
                           JSONMember("permissions", .array(grants))]
                let candidates = roleKeys.filter { $0 != "owner" }
                var includes = Set<String>()
                for _ in 0..<random.below(3) where !candidates.isEmpty { includes.insert(random.pick(candidates)) }
                if !includes.isEmpty {
                    members.insert(JSONMember("includes", .array(includes.sorted().map(JSONValue.string))), at: 2)
                }
            }
            roleKeys.append(key)
            roles.append(.object(members))
        }
        return roles
    }

    /// The organization codes, the default first.
    var organizationCodes: [String] {
        [Self.defaultOrganization] + (1..<max(organizations, 1)).map { String(format: "org_%05d", $0) }
    }

    /// Every other organization has a CRM id as its external id; the CSV names those by it.
    func externalID(_ index: Int) -> String? {
        index > 0 && index % 2 == 0 ? String(format: "crm-%06d", index) : nil
    }

    /// The policy files, path (relative to the policy directory) → text.
    var policyFiles: [(path: String, text: String)] {
        let permissionValues = permissionKeys.map { key -> JSONValue in
            let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
            return .object([JSONMember("key", .string(key)),
                            JSONMember("name", .string(Self.title(parts[0]) + " " + parts[1].replacingDashes)),
                            JSONMember("description", .string("Lets a member \(parts[0]) \(parts[1].replacingDashes)"))])
        }
        let organizationValues = organizationCodes.enumerated().map { index, code -> JSONValue in
            var members = [JSONMember("code", .string(code)),
                           JSONMember("name", .string(index == 0 ? "Trial workspaces"
                                                      : "\(Self.companies[index % Self.companies.count]) \(index)"))]
            if let external = externalID(index) { members.append(JSONMember("external_id", .string(external))) }
            return .object(members)
        }
        let settings = JSONValue.object([JSONMember("default_organization", .string(Self.defaultOrganization)),
                                         JSONMember("allow_self_signup", .bool(true)),
                                         JSONMember("sync_profile_on_sign_in", .bool(true))])
        return [
            ("permissions.json", Self.document("permissions", permissionValues)),
            ("roles.json", Self.document("roles", roleDefinitions)),
            ("organizations.json", Self.document("organizations", organizationValues)),
            ("settings.json", "{\n  \"settings\": \(settings.serialized())\n}\n"),
        ]
    }

    // MARK: Users

    /// Every CSV row after the header, one per membership, in user order: 55 % of users in
    /// one organization, 30 % in two, 15 % in three (about 1.6 memberships per user); 20 %
    /// of memberships with the default roles (empty `role_key`), the rest one or two roles
    /// (`owner` rarely); one in ten with a direct permission.
    func forEachRow(_ body: (String) -> Void) {
        var random = SplitMix(seed: seed ^ 0x5553_4552)
        let codes = organizationCodes
        let assignable = roleKeysForUsers
        let keys = permissionKeys
        for user in 1...max(users, 1) {
            let ticket = random.below(100)
            let wanted = min(ticket < 55 ? 1 : ticket < 85 ? 2 : 3, codes.count)
            var chosen: [Int] = []
            while chosen.count < wanted {
                let index = random.below(codes.count)
                if !chosen.contains(index) { chosen.append(index) }
            }
            let first = random.pick(Self.firstNames)
            let last = random.pick(Self.lastNames)
            let id = String(format: "user_%07d", user)
            for (position, organization) in chosen.enumerated() {
                var roles: [String] = []
                let roleTicket = random.below(100)
                if roleTicket >= 20, !assignable.isEmpty {
                    roles.append(random.percent(2) && self.roles > 1 ? "owner" : random.pick(assignable))
                    if roleTicket >= 80 {
                        let second = random.pick(assignable)
                        if second != roles[0] { roles.append(second) }
                    }
                }
                let direct = random.percent(10) && !keys.isEmpty ? random.pick(keys) : ""
                let profile = position == 0
                    ? ["\(first.lowercased()).\(last.lowercased()).\(user)@example.com", first, last] : ["", "", ""]
                let fields = [id] + profile + [externalID(organization) ?? codes[organization],
                                               roles.joined(separator: ","), direct]
                body(fields.map(Self.csvField).joined(separator: ","))
            }
        }
    }

    /// The roles users are given: every role but `owner` (given to 2 % only).
    private var roleKeysForUsers: [String] {
        roleDefinitions.compactMap { $0["key"]?.stringValue }.filter { $0 != "owner" }
    }

    // MARK: Text

    /// A JSON policy file holding one section, one entry per line (reviewable in git).
    private static func document(_ section: String, _ entries: [JSONValue]) -> String {
        "{\n  \"\(section)\": [\n" + entries.map { "    " + $0.serialized() }.joined(separator: ",\n") + "\n  ]\n}\n"
    }

    private static func csvField(_ value: String) -> String {
        value.contains(",") || value.contains("\"") ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
    }

    private static func title(_ key: String) -> String {
        let words = key.replacingDashes
        return words.prefix(1).uppercased() + words.dropFirst()
    }
}

extension String {
    fileprivate var replacingDashes: String { replacingOccurrences(of: "-", with: " ") }
}
