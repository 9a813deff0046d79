import PermdPolicy

/// The policy side of an index: every permission key as a dense bit (in sorted key order,
/// so iterating bits yields sorted keys), every role as a bit (sorted by key) and as the
/// bitset of the permissions it grants, taken from `PolicySet.grantsByRole` — the one
/// place role semantics live.
final class CompiledPolicy: Sendable {
    /// Sorted permission keys; a key's index is its bit.
    let permissionKeys: [String]
    let permissionTable: PolicyKeyTable
    /// Sorted role keys; a key's index is its role bit.
    let roleKeys: [String]
    let roleTable: PolicyKeyTable
    /// Words of a permission bitset.
    let permissionWords: Int
    /// Words of a role bitset.
    let roleWords: Int
    /// Role `r`'s permission bitset: words `r * permissionWords ..< (r + 1) * permissionWords`.
    let roleGrants: [UInt64]

    init(_ policy: PolicySet) {
        permissionKeys = policy.permissions.map(\.key)
        permissionTable = PolicyKeyTable(permissionKeys)
        roleKeys = policy.roles.map(\.key)
        roleTable = PolicyKeyTable(roleKeys)
        permissionWords = max(1, (permissionKeys.count + 63) / 64)
        roleWords = max(1, (roleKeys.count + 63) / 64)
        var grants = [UInt64](repeating: 0, count: roleKeys.count * permissionWords)
        for (role, key) in roleKeys.enumerated() {
            for permission in policy.grantsByRole[key] ?? [] {
                guard let bit = permissionTable.find(permission) else { continue }
                grants[role * permissionWords + bit >> 6] |= 1 << UInt64(bit & 63)
            }
        }
        roleGrants = grants
    }

    /// Whether role `role` grants permission bit `bit`.
    func role(_ role: Int, grants bit: Int) -> Bool {
        roleGrants[role * permissionWords + bit >> 6] & (1 << UInt64(bit & 63)) != 0
    }
}

/// Calls `body` with the index of each set bit of `words`, in increasing order.
@inline(__always)
func forEachSetBit(_ words: some Sequence<UInt64>, _ body: (Int) -> Void) {
    for (index, word) in words.enumerated() {
        var rest = word
        while rest != 0 {
            body(index * 64 + rest.trailingZeroBitCount)
            rest &= rest - 1
        }
    }
}
