import PermdCore
import PermdIndex
import PermdPolicy
import PermdTestSupport
import Testing

private let userIDs = ["u0", "u1", "u2", "u3", "u4", "u5"]
private let organizationCodes = ["org_default", "o1", "o2", "o3"]
private let roleKeys = testPolicy.roles.map(\.key) + ["ghost-role"]
private let permissionKeys = testPolicy.permissions.map(\.key) + ["ghost:perm"]

private func randomChange(_ generator: inout SeededGenerator) -> StateChange {
    let user = userIDs.randomElement(using: &generator)!
    let organization = organizationCodes.randomElement(using: &generator)!
    let role = roleKeys.randomElement(using: &generator)!
    let permission = permissionKeys.randomElement(using: &generator)!
    switch Int.random(in: 0..<100, using: &generator) {
    case 0..<10: return .userAdded(user: user)
    case 10..<13: return .userRemoved(user: user)
    case 13..<18: return .organizationAdded(code: organization)
    // The store never removes a declared organization.
    case 18..<20: return .organizationRemoved(code: organization == "org_default" ? "o1" : organization)
    case 20..<22: return .profileUpdated(user: user)
    case 22..<40: return .membershipAdded(user: user, organization: organization)
    case 40..<47: return .membershipRemoved(user: user, organization: organization)
    case 47..<65: return .roleAssigned(user: user, organization: organization, role: role)
    case 65..<75: return .roleUnassigned(user: user, organization: organization, role: role)
    case 75..<90: return .permissionGranted(user: user, organization: organization, permission: permission)
    default: return .permissionRevoked(user: user, organization: organization, permission: permission)
    }
}

@Test(arguments: [1, 2, 3] as [UInt64])
func incrementalEqualsFullBuild(seed: UInt64) throws {
    var generator = SeededGenerator(state: seed)
    var state = InMemoryState(organizations: ["org_default"])
    var snapshot = IndexSnapshot.build(policy: testPolicy, state: state, revision: 0)
    var revision: UInt64 = 0
    for step in 0..<250 {
        // Apply one to three changes per snapshot, as the server batches them.
        var batch: [ChangeRecord] = []
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            revision += 1
            batch.append(ChangeRecord(revision: revision, change: randomChange(&generator)))
        }
        for record in batch { state.apply(record) }
        let previous = snapshot
        let before = step % 25 == 0 ? everyAnswer(previous, users: userIDs, organizations: organizationCodes,
                                                   permissions: permissionKeys) : []
        snapshot = try #require(snapshot.applying(batch))
        #expect(snapshot.revision == revision)
        if step % 25 == 0 {
            // The earlier snapshot is immutable.
            #expect(everyAnswer(previous, users: userIDs, organizations: organizationCodes,
                                permissions: permissionKeys) == before)
        }
        let full = IndexSnapshot.build(policy: testPolicy, state: state, revision: revision)
        let incremental = everyAnswer(snapshot, users: userIDs, organizations: organizationCodes,
                                      permissions: permissionKeys)
        let expected = everyAnswer(full, users: userIDs, organizations: organizationCodes,
                                   permissions: permissionKeys)
        let differences = zip(incremental, expected).filter { $0 != $1 }.prefix(3)
        #expect(differences.isEmpty && incremental.count == expected.count,
                "seed \(seed), step \(step): \(Array(differences))")
        if !differences.isEmpty { return }
    }
}

@Test func manyMembershipsAcrossChunksStayConsistent() throws {
    // Enough rows, slots and member-list entries to span several chunks and to grow
    // the hash tables while applying changes.
    var state = InMemoryState(organizations: ["org_a", "org_b"])
    for number in 0..<1000 { state.addUser("user-\(number)") }
    for number in stride(from: 0, to: 1000, by: 2) {
        state.addMembership(user: "user-\(number)", organization: "org_a", roles: ["viewer"])
    }
    var snapshot = IndexSnapshot.build(policy: testPolicy, state: state, revision: 1)
    var changes: [ChangeRecord] = []
    var revision: UInt64 = 1
    func record(_ change: StateChange) {
        revision += 1
        changes.append(ChangeRecord(revision: revision, change: change))
        state.apply(changes[changes.count - 1])
    }
    for number in 0..<1000 {
        record(.membershipAdded(user: "user-\(number)", organization: "org_b"))
        if number % 3 == 0 { record(.permissionGranted(user: "user-\(number)", organization: "org_b", permission: "delete:org")) }
        if number % 4 == 0 { record(.membershipRemoved(user: "user-\(number)", organization: "org_a")) }
        if number % 7 == 0 { record(.userRemoved(user: "user-\(number)")) }
    }
    snapshot = try #require(snapshot.applying(changes))
    let full = IndexSnapshot.build(policy: testPolicy, state: state, revision: revision)
    for organization in ["org_a", "org_b"] {
        for permission in ["read:invoices", "delete:org"] {
            #expect(snapshot.who(organization: organization, permission: permission, after: nil, limit: 5000)
                == full.who(organization: organization, permission: permission, after: nil, limit: 5000))
        }
    }
    for number in stride(from: 0, to: 1000, by: 37) {
        #expect(snapshot.organizations(user: "user-\(number)") == full.organizations(user: "user-\(number)"))
        #expect(snapshot.explain(user: "user-\(number)", organization: "org_b", permission: "delete:org")
            == full.explain(user: "user-\(number)", organization: "org_b", permission: "delete:org"))
    }
    #expect(snapshot.statistics.memberships == full.statistics.memberships)
    #expect(snapshot.statistics.users == full.statistics.users)
}

@Test func aUsersMembershipsNamedInItsSlotFollowEveryChange() throws {
    // The user table's slot names a user's memberships while there are at most two (see
    // `UserMembershipLists.hintOverflow`); CHECK reads them from there. Walk one user from
    // none to four memberships and back, one change per snapshot, in a table that grows
    // meanwhile (new users), and compare every CHECK with a full build of the same state.
    let organizations = ["o1", "o2", "o3", "o4", "o5"]
    var state = InMemoryState(organizations: organizations, users: ["walker", "other"])
    state.addMembership(user: "other", organization: "o1", roles: ["admin"])
    var snapshot = IndexSnapshot.build(policy: testPolicy, state: state, revision: 1)
    var revision: UInt64 = 1
    var steps: [StateChange] = []
    for (index, organization) in organizations.prefix(4).enumerated() {
        steps.append(.membershipAdded(user: "walker", organization: organization))
        steps.append(.roleAssigned(user: "walker", organization: organization, role: index % 2 == 0 ? "viewer" : "admin"))
        steps.append(contentsOf: (0..<40).map { .userAdded(user: "new-\(index)-\($0)") })
    }
    for organization in ["o2", "o4", "o1", "o3"] { steps.append(.membershipRemoved(user: "walker", organization: organization)) }
    steps.append(.membershipAdded(user: "walker", organization: "o5"))
    steps.append(.userRemoved(user: "walker"))
    steps.append(.userAdded(user: "walker"))
    // The walker's role per organization, as the steps leave it (the plain model).
    var walkerRoles: [String: String] = [:]
    for change in steps {
        switch change {
        case .membershipAdded(_, let organization): walkerRoles[organization] = walkerRoles[organization] ?? ""
        case .roleAssigned(_, let organization, let role): walkerRoles[organization] = role
        case .membershipRemoved(_, let organization): walkerRoles[organization] = nil
        case .userRemoved: walkerRoles = [:]
        default: break
        }
        revision += 1
        let record = ChangeRecord(revision: revision, change: change)
        state.apply(record)
        snapshot = try #require(snapshot.applying([record]))
        let full = IndexSnapshot.build(policy: testPolicy, state: state, revision: revision)
        for organization in organizations {
            let role = walkerRoles[organization]
            let expected = [("read:invoices", role == "viewer" || role == "admin"), ("delete:org", role == "admin")]
            for (permission, allowed) in expected {
                #expect(snapshot.check(user: "walker", organization: organization, permission: permission) == allowed,
                        "after \(change): walker \(organization) \(permission)")
                #expect(full.check(user: "walker", organization: organization, permission: permission) == allowed,
                        "full build after \(change): walker \(organization) \(permission)")
            }
            #expect(snapshot.check(user: "other", organization: organization, permission: "delete:org") == (organization == "o1"))
        }
    }
}

@Test func policyReloadNeedsAFullBuildAndOldChangesAreSkipped() throws {
    let state = InMemoryState(organizations: ["org_a"], users: ["alice"],
                              memberships: [.init(user: "alice", organization: "org_a")], revision: 5)
    let snapshot = IndexSnapshot.build(policy: testPolicy, state: state, revision: 5)
    #expect(snapshot.applying([ChangeRecord(revision: 6, change: .policyReloaded)]) == nil)
    let old = ChangeRecord(revision: 5, change: .membershipRemoved(user: "alice", organization: "org_a"))
    let new = ChangeRecord(revision: 6, change: .permissionGranted(user: "alice", organization: "org_a",
                                                                     permission: "delete:org"))
    let next = try #require(snapshot.applying([old, new]))
    #expect(next.revision == 6)
    #expect(next.explain(user: "alice", organization: "org_a", permission: "delete:org") == .allow([.direct]))
}

/// Feeds a fixture's rows in a shuffled order, each membership and grant twice, and
/// announces wrong counts: a full build must not depend on the order, uniqueness or counts
/// the store happens to give.
private struct ShuffledReader: StateReader {
    let state: InMemoryState
    let seed: UInt64

    func stateCounts() throws -> StateCounts? { StateCounts(users: 1, organizations: 0, memberships: 3) }

    func readState(into sink: inout some StateSink) throws -> UInt64 {
        var generator = SeededGenerator(state: seed)
        for code in state.organizations.shuffled(using: &generator) { sink.organization(code) }
        for id in state.users.shuffled(using: &generator) { sink.user(id) }
        let memberships = (state.memberships + state.memberships).shuffled(using: &generator)
        for membership in memberships { sink.membership(user: membership.user, organization: membership.organization) }
        for membership in memberships {
            for role in membership.roles {
                sink.roleAssignment(user: membership.user, organization: membership.organization, role: role)
            }
            for permission in membership.permissions {
                sink.directGrant(user: membership.user, organization: membership.organization, permission: permission)
            }
        }
        return state.revision
    }

    func changes(after revision: UInt64) throws -> [ChangeRecord]? { nil }
}

@Test(arguments: [1, 2, 3] as [UInt64])
func fullBuildIgnoresRowOrderAndDuplicates(seed: UInt64) throws {
    var generator = SeededGenerator(state: seed)
    var state = InMemoryState(organizations: ["org_default"])
    for revision in 1...300 { state.apply(ChangeRecord(revision: UInt64(revision), change: randomChange(&generator))) }
    let expected = everyAnswer(IndexSnapshot.build(policy: testPolicy, state: state, revision: 1),
                               users: userIDs, organizations: organizationCodes, permissions: permissionKeys)
    let shuffled = try IndexSnapshot.build(policy: testPolicy, reader: ShuffledReader(state: state, seed: seed))
    let answers = everyAnswer(shuffled, users: userIDs, organizations: organizationCodes, permissions: permissionKeys)
    #expect(answers == expected)
    #expect(shuffled.statistics.memberships == state.memberships.count)
}
