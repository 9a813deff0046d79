/// The direct permissions of the memberships that have any, apart from the memberships'
/// rows: membership → a row of permission words, by open addressing over direct row + 1
/// (0 = empty), the membership id in word 0 of its direct row (the table stores no key).
///
/// Why apart: most memberships have no direct grant (roles grant what they hold), and a
/// CHECK reads only the effective words, so `permissionWords` words per membership in
/// every row were bytes a CHECK's cache lines carried for nothing (32 of a row's 80 bytes
/// with 200 permissions). A direct row is kept once its bits are cleared (all zero), as a
/// dead membership's row is, until the next full build.
struct DirectGrants: Sendable {
    /// Permission words per row.
    let width: Int
    /// Word 0: the membership; then `width` words of direct permission bits.
    private var rows: WordRows
    private var slots: ChunkedArray<UInt32>
    private var mask: Int

    init(width: Int) {
        self.width = width
        rows = WordRows(stride: 1 + width)
        slots = ChunkedArray(repeating: 0, count: 16)
        mask = 15
    }

    @inline(always)
    private func home(_ membership: Int) -> Int {
        var hash = UInt64(truncatingIfNeeded: membership) &* 0x9E37_79B9_7F4A_7C15
        hash ^= hash &>> 31
        return Int(truncatingIfNeeded: hash) & mask
    }

    /// The direct row of `membership`, or nil when it has never had a direct grant.
    private func row(of membership: Int) -> Int? {
        var index = home(membership)
        while true {
            let slot = slots[index]
            if slot == 0 { return nil }
            let row = Int(slot &- 1)
            if rows[row, 0] == UInt64(truncatingIfNeeded: membership) { return row }
            index = (index &+ 1) & mask
        }
    }

    /// Word `word` of `membership`'s direct permission bits (0 without a direct grant).
    func word(_ membership: Int, _ word: Int) -> UInt64 {
        guard let row = row(of: membership) else { return 0 }
        return rows[row, 1 + word]
    }

    /// Whether `membership` is granted permission bit `bit` directly.
    func test(_ membership: Int, bit: Int) -> Bool {
        guard let row = row(of: membership) else { return false }
        return rows.test(row: row, word: 1, bit: bit)
    }

    /// Sets or clears `membership`'s direct bit `bit`.
    mutating func set(_ membership: Int, bit: Int, to value: Bool) {
        if let row = row(of: membership) {
            rows.set(row: row, word: 1, bit: bit, to: value)
            return
        }
        guard value else { return }
        if (rows.rowCount + 1) * 4 > (mask + 1) * 3 { grow() }
        let row = rows.appendRow(first: UInt64(truncatingIfNeeded: membership))
        place(row)
        rows.set(row: row, word: 1, bit: bit, to: true)
    }

    private mutating func place(_ row: Int) {
        var index = home(Int(truncatingIfNeeded: rows[row, 0]))
        while slots[index] != 0 { index = (index + 1) & mask }
        slots[index] = UInt32(truncatingIfNeeded: row + 1)
    }

    private mutating func grow() {
        let capacity = (mask + 1) * 2
        slots = ChunkedArray(repeating: 0, count: capacity)
        mask = capacity - 1
        for row in 0..<rows.rowCount { place(row) }
    }

    /// Bytes held.
    var allocatedBytes: Int { rows.allocatedBytes + slots.allocatedBytes }
}
