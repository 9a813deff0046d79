/// The membership table: (user, organization) → membership, by open addressing over
/// membership id + 1 (0 = empty).
///
/// The key of an entry is not stored in the table: it is the owner pair in word
/// `IndexStorage.ownerWord` of the membership's row, so that a hit confirms the membership
/// and lands on the row a CHECK reads next. Every call that looks at keys takes the rows.
struct MembershipTable: Sendable {
    private var slots: ChunkedArray<UInt32>
    private var mask: Int

    /// A table sized for `expected` memberships without growing.
    init(expected: Int = 0) {
        var capacity = 16
        while capacity < expected * 2 { capacity <<= 1 }
        slots = ChunkedArray(repeating: 0, count: capacity)
        mask = capacity - 1
    }

    @inline(always)
    private func home(_ owner: UInt64) -> Int {
        var hash = owner &* 0x9E37_79B9_7F4A_7C15
        hash ^= hash &>> 31
        return Int(truncatingIfNeeded: hash) & mask
    }

    /// The membership whose owner pair is `owner`.
    @inline(always)
    func membership(owner: UInt64, rows: WordRows) -> Int? {
        var index = home(owner)
        while true {
            let slot = slots[index]
            if slot == 0 { return nil }
            let membership = Int(truncatingIfNeeded: slot &- 1)
            if rows[membership, IndexStorage.ownerWord] == owner { return membership }
            index = (index &+ 1) & mask
        }
    }

    /// Makes room for `entries` memberships at a load of at most 3/4, re-entering the live
    /// memberships of `rows` when the table grows.
    mutating func reserve(entries: Int, rows: WordRows) {
        guard emptied(toHold: entries) else { return }
        for membership in 0..<rows.rowCount where rows[membership, IndexStorage.ownerWord] != IndexStorage.deadOwner {
            insert(membership, owner: rows[membership, IndexStorage.ownerWord])
        }
    }

    /// Replaces the table with an empty one of twice the size or more when `entries` would
    /// load it over 3/4; returns whether it did.
    private mutating func emptied(toHold entries: Int) -> Bool {
        guard entries * 4 > slots.count * 3 else { return false }
        var capacity = slots.count * 2
        while entries * 4 > capacity * 3 { capacity <<= 1 }
        slots = ChunkedArray(repeating: 0, count: capacity)
        mask = capacity - 1
        return true
    }

    /// Enters `membership`, owned by `owner` (call `reserve` first).
    mutating func insert(_ membership: Int, owner: UInt64) {
        var index = home(owner)
        while slots[index] != 0 { index = (index + 1) & mask }
        slots[index] = UInt32(truncatingIfNeeded: membership + 1)
    }

    /// Enters the memberships `pending` of `rows` into an empty table, sized for `entries`,
    /// in the order of their home slots (a counting sort by the top bits), so that the
    /// writes into a table of many megabytes move forward through it.
    mutating func insertInHomeOrder(_ pending: Range<Int>, rows: WordRows, entries: Int) {
        _ = emptied(toHold: entries)
        let homes = pending.map { UInt32(home(rows[$0, IndexStorage.ownerWord])) }
        let bucketShift = max(0, (mask + 1).trailingZeroBitCount - 12)
        var starts = [Int](repeating: 0, count: (mask >> bucketShift) + 2)
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
            while slots[index] != 0 { index = (index + 1) & mask }
            slots[index] = UInt32(truncatingIfNeeded: entry) + 1
        }
    }

    /// Takes `membership` out, before its row loses its owner pair. Backward-shift
    /// deletion: later entries of the probe run move up, no tombstones.
    mutating func remove(_ membership: Int, rows: WordRows) {
        var hole = home(rows[membership, IndexStorage.ownerWord])
        while slots[hole] != UInt32(membership + 1) { hole = (hole + 1) & mask }
        slots[hole] = 0
        var index = hole
        while true {
            index = (index + 1) & mask
            let slot = slots[index]
            if slot == 0 { return }
            let wanted = home(rows[Int(slot - 1), IndexStorage.ownerWord])
            // The entry may move to the hole when its home is not inside (hole, index].
            let stays = hole <= index ? (wanted > hole && wanted <= index) : (wanted > hole || wanted <= index)
            if !stays {
                slots[hole] = slot
                slots[index] = 0
                hole = index
            }
        }
    }

    /// Bytes held.
    var allocatedBytes: Int { slots.allocatedBytes }
}
