import PermdCore
import PermdIndex
import PermdPolicy
import PermdTestSupport
import Testing

/// CHECK and EXPLAIN give one verdict: over random policy sets, random states reached
/// through the change log (removals included) and random requests (unknown users,
/// organizations and permissions, non-members, removed members), the byte forms and the
/// `String` forms of CHECK, the server's path (one membership lookup, then `decide` per
/// permission) and EXPLAIN's verdict all agree, with each other and with a plain model of
/// SPEC §1 computed from the state and `PolicySet.grantsByRole`.
@Suite struct EvaluatorPropertyTests {
    /// A random world: a policy set and the names requests pick from. Names longer than 15
    /// bytes take the hashed paths of the index (short ones its inline records), and one
    /// user joins every organization, more than the per-user walk looks at.
    struct World {
        let policy: PolicySet
        let users: [String]
        let organizations: [String]
        let declared: [String]
        /// Role keys for assignments: the policies' and one they do not define.
        let roles: [String]
        /// Permission keys for grants and requests: the policies' and some they do not define.
        let permissions: [String]

        init(_ generator: inout SeededGenerator) {
            let resources = ["inv", "pay", "a-resource-with-a-long-name"]
            let count = Int.random(in: 1...80, using: &generator)
            let keys = (0..<count).map { "\(resources[$0 % resources.count]):act\($0)" }
            var roles: [RoleDefinition] = []
            for number in 0..<Int.random(in: 1...8, using: &generator) {
                var patterns = keys.filter { _ in Int.random(in: 0..<100, using: &generator) < 25 }
                switch Int.random(in: 0..<10, using: &generator) {
                case 0: patterns.append("*")
                case 1: patterns.append(resources.randomElement(using: &generator)! + ":*")
                default: break
                }
                // Includes only of earlier roles: no cycles.
                let includes = roles.map(\.key).filter { _ in Int.random(in: 0..<100, using: &generator) < 20 }
                roles.append(RoleDefinition(key: "role-\(number)", permissions: patterns, includes: includes,
                                            defaultForNewUsers: number == 0))
            }
            declared = ["org_default", "org-declared-with-a-long-code"]
            policy = PolicySet(permissions: keys.map { PermissionDefinition(key: $0) }, roles: roles,
                               organizations: declared.map { OrganizationDefinition(code: $0) },
                               settings: PolicySettings(defaultOrganization: "org_default"))
            users = ["u0", "u1", "u2", "u3", "a-user-with-a-long-identifier", "joins-everything"]
            organizations = declared + ["o1", "o2", "o3", "o4", "an-organization-with-a-long-code"]
            self.roles = roles.map(\.key) + ["ghost-role"]
            permissions = keys + ["ghost:perm", "inv:", "inv:act"]
        }

        /// A change of the change log over the world's names.
        func change(_ generator: inout SeededGenerator) -> StateChange {
            let user = users.randomElement(using: &generator)!
            let organization = organizations.randomElement(using: &generator)!
            let role = roles.randomElement(using: &generator)!
            let permission = permissions.randomElement(using: &generator)!
            switch Int.random(in: 0..<100, using: &generator) {
            case 0..<10: return .userAdded(user: user)
            case 10..<14: return .userRemoved(user: user)
            case 14..<19: return .organizationAdded(code: organization)
            // The store never removes a declared organization.
            case 19..<22: return .organizationRemoved(code: declared.contains(organization) ? "o1" : organization)
            case 22..<42: return .membershipAdded(user: user, organization: organization)
            case 42..<50: return .membershipRemoved(user: user, organization: organization)
            case 50..<68: return .roleAssigned(user: user, organization: organization, role: role)
            case 68..<76: return .roleUnassigned(user: user, organization: organization, role: role)
            case 76..<92: return .permissionGranted(user: user, organization: organization, permission: permission)
            default: return .permissionRevoked(user: user, organization: organization, permission: permission)
            }
        }

        /// A request over the world's names and some it does not know.
        func request(_ generator: inout SeededGenerator) -> Request {
            func pick(_ names: [String], unknown: [String]) -> String {
                Int.random(in: 0..<10, using: &generator) == 0
                    ? unknown.randomElement(using: &generator)! : names.randomElement(using: &generator)!
            }
            return Request(user: pick(users, unknown: ["ghost", "", "u"]),
                           organization: pick(organizations, unknown: ["ghost-org", "o", "org_defaul"]),
                           permission: pick(permissions, unknown: ["", "*", "inv:*"]))
        }
    }

    struct Request: CustomStringConvertible {
        let user: String
        let organization: String
        let permission: String

        var description: String { "CHECK \(user) \(organization) \(permission)" }
    }

    /// What SPEC §1 says about a request, read plainly from the state.
    static func expected(_ request: Request, state: InMemoryState, world: World) -> Explanation {
        guard state.users.contains(request.user) else { return .deny(.unknownUser) }
        guard state.organizations.contains(request.organization) || world.declared.contains(request.organization) else {
            return .deny(.unknownOrganization)
        }
        guard let membership = state.memberships.first(where: {
            $0.user == request.user && $0.organization == request.organization
        }) else { return .deny(.notMember) }
        guard world.policy.permission(request.permission) != nil else { return .deny(.unknownPermission) }
        var sources: [GrantSource] = world.policy.roles.map(\.key).filter { role in
            membership.roles.contains(role) && world.policy.grantsByRole[role, default: []].contains(request.permission)
        }.map { .role($0) }
        if membership.permissions.contains(request.permission) { sources.append(.direct) }
        return sources.isEmpty ? .deny(.notGranted) : .allow(sources)
    }

    /// Every form of the evaluator on one request; nil when they agree with the model, else
    /// what differed.
    static func disagreement(_ snapshot: IndexSnapshot, _ request: Request, expected: Explanation) -> String? {
        let explained = snapshot.explain(user: request.user, organization: request.organization,
                                         permission: request.permission)
        let (byBytes, explainedByBytes, bySlot) = Array(request.user.utf8).withUnsafeBytes { user in
            Array(request.organization.utf8).withUnsafeBytes { organization in
                Array(request.permission.utf8).withUnsafeBytes { permission in
                    (snapshot.check(user: user, organization: organization, permission: permission),
                     snapshot.explain(user: user, organization: organization, permission: permission),
                     snapshot.decide(snapshot.membershipSlot(user: user, organization: organization), permission))
                }
            }
        }
        let byString = snapshot.check(user: request.user, organization: request.organization,
                                      permission: request.permission)
        let verdicts = [byBytes, bySlot, byString, explained.allows, explainedByBytes.allows]
        guard verdicts.allSatisfy({ $0 == expected.allows }) && explained == expected && explainedByBytes == expected
        else {
            return "\(request): expected \(expected); check bytes/slot/String \(verdicts[0...2]), "
                + "explain String \(explained), bytes \(explainedByBytes)"
        }
        return nil
    }

    @Test(arguments: 1...16 as ClosedRange<UInt64>)
    func checkAgreesWithExplainsVerdict(seed: UInt64) throws {
        var generator = SeededGenerator(state: seed)
        let world = World(&generator)
        var state = InMemoryState(organizations: ["org_default"])
        var incremental = IndexSnapshot.build(policy: world.policy, state: state, revision: 0)
        var allowed = 0
        var reasons: Set<DenyReason> = []
        func count(_ answer: Explanation) {
            switch answer {
            case .allow: allowed += 1
            case .deny(let reason): reasons.insert(reason)
            }
        }
        // Every name known, and one user in every organization; then random changes.
        let everyone: [StateChange] = world.organizations.map { .organizationAdded(code: $0) }
            + world.users.map { .userAdded(user: $0) }
            + world.organizations.map { .membershipAdded(user: "joins-everything", organization: $0) }
        var revision: UInt64 = 0
        for step in 0..<40 {
            var changes = step == 0 ? everyone : []
            for _ in 0..<Int.random(in: 1...4, using: &generator) { changes.append(world.change(&generator)) }
            let batch = changes.map { change in
                revision += 1
                return ChangeRecord(revision: revision, change: change)
            }
            for record in batch { state.apply(record) }
            incremental = try #require(incremental.applying(batch))
            let full = IndexSnapshot.build(policy: world.policy, state: state, revision: revision)
            for _ in 0..<50 {
                let request = world.request(&generator)
                let expected = Self.expected(request, state: state, world: world)
                count(expected)
                for (name, snapshot) in [("full build", full), ("incremental", incremental)] {
                    if let difference = Self.disagreement(snapshot, request, expected: expected) {
                        Issue.record("seed \(seed), step \(step), \(name): \(difference)")
                        return
                    }
                }
            }
        }
        // Every answer of the last state, over all the names.
        for user in world.users + ["ghost"] {
            for organization in world.organizations + ["ghost-org"] {
                for permission in world.permissions {
                    let request = Request(user: user, organization: organization, permission: permission)
                    let expected = Self.expected(request, state: state, world: world)
                    if let difference = Self.disagreement(incremental, request, expected: expected) {
                        Issue.record("seed \(seed), last state: \(difference)")
                        return
                    }
                    count(expected)
                }
            }
        }
        // The random states and requests are rich enough to reach every answer.
        #expect(allowed > 0 && reasons == Set(DenyReason.allCases), "seed \(seed): \(allowed) allowed, denied for \(reasons)")
    }
}
