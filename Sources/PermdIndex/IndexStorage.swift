import PermdCore

/// The state side of an index, as dense integers: interned users and organizations,
/// memberships with their bit rows, the (user, organization) → membership table, each
/// user's memberships and each organization's members sorted by user id.
///
/// A value type over chunked storage: copying it is cheap, and mutating the copy copies
/// only the chunks touched. Membership and key ids are never reused before the next full
/// build: a removed membership is marked dead, a removed user or organization is marked
/// unknown (and known again when re-added).
struct IndexStorage: Sendable {
    /// Marks "no membership" in the membership links and a dead membership's owner.
    static let none = UInt32.max
    static let deadOwner = UInt64.max

    let policy: CompiledPolicy
    /// Row layout: the owner pair (user << 32 | organization, or `deadOwner`), effective
    /// permissions, direct permissions, then assigned roles. The owner sits in the row so
    /// that a CHECK confirms the membership and tests its bit in one place. The first two
    /// are constants, not stored, so that a CHECK does not load them.
    var ownerWord: Int { 0 }
    var effectiveWord: Int { 1 }
    let directWord: Int
    let roleWord: Int

    private(set) var users: ByteTable
    private var userKnown = ChunkedArray<Bool>()
    private var userFirst = ChunkedArray<UInt32>()
    private(set) var liveUsers = 0

    private(set) var organizations: ByteTable
    private var organizationKnown = ChunkedArray<Bool>()
    private(set) var members = ChunkedArray<MemberList>()
    private(set) var liveOrganizations = 0

    /// Per membership: the next membership of the same user.
    private var nextOfUser = ChunkedArray<UInt32>()
    private(set) var rows: WordRows
    /// Open addressing over membership id + 1 (0 = empty), keyed by the owner pair.
    private var slots: ChunkedArray<UInt32>
    private var slotMask: Int
    private(set) var liveMemberships = 0
    /// Memberships from this one on are not in the pair table yet (see `appendMembership`).
    private var firstUnindexed = 0
    /// Whether `appendMembership` may still defer the pair table: only while it is empty.
    private var deferringIndex = true

    init(policy: CompiledPolicy, expectedUsers: Int = 0, expectedOrganizations: Int = 0,
         expectedMemberships: Int = 0) {
        self.policy = policy
        directWord = 1 + policy.permissionWords
        roleWord = 1 + 2 * policy.permissionWords
        rows = WordRows(stride: 1 + 2 * policy.permissionWords + policy.roleWords)
        users = ByteTable(expected: expectedUsers)
        organizations = ByteTable(expected: expectedOrganizations)
        var capacity = 16
        while capacity < expectedMemberships * 2 { capacity <<= 1 }
        slots = ChunkedArray(repeating: 0, count: capacity)
        slotMask = capacity - 1
    }

    // MARK: Lookups

    func user(_ id: String) -> Int? {
        withBytes(id) { user($0) }
    }

    func user(_ id: UnsafeRawBufferPointer) -> Int? {
        guard let slot = users.find(id), userKnown[slot] else { return nil }
        return slot
    }

    /// The slot of known user `id`, trying slot `guess` before hashing.
    func user(_ id: UnsafeRawBufferPointer, guess: Int) -> Int? {
        if users.key(guess, is: id) { return userKnown[guess] ? guess : nil }
        return user(id)
    }

    func organization(_ code: String) -> Int? {
        withBytes(code) { organization($0) }
    }

    func organization(_ code: UnsafeRawBufferPointer) -> Int? {
        guard let slot = organizations.find(code), organizationKnown[slot] else { return nil }
        return slot
    }

    /// Whether membership `membership` is live and belongs to `user` in `organization`
    /// (comparing keys, no hashing).
    func membership(_ membership: Int, isOf user: UnsafeRawBufferPointer, in organization: UnsafeRawBufferPointer) -> Bool {
        let owner = rows[membership, ownerWord]
        guard owner != IndexStorage.deadOwner else { return false }
        let (userSlot, organizationSlot) = (Int(owner >> 32), Int(owner & 0xFFFF_FFFF))
        return users.key(userSlot, is: user) && organizations.key(organizationSlot, is: organization)
            && userKnown[userSlot] && organizationKnown[organizationSlot]
    }

    @inline(always)
    private static func owner(_ user: Int, _ organization: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: user) << 32 | UInt64(truncatingIfNeeded: organization)
    }

    @inline(always)
    private func home(_ owner: UInt64) -> Int {
        var hash = owner &* 0x9E37_79B9_7F4A_7C15
        hash ^= hash &>> 31
        return Int(truncatingIfNeeded: hash) & slotMask
    }

    /// The membership of `user` in `organization`.
    @inline(always)
    func membership(user: Int, organization: Int) -> Int? {
        assert(!deferringIndex || firstUnindexed == rows.rowCount, "indexMemberships() first")
        let key = IndexStorage.owner(user, organization)
        var index = home(key)
        while true {
            let slot = slots[index]
            if slot == 0 { return nil }
            let id = Int(truncatingIfNeeded: slot &- 1)
            if rows[id, ownerWord] == key { return id }
            index = (index &+ 1) & slotMask
        }
    }

    /// What walking a user's memberships for an organization found.
    enum MembershipWalk {
        case found(Int)
        /// The user has no membership there.
        case absent
        /// The user has more memberships than the walk looks at: use the pair table.
        case tooMany
    }

    /// The membership of user slot `user` in the organization whose code has the short-key
    /// record `organization` (see `keyRecord`), found by walking the user's memberships
    /// (most users have a handful) and comparing each one's organization record: no hash
    /// of the code and no probe of the pair table. Looks at `limit` memberships at most.
    @inline(always)
    func membership(user: Int, organizationRecord organization: (UInt64, UInt64), limit: Int = 4) -> MembershipWalk {
        var next = userFirst[user]
        var looked = 0
        while next != IndexStorage.none {
            if looked == limit { return .tooMany }
            let membership = Int(truncatingIfNeeded: next)
            let owner = rows[membership, ownerWord]
            if organizations.record(Int(truncatingIfNeeded: owner & 0xFFFF_FFFF), is: organization) {
                return .found(membership)
            }
            next = nextOfUser[membership]
            looked &+= 1
        }
        return .absent
    }

    func owner(of membership: Int) -> (user: Int, organization: Int) {
        let owner = rows[membership, ownerWord]
        return (Int(owner >> 32), Int(owner & 0xFFFF_FFFF))
    }

    /// Whether membership `membership` holds permission bit `bit`.
    @inline(always)
    func holds(_ membership: Int, _ bit: Int) -> Bool {
        rows.test(row: membership, word: effectiveWord, bit: bit)
    }

    func hasDirect(_ membership: Int, _ bit: Int) -> Bool {
        rows.test(row: membership, word: directWord, bit: bit)
    }

    func hasRole(_ membership: Int, _ role: Int) -> Bool {
        rows.test(row: membership, word: roleWord, bit: role)
    }

    /// The words of one part of a membership's row.
    func words(_ membership: Int, from word: Int, count: Int) -> [UInt64] {
        (0..<count).map { rows[membership, word + $0] }
    }

    /// Calls `body` with each membership of `user`.
    func forEachMembership(ofUser user: Int, _ body: (Int) -> Void) {
        var next = userFirst[user]
        while next != IndexStorage.none {
            body(Int(next))
            next = nextOfUser[Int(next)]
        }
    }

    // MARK: Changes

    mutating func addUser(_ id: String) {
        withBytes(id) { addUser($0) }
    }

    mutating func addUser(_ id: UnsafeRawBufferPointer) {
        let slot = users.intern(id)
        if slot == userKnown.count {
            userKnown.append(true)
            userFirst.append(IndexStorage.none)
            liveUsers += 1
        } else if !userKnown[slot] {
            userKnown[slot] = true
            liveUsers += 1
        }
    }

    /// Removes a user and its memberships.
    mutating func removeUser(_ id: String) {
        guard let slot = user(id) else { return }
        while userFirst[slot] != IndexStorage.none {
            removeMembership(Int(userFirst[slot]))
        }
        userKnown[slot] = false
        liveUsers -= 1
    }

    mutating func addOrganization(_ code: String) {
        withBytes(code) { addOrganization($0) }
    }

    mutating func addOrganization(_ code: UnsafeRawBufferPointer) {
        let slot = organizations.intern(code)
        if slot == organizationKnown.count {
            organizationKnown.append(true)
            members.append(MemberList())
            liveOrganizations += 1
        } else if !organizationKnown[slot] {
            organizationKnown[slot] = true
            liveOrganizations += 1
        }
    }

    /// Removes an organization and the memberships in it. A declared organization stays
    /// known (the policies make it exist), with no members.
    mutating func removeOrganization(_ code: String, declared: Bool) {
        guard let slot = organization(code) else { return }
        var doomed: [Int] = []
        members[slot].forEach(from: (0, 0)) { doomed.append(Int($0)); return true }
        for membership in doomed { removeMembership(membership) }
        guard !declared else { return }
        organizationKnown[slot] = false
        liveOrganizations -= 1
    }

    /// Adds the membership of a known user in a known organization (ignored otherwise);
    /// returns it. `sorted: false` leaves the organization's member list to `sortMembers()`.
    @discardableResult
    mutating func addMembership(user id: String, organization code: String, sorted: Bool = true) -> Int? {
        guard let user = user(id), let organization = organization(code) else { return nil }
        return addMembership(user: user, organization: organization, sorted: sorted)
    }

    /// Adds the membership of user slot `user` in organization slot `organization` for a
    /// full build: while the rows arrive grouped by user in increasing slot order (so a
    /// duplicate can only be among the current user's few memberships), entering them in
    /// the pair table waits for `indexMemberships()`, which does it in table order instead
    /// of one cache miss per row. Leaves the member lists to `sortMembers()`.
    mutating func appendMembership(user: Int, organization: Int) {
        let key = IndexStorage.owner(user, organization)
        if deferringIndex {
            let lastUser = firstUnindexed == rows.rowCount ? -1 : Int(rows[rows.rowCount - 1, ownerWord] >> 32)
            var duplicate = false
            if user == lastUser {
                forEachMembership(ofUser: user) { duplicate = duplicate || rows[$0, ownerWord] == key }
            }
            if user > lastUser || (user == lastUser && !duplicate) {
                _ = rows.appendRow(first: key)
                nextOfUser.append(userFirst[user])
                userFirst[user] = UInt32(rows.rowCount - 1)
                liveMemberships += 1
                return
            }
            indexMemberships()
        }
        addMembership(user: user, organization: organization, sorted: false)
    }

    /// Enters the memberships `appendMembership` deferred in the pair table, in the order of
    /// their home slots (a counting sort by the top bits), so that the writes into a table
    /// of many megabytes move forward through it. Lookups need it done first.
    mutating func indexMemberships() {
        guard deferringIndex else { return }
        deferringIndex = false
        let pending = firstUnindexed..<rows.rowCount
        firstUnindexed = rows.rowCount
        guard !pending.isEmpty else { return }
        // The table is still empty: size it for every row at once.
        var capacity = max(16, slots.count)
        while liveMemberships * 4 > capacity * 3 { capacity <<= 1 }
        if capacity != slots.count {
            slots = ChunkedArray(repeating: 0, count: capacity)
            slotMask = capacity - 1
        }
        let homes = pending.map { UInt32(home(rows[$0, ownerWord])) }
        let bucketShift = max(0, (slotMask + 1).trailingZeroBitCount - 12)
        var starts = [Int](repeating: 0, count: (slotMask >> bucketShift) + 2)
        for home in homes { starts[Int(home) >> bucketShift + 1] += 1 }
        for bucket in 1..<starts.count { starts[bucket] += starts[bucket - 1] }
        // Home slot << 32 | membership, sorted by bucket.
        var order = [UInt64](repeating: 0, count: pending.count)
        for (offset, home) in homes.enumerated() {
            let bucket = Int(home) >> bucketShift
            order[starts[bucket]] = UInt64(home) << 32 | UInt64(pending.lowerBound + offset)
            starts[bucket] += 1
        }
        for entry in order {
            var index = Int(entry >> 32)
            while slots[index] != 0 { index = (index + 1) & slotMask }
            slots[index] = UInt32(truncatingIfNeeded: entry) + 1
        }
    }

    /// Adds the membership of user slot `user` in organization slot `organization`.
    @discardableResult
    mutating func addMembership(user: Int, organization: Int, sorted: Bool = true) -> Int {
        indexMemberships()
        if let existing = membership(user: user, organization: organization) { return existing }
        if (liveMemberships + 1) * 4 > slots.count * 3 { growSlots() }
        let key = IndexStorage.owner(user, organization)
        let membership = rows.appendRow(first: key)
        nextOfUser.append(userFirst[user])
        userFirst[user] = UInt32(membership)
        var index = home(key)
        while slots[index] != 0 { index = (index + 1) & slotMask }
        slots[index] = UInt32(membership + 1)
        liveMemberships += 1
        if sorted {
            members[organization].insert(UInt32(membership), isBefore: isBefore(membership))
        }
        return membership
    }

    mutating func removeMembership(user id: String, organization code: String) {
        guard let user = user(id), let organization = organization(code),
              let membership = membership(user: user, organization: organization) else { return }
        removeMembership(membership)
    }

    private mutating func removeMembership(_ membership: Int) {
        let (user, organization) = owner(of: membership)
        members[organization].remove(UInt32(membership), isBefore: isBefore(membership))
        if userFirst[user] == UInt32(membership) {
            userFirst[user] = nextOfUser[membership]
        } else {
            var previous = Int(userFirst[user])
            while nextOfUser[previous] != UInt32(membership) { previous = Int(nextOfUser[previous]) }
            nextOfUser[previous] = nextOfUser[membership]
        }
        deleteSlot(of: membership)
        rows[membership, ownerWord] = IndexStorage.deadOwner
        liveMemberships -= 1
    }

    /// Backward-shift deletion: later entries of the probe run move up, no tombstones.
    private mutating func deleteSlot(of membership: Int) {
        var hole = home(rows[membership, ownerWord])
        while slots[hole] != UInt32(membership + 1) { hole = (hole + 1) & slotMask }
        slots[hole] = 0
        var index = hole
        while true {
            index = (index + 1) & slotMask
            let slot = slots[index]
            if slot == 0 { return }
            let wanted = home(rows[Int(slot - 1), ownerWord])
            // The entry may move to the hole when its home is not inside (hole, index].
            let stays = hole <= index ? (wanted > hole && wanted <= index) : (wanted > hole || wanted <= index)
            if !stays {
                slots[hole] = slot
                slots[index] = 0
                hole = index
            }
        }
    }

    private mutating func growSlots() {
        let capacity = slots.count * 2
        slots = ChunkedArray(repeating: 0, count: capacity)
        slotMask = capacity - 1
        for membership in 0..<rows.rowCount where rows[membership, ownerWord] != IndexStorage.deadOwner {
            var index = home(rows[membership, ownerWord])
            while slots[index] != 0 { index = (index + 1) & slotMask }
            slots[index] = UInt32(membership + 1)
        }
    }

    /// Assigns or unassigns a role, and recomputes the membership's effective bits (unknown
    /// roles grant nothing and are ignored).
    mutating func setRole(user: String, organization: String, role: String, to value: Bool) {
        guard let membership = membership(user, organization) else { return }
        withBytes(role) { setRole(membership: membership, role: $0, to: value) }
        recomputeEffective(membership)
    }

    /// Sets or clears a role's bit, leaving the effective bits to `recomputeEffective(_:)`
    /// (a full build computes them once per membership).
    mutating func setRole(membership: Int, role: UnsafeRawBufferPointer, to value: Bool) {
        guard let roleBit = policy.roleTable.find(role) else { return }
        rows.set(row: membership, word: roleWord, bit: roleBit, to: value)
    }

    /// Grants or revokes a direct permission, and recomputes the membership's effective bits
    /// (unknown permissions are ignored).
    mutating func setDirect(user: String, organization: String, permission: String, to value: Bool) {
        guard let membership = membership(user, organization) else { return }
        withBytes(permission) { setDirect(membership: membership, permission: $0, to: value) }
        recomputeEffective(membership)
    }

    /// Sets or clears a direct permission's bit, leaving the effective bits to
    /// `recomputeEffective(_:)`.
    mutating func setDirect(membership: Int, permission: UnsafeRawBufferPointer, to value: Bool) {
        guard let bit = policy.permissionTable.find(permission) else { return }
        rows.set(row: membership, word: directWord, bit: bit, to: value)
    }

    /// The membership of a known user in a known organization, trying the live memberships
    /// from `guess` on (up to four) before hashing: rows fed in (user, organization) order
    /// find theirs without a random access into the tables.
    func membership(_ user: UnsafeRawBufferPointer, _ organization: UnsafeRawBufferPointer, guess: Int) -> Int? {
        for candidate in guess..<min(guess + 4, rows.rowCount)
        where membership(candidate, isOf: user, in: organization) {
            return candidate
        }
        return membership(user, organization)
    }

    /// The membership of a known user in a known organization.
    func membership(_ user: String, _ organization: String) -> Int? {
        withBytes(user) { user in withBytes(organization) { membership(user, $0) } }
    }

    /// The membership of a known user in a known organization.
    func membership(_ user: UnsafeRawBufferPointer, _ organization: UnsafeRawBufferPointer) -> Int? {
        guard let user = self.user(user), let organization = self.organization(organization) else { return nil }
        return membership(user: user, organization: organization)
    }

    /// Effective = OR of the assigned roles' bitsets | the direct bits (no allocation).
    mutating func recomputeEffective(_ membership: Int) {
        let width = policy.permissionWords
        for word in 0..<width {
            var value = rows[membership, directWord + word]
            for roleWordIndex in 0..<policy.roleWords {
                var roles = rows[membership, roleWord + roleWordIndex]
                while roles != 0 {
                    let role = roleWordIndex * 64 + roles.trailingZeroBitCount
                    value |= policy.roleGrants[role * width + word]
                    roles &= roles - 1
                }
            }
            rows[membership, effectiveWord + word] = value
        }
    }

    // MARK: Ordering by user id

    /// A predicate: is a membership's user id ordered before the user of `membership`?
    private func isBefore(_ membership: Int) -> (UInt32) -> Bool {
        let user = owner(of: membership).user
        // Capture only the parts the predicate reads, so that the member list being
        // changed is not shared with the closure (which would force a copy).
        let rows = self.rows
        let users = self.users
        return { other in
            let otherUser = Int(rows[Int(other), 0] >> 32)
            return users.withKey(user) { users.compare(otherUser, $0) < 0 }
        }
    }

    /// Builds every organization's member list at once, sorted by user id (full builds).
    mutating func sortMembers() {
        let rank = userRanks()
        let rows = self.rows
        /// The position of a membership's user in id order.
        func position(_ membership: UInt32) -> UInt32 {
            let user = UInt32(truncatingIfNeeded: rows[Int(membership), 0] >> 32)
            return rank?[Int(user)] ?? user
        }
        var lists = [[UInt32]](repeating: [], count: organizations.count)
        for membership in 0..<rows.rowCount where rows[membership, ownerWord] != IndexStorage.deadOwner {
            let (_, organization) = owner(of: membership)
            lists[organization].append(UInt32(membership))
        }
        for organization in 0..<lists.count {
            let isOrdered = { (a: UInt32, b: UInt32) in position(a) < position(b) }
            // Rows fed in (user, organization) order arrive sorted already.
            if !zip(lists[organization], lists[organization].dropFirst()).allSatisfy(isOrdered) {
                lists[organization].sort(by: isOrdered)
            }
            members[organization] = MemberList(sorted: lists[organization])
        }
    }

    /// Each user's position in id order, or nil when that is the user's slot (users were
    /// interned in id order, as the store feeds them).
    private func userRanks() -> [UInt32]? {
        let inOrder = users.count < 2 || (1..<users.count).allSatisfy { user in
            users.withKey(user) { users.compare(user - 1, $0) < 0 }
        }
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
            return users.withKey(Int(b.user)) { users.compare(Int(a.user), $0) < 0 }
        }
        var rank = [UInt32](repeating: 0, count: users.count)
        for (position, entry) in order.enumerated() { rank[Int(entry.user)] = UInt32(position) }
        return rank
    }

    /// Bytes held by the index's storage.
    var allocatedBytes: Int {
        var total = users.allocatedBytes + organizations.allocatedBytes
        total += userKnown.allocatedBytes + userFirst.allocatedBytes + organizationKnown.allocatedBytes
        total += nextOfUser.allocatedBytes + rows.allocatedBytes + slots.allocatedBytes
        for organization in 0..<members.count { total += members[organization].allocatedBytes }
        return total
    }
}
