import Foundation
import Testing

/// A deliberately plain model of SPEC §1 and §5 for the test policies (`TestServer.policyJSON`):
/// dictionaries and sets, no index, no database. The reference-model test drives it and the
/// real server with the same random writes and compares every answer.
struct ReferenceModel {
    /// Role key → the permissions it grants after includes and wildcards (the test policies,
    /// flattened by hand).
    static let grants: [String: Set<String>] = [
        "viewer": ["read:invoices"],
        "admin": ["read:invoices", "write:invoices", "delete:org"],
    ]
    static let permissions: Set<String> = ["read:invoices", "write:invoices", "delete:org"]
    static let declared: Set<String> = ["org_default", "org_acme"]
    static let defaultOrganization = "org_default"
    static let defaultRoles: Set<String> = ["viewer"]

    struct Membership: Equatable {
        var roles: Set<String> = []
        var permissions: Set<String> = []
    }

    var organizations: Set<String> = declared
    /// User id → organization code → what the user holds there.
    var users: [String: [String: Membership]] = [:]

    /// The outcome class of a write: `OK`, or the `ERR` code.
    typealias Outcome = String

    mutating func addUser(_ id: String, organizations given: [String], roles: [String]?) -> Outcome {
        let codes = given.isEmpty ? [Self.defaultOrganization] : given
        guard codes.allSatisfy(organizations.contains) else { return "NOT_FOUND" }
        guard (roles ?? []).allSatisfy({ Self.grants[$0] != nil }) else { return "NOT_FOUND" }
        if let held = users[id] {
            // Adding what exists is OK; anything more under its id is a conflict.
            let same = given.allSatisfy { code in held[code].map { Set(roles ?? []).isSubset(of: $0.roles) } ?? false }
            return same ? "OK" : "CONFLICT"
        }
        users[id] = Dictionary(uniqueKeysWithValues: codes.map {
            ($0, Membership(roles: roles.map(Set.init) ?? Self.defaultRoles))
        })
        return "OK"
    }

    mutating func removeUser(_ id: String) -> Outcome {
        users.removeValue(forKey: id) == nil ? "NOT_FOUND" : "OK"
    }

    mutating func addOrganization(_ code: String) -> Outcome {
        organizations.insert(code)
        return "OK"
    }

    mutating func removeOrganization(_ code: String) -> Outcome {
        guard organizations.contains(code) else { return "NOT_FOUND" }
        if Self.declared.contains(code) { return "CONFLICT" }
        if users.values.contains(where: { $0.keys.contains(code) && $0.count == 1 }) { return "CONFLICT" }
        organizations.remove(code)
        for id in users.keys { users[id]?[code] = nil }
        return "OK"
    }

    mutating func addMember(_ user: String, _ code: String, roles: [String]) -> Outcome {
        guard users[user] != nil, organizations.contains(code) else { return "NOT_FOUND" }
        guard roles.allSatisfy({ Self.grants[$0] != nil }) else { return "NOT_FOUND" }
        if users[user]?[code] != nil {
            users[user]?[code]?.roles.formUnion(roles)
        } else {
            users[user]?[code] = Membership(roles: roles.isEmpty ? Self.defaultRoles : Set(roles))
        }
        return "OK"
    }

    mutating func removeMember(_ user: String, _ code: String) -> Outcome {
        guard let held = users[user], organizations.contains(code) else { return "NOT_FOUND" }
        guard held[code] != nil else { return "OK" }
        if held.count == 1 { return "CONFLICT" }
        users[user]?[code] = nil
        return "OK"
    }

    /// `ROLE.ADD`/`PERM.ADD` (`add`) and `ROLE.DEL`/`PERM.DEL`.
    mutating func grant(_ user: String, _ code: String, role: String?, permission: String?, add: Bool) -> Outcome {
        guard users[user] != nil, organizations.contains(code) else { return "NOT_FOUND" }
        let defined = role.map { Self.grants[$0] != nil } ?? permission.map(Self.permissions.contains) ?? false
        if add {
            guard users[user]?[code] != nil else { return "CONFLICT" }
            guard defined else { return "NOT_FOUND" }
        }
        guard var membership = users[user]?[code] else { return defined ? "OK" : "NOT_FOUND" }
        let held = role.map { membership.roles.contains($0) } ?? permission.map { membership.permissions.contains($0) }!
        if !add && !held && !defined { return "NOT_FOUND" }
        if let role { if add { membership.roles.insert(role) } else { membership.roles.remove(role) } }
        if let permission { if add { membership.permissions.insert(permission) } else { membership.permissions.remove(permission) } }
        users[user]?[code] = membership
        return "OK"
    }

    // MARK: - Queries, answered as the protocol answers them

    func effective(_ user: String, _ code: String) -> Set<String> {
        guard let membership = users[user]?[code] else { return [] }
        return membership.roles.reduce(into: membership.permissions) { $0.formUnion(Self.grants[$1] ?? []) }
    }

    func check(_ user: String, _ code: String, _ permissions: [String]) -> String {
        permissions.map { effective(user, code).contains($0) ? "ALLOW" : "DENY" }.joined(separator: " ")
    }

    func perms(_ user: String, _ code: String) -> String { list(effective(user, code)) }

    func roles(_ user: String, _ code: String) -> String { list(users[user]?[code]?.roles ?? []) }

    func orgs(_ user: String, permission: String?) -> String {
        let held = users[user] ?? [:]
        return list(held.keys.filter { code in permission.map { effective(user, code).contains($0) } ?? true })
    }

    func who(_ code: String, _ permission: String) -> String {
        list(users.keys.filter { effective($0, code).contains(permission) })
    }

    func explain(_ user: String, _ code: String, _ permission: String) -> String {
        guard let held = users[user] else { return "DENY unknown-user" }
        guard organizations.contains(code) else { return "DENY unknown-org" }
        guard let membership = held[code] else { return "DENY not-member" }
        guard Self.permissions.contains(permission) else { return "DENY unknown-permission" }
        let sources = membership.roles.sorted().filter { Self.grants[$0]?.contains(permission) == true }.map { "role:\($0)" }
            + (membership.permissions.contains(permission) ? ["direct"] : [])
        return sources.isEmpty ? "DENY not-granted" : "ALLOW " + sources.joined(separator: " ")
    }

    private func list<Items: Sequence<String>>(_ items: Items) -> String {
        (["OK"] + items.sorted()).joined(separator: " ")
    }
}

/// Issue 13 (2): the real server and the model take the same random sequence of writes;
/// after every write, random queries over every command are compared. The seed is printed,
/// and `PERMD_MODEL_SEED` replays it; `PERMD_MODEL_OPERATIONS` lengthens the run (make soak).
@Suite struct ReferenceModelTests {
    static let userPool = (0..<6).map { "u\($0)" }
    static let organizationPool = ["org_default", "org_acme", "org_x", "org_y", "org_gone"]
    static let rolePool = ["viewer", "admin", "ghost"]
    static let permissionPool = ["read:invoices", "write:invoices", "delete:org", "nope:x"]

    @Test func theServerAnswersAsThePlainModel() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["PERMD_MODEL_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        let operations = environment["PERMD_MODEL_OPERATIONS"].flatMap(Int.init) ?? 1500
        print("reference model: seed \(seed), \(operations) operations (PERMD_MODEL_SEED=\(seed) replays it)")
        var random = ModelRandom(seed: seed)
        try await withTestServer { server in
            let admin = try server.admin()
            var model = ReferenceModel()
            var compared = 0
            for step in 0..<operations {
                let (line, expected) = Self.randomWrite(&random, &model)
                let reply = try admin.request(line)
                let outcome = reply.hasPrefix("OK") ? "OK" : String(reply.split(separator: " ").dropFirst().first ?? "")
                #expect(outcome == expected, "seed \(seed) step \(step): \(line) answered \(reply), the model says \(expected)")
                if outcome != expected { return }
                for _ in 0..<3 {
                    let (query, answer) = Self.randomQuery(&random, model)
                    let real = try admin.request(query)
                    #expect(real == answer, "seed \(seed) step \(step): \(query) answered \(real), the model says \(answer)")
                    if real != answer { return }
                    compared += 1
                }
            }
            // A last sweep over every pair, so that nothing the random queries missed differs.
            for user in Self.userPool {
                for code in Self.organizationPool {
                    let real = try admin.request("PERMS \(user) \(code)")
                    #expect(real == model.perms(user, code), "seed \(seed): PERMS \(user) \(code) answered \(real)")
                    compared += 1
                }
            }
            #expect(compared >= operations * 3)
        }
    }

    static func randomWrite(_ random: inout ModelRandom, _ model: inout ReferenceModel) -> (String, String) {
        let user = random.pick(userPool)
        let code = random.pick(organizationPool)
        let role = random.pick(rolePool)
        let permission = random.pick(permissionPool)
        switch random.next() % 12 {
        case 0, 1:
            var codes: [String] = []
            for _ in 0..<(random.next() % 3) { let code = random.pick(organizationPool); if !codes.contains(code) { codes.append(code) } }
            let roles: [String]? = random.next() % 2 == 0 ? nil : [random.pick(rolePool)]
            var fields = ["\"id\": \"\(user)\""]
            if !codes.isEmpty { fields.append("\"organizations\": [" + codes.map { "\"\($0)\"" }.joined(separator: ", ") + "]") }
            if let roles { fields.append("\"roles\": [" + roles.map { "\"\($0)\"" }.joined(separator: ", ") + "]") }
            return ("USER.ADD {" + fields.joined(separator: ", ") + "}", model.addUser(user, organizations: codes, roles: roles))
        case 2:
            return ("USER.DEL \(user)", model.removeUser(user))
        case 3:
            return ("ORG.ADD \(code)", model.addOrganization(code))
        case 4:
            return ("ORG.DEL \(code)", model.removeOrganization(code))
        case 5, 6:
            let roles = random.next() % 2 == 0 ? [] : [role]
            return ((["MEMBER.ADD", user, code] + roles).joined(separator: " "), model.addMember(user, code, roles: roles))
        case 7:
            return ("MEMBER.DEL \(user) \(code)", model.removeMember(user, code))
        case 8:
            return ("ROLE.ADD \(user) \(code) \(role)", model.grant(user, code, role: role, permission: nil, add: true))
        case 9:
            return ("ROLE.DEL \(user) \(code) \(role)", model.grant(user, code, role: role, permission: nil, add: false))
        case 10:
            return ("PERM.ADD \(user) \(code) \(permission)", model.grant(user, code, role: nil, permission: permission, add: true))
        default:
            return ("PERM.DEL \(user) \(code) \(permission)", model.grant(user, code, role: nil, permission: permission, add: false))
        }
    }

    static func randomQuery(_ random: inout ModelRandom, _ model: ReferenceModel) -> (String, String) {
        let user = random.pick(userPool)
        let code = random.pick(organizationPool)
        let permission = random.pick(permissionPool)
        switch random.next() % 7 {
        case 0:
            let permissions = (0..<(1 + random.next() % 4)).map { _ in random.pick(permissionPool) }
            return ("CHECK \(user) \(code) " + permissions.joined(separator: " "), model.check(user, code, permissions))
        case 1: return ("PERMS \(user) \(code)", model.perms(user, code))
        case 2: return ("ROLES \(user) \(code)", model.roles(user, code))
        case 3: return ("ORGS \(user)", model.orgs(user, permission: nil))
        case 4: return ("ORGS \(user) \(permission)", model.orgs(user, permission: permission))
        case 5: return ("WHO \(code) \(permission)", model.who(code, permission))
        default: return ("EXPLAIN \(user) \(code) \(permission)", model.explain(user, code, permission))
        }
    }
}

/// SplitMix64: a seeded sequence, so that a failing run replays exactly.
struct ModelRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
    }

    mutating func pick<Element>(_ items: [Element]) -> Element { items[next() % items.count] }
}
