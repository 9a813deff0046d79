import PermdCore

/// The state side of an index, as dense integers: interned users and organizations,
/// memberships with their bit rows, and three ways to reach a membership — the membership
/// table ((user, organization) → membership), the per-user membership lists, and each
/// organization's member list sorted by user id.
///
/// A value type over chunked storage: copying it is cheap, and mutating the copy copies
/// only the chunks touched. Membership and key ids are never reused before the next full
/// build: a removed membership is marked dead, a removed user or organization is marked
/// unknown (and known again when re-added). Changes are in `IndexStorage+Changes.swift`,
/// what only a full build does in `IndexStorage+FullBuild.swift`.
struct IndexStorage: Sendable {
    /// A dead membership's owner pair.
    static let deadOwner = UInt64.max

    /// Row layout: the owner pair (user << 32 | organization, or `deadOwner`), effective
    /// permissions, then assigned roles (direct permissions are in `directGrants`, which
    /// most memberships are not in). The owner sits in the row so
    /// that a CHECK confirms the membership and tests its bit in one place. The first two
    /// are constants, not stored, so that a CHECK does not load them.
    static var ownerWord: Int { 0 }
    static var effectiveWord: Int { 1 }

    let policy: CompiledPolicy
    let roleWord: Int

    var users: IdentifierTable
    var organizations: IdentifierTable
    /// Per organization slot: its members, sorted by user id.
    var organizationMembers = ChunkedArray<MemberList>()
    /// One row per membership, live or dead.
    var rows: WordRows
    var membershipTable: MembershipTable
    var membershipsOfUser = UserMembershipLists()
    /// The direct permissions of the memberships that have any.
    var directGrants: DirectGrants
    var liveMemberships = 0
    /// Memberships from this one on are not in the membership table yet (see `appendMembership`).
    var firstUnindexed = 0
    /// Whether `appendMembership` may still defer the membership table: only while it is empty.
    var deferringIndex = true

    init(policy: CompiledPolicy, expectedUsers: Int = 0, expectedOrganizations: Int = 0,
         expectedMemberships: Int = 0) {
        self.policy = policy
        roleWord = 1 + policy.permissionWords
        rows = WordRows(stride: 1 + policy.permissionWords + policy.roleWords)
        directGrants = DirectGrants(width: policy.permissionWords)
        users = IdentifierTable(expected: expectedUsers)
        organizations = IdentifierTable(expected: expectedOrganizations)
        membershipTable = MembershipTable(expected: expectedMemberships)
    }

    /// The owner pair of a membership, as its row holds it.
    @inline(always)
    static func owner(user: Int, organization: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: user) << 32 | UInt64(truncatingIfNeeded: organization)
    }

    // MARK: Lookups

    /// The membership of user slot `user` in organization slot `organization`, from the
    /// membership table.
    @inline(always)
    func membershipSlot(userSlot user: Int, organizationSlot organization: Int) -> Int? {
        assert(!deferringIndex || firstUnindexed == rows.rowCount, "indexMemberships() first")
        return membershipTable.membership(owner: IndexStorage.owner(user: user, organization: organization), rows: rows)
    }

    /// The membership of known user `user` in known organization `organization`.
    func membershipSlot(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) -> Int? {
        guard let user = users.slot(user), let organization = organizations.slot(organization) else { return nil }
        return membershipSlot(userSlot: user, organizationSlot: organization)
    }

    /// The membership of known user `user` in known organization `organization`.
    func membershipSlot(user: String, organization: String) -> Int? {
        withBytes(user) { user in withBytes(organization) { membershipSlot(user: user, organization: $0) } }
    }

    /// The membership of known user `user` in known organization `organization`, trying the
    /// memberships from `guess` on (up to four) before hashing: rows fed in (user,
    /// organization) order find theirs without a random access into the tables.
    func membershipSlot(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer, guess: Int) -> Int? {
        for candidate in guess..<min(guess + 4, rows.rowCount)
        where isMembership(candidate, ofUser: user, inOrganization: organization) {
            return candidate
        }
        return membershipSlot(user: user, organization: organization)
    }

    /// Whether membership `membership` is live and belongs to known user `user` in known
    /// organization `organization` (comparing keys, no hashing).
    func isMembership(_ membership: Int, ofUser user: UnsafeRawBufferPointer,
                      inOrganization organization: UnsafeRawBufferPointer) -> Bool {
        let owner = rows[membership, IndexStorage.ownerWord]
        guard owner != IndexStorage.deadOwner else { return false }
        let (userSlot, organizationSlot) = (Int(owner >> 32), Int(owner & 0xFFFF_FFFF))
        return users.keys.key(userSlot, is: user) && organizations.keys.key(organizationSlot, is: organization)
            && users.isKnown(userSlot) && organizations.isKnown(organizationSlot)
    }

    /// The user and organization slots of membership `membership`.
    func owner(of membership: Int) -> (user: Int, organization: Int) {
        let owner = rows[membership, IndexStorage.ownerWord]
        return (Int(owner >> 32), Int(owner & 0xFFFF_FFFF))
    }

    /// The members of organization slot `organization`, sorted by user id.
    func membersOfOrganization(_ organization: Int) -> MemberList {
        organizationMembers[organization]
    }

    /// Calls `body` with each membership of user slot `user`.
    func forEachMembershipOfUser(_ user: Int, _ body: (Int) -> Void) {
        membershipsOfUser.forEachMembership(ofUser: user, body)
    }

    // MARK: Bits of a membership

    /// Whether membership `membership` holds permission bit `bit` (by a role or directly).
    @inline(always)
    func holds(_ membership: Int, _ bit: Int) -> Bool {
        rows.test(row: membership, word: IndexStorage.effectiveWord, bit: bit)
    }

    /// Whether membership `membership` is granted permission bit `bit` directly.
    func hasDirect(_ membership: Int, _ bit: Int) -> Bool {
        directGrants.test(membership, bit: bit)
    }

    /// Whether membership `membership` is assigned role bit `role`.
    func hasRole(_ membership: Int, _ role: Int) -> Bool {
        rows.test(row: membership, word: roleWord, bit: role)
    }

    /// The words of one part of a membership's row.
    func words(_ membership: Int, from word: Int, count: Int) -> [UInt64] {
        (0..<count).map { rows[membership, word + $0] }
    }

    /// Bytes held by the index's storage.
    var allocatedBytes: Int {
        var total = users.allocatedBytes + organizations.allocatedBytes + membershipsOfUser.allocatedBytes
        total += rows.allocatedBytes + membershipTable.allocatedBytes + directGrants.allocatedBytes
        for organization in 0..<organizationMembers.count { total += organizationMembers[organization].allocatedBytes }
        return total
    }
}
