import PermdIndex

/// Where requests are drawn from.
enum RequestSource: Sendable {
    /// Real memberships of the loaded state, with some non-members, unknown users and
    /// unknown permissions; every answer checked.
    case reference(ReferenceState)
    /// `--users N --org CODE --perms a,b`: users `<prefix>1` … `<prefix>N`, answers not checked.
    case synthetic(SyntheticUsers)
}

/// The user population of a run without `--users-from`.
struct SyntheticUsers: Sendable {
    var count: Int
    var prefix: String
    var organization: String
    var permissions: [String]
}

/// What one connection sends: a pool of planned requests, cycled through in order, and the
/// membership it toggles when the mix writes.
struct ConnectionPlan: Sendable {
    /// Every request this connection can send.
    var requests: [PlannedRequest]
    /// The order of sending: indices into `requests`, or `ConnectionPlan.toggle` for the
    /// next write (add and remove alternate, whatever the pool's length).
    var slots: [Int]
    /// The indices in `requests` of the write that adds and of the one that removes.
    var toggle: (add: Int, remove: Int)?

    /// The slot that stands for "the next write".
    static let toggleSlot = -1
}

/// Plans the requests of every connection of a run, deterministically for a seed.
struct Workload: Sendable {
    let source: RequestSource
    let mix: RequestMix
    let dialect: Dialect
    let seed: UInt64

    /// Requests planned in all (per connection: this divided by the connections, at least
    /// 256): eight per membership (or user), from 4,096 up to 65,536 — enough variety that
    /// no connection repeats a short cycle, few enough to plan in well under a second.
    var plannedRequests: Int {
        let population = switch source {
        case .reference(let state): state.memberships.count
        case .synthetic(let users): users.count
        }
        return min(65_536, max(4_096, 8 * population))
    }

    /// The plan of every connection, in connection order.
    func plans(connections: Int) throws(LoadError) -> [ConnectionPlan] {
        let targets = try writeTargets(connections: connections)
        let draw = RequestDraw(source: source, excludedUsers: Set(targets?.map(\.user) ?? []))
        return (0..<connections).map { plan(connection: $0, of: connections, draw: draw, write: targets?[$0]) }
    }

    /// One writable membership per connection, of as many different users, drawn from the
    /// reference state; nil when the mix does not write. Reads leave those users alone:
    /// their answers change under the writes.
    private func writeTargets(connections: Int) throws(LoadError) -> [WriteTarget]? {
        guard mix.includes(.write) else { return nil }
        guard case .reference(let state) = source else {
            throw LoadError("writes need --users-from DB --policies DIR (the memberships they toggle)")
        }
        var random = SplitMix(seed: seed ^ 0x5752_4954_4552)
        var order = Array(state.memberships.indices)
        order.shuffle(using: &random)
        var targets: [WriteTarget] = []
        var users = Set<String>()
        for index in order where targets.count < connections {
            let membership = state.memberships[index]
            guard !users.contains(membership.user), let target = state.writeTarget(membership) else { continue }
            targets.append(target)
            users.insert(membership.user)
        }
        guard targets.count == connections else {
            throw LoadError("\(connections) writing connections need as many users with a role they do not hold; the state has \(targets.count)")
        }
        return targets
    }

    private func plan(connection index: Int, of connections: Int, draw: RequestDraw, write target: WriteTarget?) -> ConnectionPlan {
        var random = SplitMix(seed: seed &+ UInt64(index) &* 0x1000_0001)
        let count = max(256, plannedRequests / connections)
        var requests: [PlannedRequest] = []
        var slots: [Int] = []
        var toggle: (add: Int, remove: Int)?
        if let target {
            toggle = (0, 1)
            requests.append(planned(.write(target, add: true)))
            requests.append(planned(.write(target, add: false)))
        }
        for _ in 0..<count {
            let kind = mix.draw(&random)
            if kind == .write {
                slots.append(ConnectionPlan.toggleSlot)
                continue
            }
            slots.append(requests.count)
            requests.append(planned(draw.request(kind, &random)))
        }
        return ConnectionPlan(requests: requests, slots: slots, toggle: toggle)
    }

    /// Whether every answer is compared with the reference state.
    var checksAnswers: Bool {
        if case .reference = source { return true }
        return false
    }

    private func planned(_ request: LoadRequest) -> PlannedRequest {
        switch source {
        case .reference(let state): dialect.plan(request, expected: state.answer(to: request))
        case .synthetic: dialect.plan(request, expected: nil)
        }
    }
}

/// Draws one read request. From the reference state: 80 % a real membership (half the
/// time with a permission it holds), 10 % a user with any organization (often not a
/// member), 5 % an unknown user, 5 % an unknown permission — so ALLOW, DENY and every deny
/// reason occur.
struct RequestDraw: Sendable {
    let source: RequestSource
    let memberships: [ReferenceState.Membership]
    let users: [String]

    init(source: RequestSource, excludedUsers: Set<String>) {
        self.source = source
        if case .reference(let state) = source {
            memberships = excludedUsers.isEmpty
                ? state.memberships : state.memberships.filter { !excludedUsers.contains($0.user) }
            users = excludedUsers.isEmpty ? state.users : state.users.filter { !excludedUsers.contains($0) }
        } else {
            memberships = []
            users = []
        }
    }

    func request(_ kind: RequestKind, _ random: inout SplitMix) -> LoadRequest {
        let (user, organization, permission) = switch source {
        case .reference(let state): reference(state, &random)
        case .synthetic(let population): synthetic(population, &random)
        }
        return switch kind {
        case .check, .write: .check(user: user, organization: organization, permission: permission)
        case .perms: .permissions(user: user, organization: organization)
        case .explain: .explain(user: user, organization: organization, permission: permission)
        }
    }

    private func reference(_ state: ReferenceState, _ random: inout SplitMix) -> (String, String, String) {
        guard !memberships.isEmpty else {
            return ("unknown-user-\(random.below(1_000_000))", "org-unknown", random.pick(state.permissions))
        }
        let membership = random.pick(memberships)
        let anyPermission = state.permissions.isEmpty ? "unknown:permission" : random.pick(state.permissions)
        switch random.below(100) {
        case ..<80:
            let held = random.percent(50)
                ? state.snapshot.permissions(user: membership.user, organization: membership.organization) : []
            return (membership.user, membership.organization, held.isEmpty ? anyPermission : random.pick(held))
        case ..<90:
            return (random.pick(users), random.pick(state.organizations), anyPermission)
        case ..<95:
            return ("unknown-user-\(random.below(1_000_000))", membership.organization, anyPermission)
        default:
            return (membership.user, membership.organization, "unknown:permission-\(random.below(1_000))")
        }
    }

    private func synthetic(_ population: SyntheticUsers, _ random: inout SplitMix) -> (String, String, String) {
        ("\(population.prefix)\(random.below(population.count) + 1)", population.organization,
         random.pick(population.permissions))
    }
}
