/// What only a full build does: memberships appended in bulk, the membership table and the
/// member lists filled once at the end.
extension IndexStorage {
    /// Adds the membership of user slot `user` in organization slot `organization` for a
    /// full build: while the rows arrive grouped by user in increasing slot order (so a
    /// duplicate can only be among the current user's few memberships), entering them in
    /// the membership table waits for `indexMemberships()`, which does it in table order
    /// instead of one cache miss per row. Leaves the member lists to `sortMembers()`.
    mutating func appendMembership(user: Int, organization: Int) {
        let owner = IndexStorage.owner(user: user, organization: organization)
        if deferringIndex {
            let lastUser = firstUnindexed == rows.rowCount
                ? -1 : Int(rows[rows.rowCount - 1, IndexStorage.ownerWord] >> 32)
            var duplicate = false
            if user == lastUser {
                forEachMembershipOfUser(user) { duplicate = duplicate || rows[$0, IndexStorage.ownerWord] == owner }
            }
            if user > lastUser || (user == lastUser && !duplicate) {
                let membership = rows.appendRow(first: owner)
                membershipsOfUser.prepend(membership, toUser: user)
                liveMemberships += 1
                return
            }
            indexMemberships()
        }
        addMembership(user: user, organization: organization, sorted: false)
    }

    /// Enters the memberships `appendMembership` deferred in the membership table. Lookups
    /// need it done first.
    mutating func indexMemberships() {
        guard deferringIndex else { return }
        deferringIndex = false
        let pending = firstUnindexed..<rows.rowCount
        firstUnindexed = rows.rowCount
        guard !pending.isEmpty else { return }
        membershipTable.insertInHomeOrder(pending, rows: rows, entries: liveMemberships)
        // The deferred memberships joined the lists without the user table's hints.
        let lists = membershipsOfUser
        users.setPayloads { lists.hint(ofUser: $0) }
    }

    /// Builds every organization's member list at once, sorted by user id.
    mutating func sortMembers() {
        let rank = userRanks()
        let rows = self.rows
        /// The position of a membership's user in id order.
        func position(_ membership: UInt32) -> UInt32 {
            let user = UInt32(truncatingIfNeeded: rows[Int(membership), IndexStorage.ownerWord] >> 32)
            return rank?[Int(user)] ?? user
        }
        var lists = [[UInt32]](repeating: [], count: organizations.slotCount)
        for membership in 0..<rows.rowCount where rows[membership, IndexStorage.ownerWord] != IndexStorage.deadOwner {
            let (_, organization) = owner(of: membership)
            lists[organization].append(UInt32(membership))
        }
        for organization in 0..<lists.count {
            let isOrdered = { (a: UInt32, b: UInt32) in position(a) < position(b) }
            // Rows fed in (user, organization) order arrive sorted already.
            if !zip(lists[organization], lists[organization].dropFirst()).allSatisfy(isOrdered) {
                lists[organization].sort(by: isOrdered)
            }
            organizationMembers[organization] = MemberList(sorted: lists[organization])
        }
    }

    /// Each user's position in id order, or nil when that is the user's slot (users were
    /// interned in id order, as the store feeds them).
    private func userRanks() -> [UInt32]? {
        let users = self.users.keys
        let inOrder = users.count < 2 || (1..<users.count).allSatisfy { users.isOrdered($0 - 1, before: $0) }
        if inOrder { return nil }
        // Sort by the first 8 bytes (big-endian, so integer order is byte order), then by
        // the whole id only on ties. Identifiers hold no zero bytes, so padding is safe.
        var order: [(prefix: UInt64, user: UInt32)] = (0..<users.count).map { user in
            let prefix = users.withKey(user) { bytes in
                bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (56 - 8 * UInt64($1.offset)) }
            }
            return (prefix, UInt32(user))
        }
        order.sort { a, b in
            if a.prefix != b.prefix { return a.prefix < b.prefix }
            return users.isOrdered(Int(a.user), before: Int(b.user))
        }
        var rank = [UInt32](repeating: 0, count: users.count)
        for (position, entry) in order.enumerated() { rank[Int(entry.user)] = UInt32(position) }
        return rank
    }
}
