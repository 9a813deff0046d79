/// Role semantics, in one place: includes, `*` and prefix wildcards become plain sets
/// of permission keys.
public enum RoleFlattener {
    /// The permission keys a pattern written in a role matches, in `sortedKeys` order:
    /// `*` matches every key, `prefix*` every key starting with prefix, anything else
    /// the one equal key.
    public static func expand(_ pattern: String, sortedKeys: [String]) -> [String] {
        Array(sortedKeys[matchingRange(pattern, sortedKeys: sortedKeys)])
    }

    /// The indices of `sortedKeys` that a pattern matches (see `expand`): keys sharing a
    /// prefix sit next to each other once sorted, so a binary search finds them.
    public static func matchingRange(_ pattern: String, sortedKeys: [String]) -> Range<Int> {
        if pattern == "*" { return sortedKeys.indices }
        if pattern.hasSuffix("*") {
            let prefix = String(pattern.dropLast())
            let start = sortedKeys.lowerBound(of: prefix)
            var end = start
            while end < sortedKeys.count, sortedKeys[end].hasPrefix(prefix) { end += 1 }
            return start..<end
        }
        let index = sortedKeys.lowerBound(of: pattern)
        return index < sortedKeys.count && sortedKeys[index] == pattern ? index..<(index + 1) : index..<index
    }

    /// Flattens every role: its own patterns expanded, plus the flattened sets of the
    /// roles it includes, transitively. Unknown includes are skipped and cycles cut.
    /// - Returns: role key → sorted permission keys.
    public static func flatten(roles: [RoleDefinition], permissionKeys: [String]) -> [String: [String]] {
        var sortedKeys = permissionKeys.sorted()
        sortedKeys.removeAdjacentDuplicates()
        // Keys by role index, first definition winning; sets as bitsets over `sortedKeys`
        // (one word per 64 keys), so that an include is a few word-wide ORs.
        var indexByKey: [String: Int] = [:]
        var unique: [RoleDefinition] = []
        for role in roles where indexByKey[role.key] == nil {
            indexByKey[role.key] = unique.count
            unique.append(role)
        }
        let words = (sortedKeys.count + 63) / 64
        var done = [[UInt64]?](repeating: nil, count: unique.count)
        var inProgress = [Bool](repeating: false, count: unique.count)

        func visit(_ index: Int) -> [UInt64] {
            if let known = done[index] { return known }
            guard !inProgress[index] else { return [UInt64](repeating: 0, count: words) }
            inProgress[index] = true
            var granted = [UInt64](repeating: 0, count: words)
            for pattern in unique[index].permissions {
                granted.setBits(in: matchingRange(pattern, sortedKeys: sortedKeys))
            }
            for included in unique[index].includes {
                guard let other = indexByKey[included] else { continue }
                let theirs = visit(other)
                for word in 0..<words { granted[word] |= theirs[word] }
            }
            inProgress[index] = false
            done[index] = granted
            return granted
        }

        var result: [String: [String]] = [:]
        result.reserveCapacity(unique.count)
        // In key order, so that even a set with cycles flattens the same way every time.
        for index in unique.indices.sorted(by: { unique[$0].key < unique[$1].key }) {
            let granted = visit(index)
            var keys: [String] = []
            for (word, bits) in granted.enumerated() where bits != 0 {
                var rest = bits
                while rest != 0 {
                    keys.append(sortedKeys[word * 64 + rest.trailingZeroBitCount])
                    rest &= rest - 1
                }
            }
            result[unique[index].key] = keys
        }
        return result
    }

    /// The includes cycles among `roles`, each as the role keys along it, in order,
    /// starting from its smallest key. Each cycle is reported once.
    public static func cycles(roles: [RoleDefinition]) -> [[String]] {
        var byKey: [String: RoleDefinition] = [:]
        for role in roles where byKey[role.key] == nil { byKey[role.key] = role }
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var stack: [String] = []
        var found: [[String]] = []
        var seen: Set<[String]> = []

        func visit(_ key: String) {
            marks[key] = .visiting
            stack.append(key)
            for next in byKey[key]?.includes ?? [] where byKey[next] != nil {
                switch marks[next] {
                case .visiting:
                    let start = stack.lastIndex(of: next)!
                    var cycle = Array(stack[start...])
                    let pivot = cycle.indices.min { cycle[$0] < cycle[$1] }!
                    cycle = Array(cycle[pivot...] + cycle[..<pivot])
                    if seen.insert(cycle).inserted { found.append(cycle) }
                case .done:
                    break
                case nil:
                    visit(next)
                }
            }
            stack.removeLast()
            marks[key] = .done
        }

        for key in byKey.keys.sorted() where marks[key] == nil {
            visit(key)
        }
        return found
    }
}

extension Array where Element == UInt64 {
    /// Sets the bits of `range` in a bitset stored as words.
    fileprivate mutating func setBits(in range: Range<Int>) {
        for bit in range {
            self[bit >> 6] |= 1 << UInt64(bit & 63)
        }
    }
}

extension Array where Element == String {
    /// Removes each element equal to the one before it (in a sorted array: the duplicates).
    fileprivate mutating func removeAdjacentDuplicates() {
        var kept = 0
        for index in indices where index == 0 || self[index] != self[kept - 1] {
            self[kept] = self[index]
            kept += 1
        }
        removeLast(count - kept)
    }

    /// The first index whose key is not less than `key`, in a sorted array.
    fileprivate func lowerBound(of key: String) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if self[mid] < key { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
