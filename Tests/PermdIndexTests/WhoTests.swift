import PermdCore
import PermdIndex
import PermdPolicy
import Testing

/// 1,500 members (more than one member-list chunk) holding permissions in a pattern.
private func crowd() -> (InMemoryState, IndexSnapshot) {
    var state = InMemoryState(organizations: ["org_a"])
    var generator = SeededGenerator(state: 42)
    // Insertion order is random, so the index has to sort ids itself.
    let ids = (0..<1500).map { "user-\($0)" }.shuffled(using: &generator)
    for (position, id) in ids.enumerated() {
        state.addUser(id)
        let roles = position % 3 == 0 ? ["viewer"] : []
        let permissions = position % 5 == 0 ? ["write:invoices"] : []
        state.addMembership(user: id, organization: "org_a", roles: roles, permissions: permissions)
    }
    return (state, IndexSnapshot.build(policy: testPolicy, state: state, revision: 1))
}

@Test(arguments: [1, 7, 100, 1000])
func whoPagesConcatenateToTheFullList(limit: Int) {
    let (state, snapshot) = crowd()
    for permission in ["read:invoices", "write:invoices", "delete:org"] {
        let expected = state.memberships
            .filter { snapshot.check(user: $0.user, organization: "org_a", permission: permission) }
            .map(\.user)
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var collected: [String] = []
        var after: String?
        var pages = 0
        while true {
            let page = snapshot.who(organization: "org_a", permission: permission, after: after, limit: limit)
            #expect(page.users.count <= limit)
            collected += page.users
            pages += 1
            guard page.more, let last = page.users.last else { break }
            after = last
        }
        #expect(collected == expected)
        #expect(pages == max(1, (expected.count + limit - 1) / limit))
    }
}

@Test func whoStartsAfterAnyId() {
    let (_, snapshot) = crowd()
    let all = snapshot.who(organization: "org_a", permission: "read:invoices", after: nil, limit: 10_000).users
    // An id that is not a member still positions the page.
    let page = snapshot.who(organization: "org_a", permission: "read:invoices", after: "user-5", limit: 3)
    #expect(page.users == Array(all.filter { $0 > "user-5" }.prefix(3)))
    #expect(page.more)
    let end = snapshot.who(organization: "org_a", permission: "read:invoices", after: "zzz", limit: 3)
    #expect(end == WhoPage(users: [], more: false))
    #expect(snapshot.who(organization: "org_zz", permission: "read:invoices", after: nil, limit: 3).users.isEmpty)
    #expect(snapshot.who(organization: "org_a", permission: "read:nothing", after: nil, limit: 3).users.isEmpty)
}
