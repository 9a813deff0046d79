/// Each user's memberships, as a list linked through the memberships: the user's first
/// membership, then each membership's next one of the same user (newest first).
///
/// Most users have a handful of memberships, so walking a user's list is how a CHECK
/// finds the membership for a short organization code: no hash of the code and no probe
/// of the membership table.
struct UserMembershipLists: Sendable {
    /// Ends a list.
    static let end = UInt32.max

    /// Per user slot: its first membership, or `end`.
    private var first = ChunkedArray<UInt32>()
    /// Per membership: the next membership of the same user, or `end`.
    private var next = ChunkedArray<UInt32>()

    /// Starts the empty list of the next user slot.
    mutating func appendUser() {
        first.append(UserMembershipLists.end)
    }

    /// Puts `membership`, the newest membership (one past the last), first in `user`'s list.
    mutating func prepend(_ membership: Int, toUser user: Int) {
        assert(membership == next.count, "memberships join the lists in id order")
        next.append(first[user])
        first[user] = UInt32(truncatingIfNeeded: membership)
    }

    /// Takes `membership` out of `user`'s list.
    mutating func remove(_ membership: Int, ofUser user: Int) {
        let id = UInt32(truncatingIfNeeded: membership)
        if first[user] == id {
            first[user] = next[membership]
            return
        }
        var previous = Int(first[user])
        while next[previous] != id { previous = Int(next[previous]) }
        next[previous] = next[membership]
    }

    /// The first membership of `user`'s list, or nil when it is empty.
    func firstMembership(ofUser user: Int) -> Int? {
        let membership = first[user]
        return membership == UserMembershipLists.end ? nil : Int(membership)
    }

    /// Calls `body` with each membership of `user`.
    func forEachMembership(ofUser user: Int, _ body: (Int) -> Void) {
        var membership = first[user]
        while membership != UserMembershipLists.end {
            body(Int(membership))
            membership = next[Int(membership)]
        }
    }

    /// What searching a user's list for an organization found.
    enum Search {
        case found(Int)
        /// The user has no membership there.
        case absent
        /// The user has more memberships than the search looks at: use the membership table.
        case tooMany
    }

    /// The membership of user slot `user` in the organization whose code has the short-key
    /// record `organization` (see `keyRecord`), comparing it with the record of each
    /// membership's organization (read from the owner word of its row, in `rows`, through
    /// `organizations`). Looks at `limit` memberships at most.
    @inline(always)
    func search(user: Int, organizationRecord organization: (UInt64, UInt64), rows: WordRows,
                organizations: ByteTable, limit: Int = 4) -> Search {
        var membership = first[user]
        var looked = 0
        while membership != UserMembershipLists.end {
            if looked == limit { return .tooMany }
            let id = Int(truncatingIfNeeded: membership)
            let owner = rows[id, IndexStorage.ownerWord]
            if organizations.record(Int(truncatingIfNeeded: owner & 0xFFFF_FFFF), is: organization) {
                return .found(id)
            }
            membership = next[id]
            looked &+= 1
        }
        return .absent
    }

    // MARK: The user table's hint

    /// A user's memberships as the user table's slot keeps them (its payload, see
    /// `ByteTable`): membership + 1 in each half, newest in the low half, 0 for none; the low
    /// half `hintOverflow` when the user has more than two. With it a CHECK goes from the
    /// user's slot straight to the rows, instead of through `first` (and `next`).
    static let hintOverflow: UInt64 = 0xFFFF_FFFF

    /// The hint of user slot `user`'s list (see `hintOverflow`).
    func hint(ofUser user: Int) -> UInt64 {
        let newest = first[user]
        guard newest != UserMembershipLists.end else { return 0 }
        let older = next[Int(newest)]
        guard older != UserMembershipLists.end else { return UInt64(newest) + 1 }
        guard next[Int(older)] == UserMembershipLists.end else { return UserMembershipLists.hintOverflow }
        return (UInt64(older) + 1) << 32 | (UInt64(newest) + 1)
    }

    /// The membership the hint of a user with at most two memberships names in the
    /// organization whose code has the short-key record `organization`, or `.tooMany` when the
    /// hint says the user has more (then `search` the list). Both rows' owner words are
    /// loaded before either is compared, so that their cache misses overlap.
    @inline(always)
    static func search(hint: UInt64, organizationRecord organization: (UInt64, UInt64), rows: WordRows,
                       organizations: ByteTable) -> Search {
        let newest = Int(truncatingIfNeeded: hint & 0xFFFF_FFFF) &- 1
        if newest < 0 { return .absent }
        if hint & 0xFFFF_FFFF == hintOverflow { return .tooMany }
        let older = Int(truncatingIfNeeded: hint &>> 32) &- 1
        let newestOwner = rows[newest, IndexStorage.ownerWord]
        let olderOwner = older < 0 ? IndexStorage.deadOwner : rows[older, IndexStorage.ownerWord]
        if organizations.record(Int(truncatingIfNeeded: newestOwner & 0xFFFF_FFFF), is: organization) {
            return .found(newest)
        }
        if older >= 0, organizations.record(Int(truncatingIfNeeded: olderOwner & 0xFFFF_FFFF), is: organization) {
            return .found(older)
        }
        return .absent
    }

    /// Bytes held.
    var allocatedBytes: Int { first.allocatedBytes + next.allocatedBytes }
}
