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
        let sortedKeys = permissionKeys.sorted()
        var byKey: [String: RoleDefinition] = [:]
        for role in roles where byKey[role.key] == nil { byKey[role.key] = role }
        var done: [String: Set<String>] = [:]
        var inProgress: Set<String> = []

        func visit(_ key: String) -> Set<String> {
            if let known = done[key] { return known }
            guard let role = byKey[key], !inProgress.contains(key) else { return [] }
            inProgress.insert(key)
            var granted: Set<String> = []
            for pattern in role.permissions {
                granted.formUnion(expand(pattern, sortedKeys: sortedKeys))
            }
            for included in role.includes {
                granted.formUnion(visit(included))
            }
            inProgress.remove(key)
            done[key] = granted
            return granted
        }

        var result: [String: [String]] = [:]
        // In key order, so that even a set with cycles flattens the same way every time.
        for key in byKey.keys.sorted() {
            result[key] = visit(key).sorted()
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

extension Array where Element == String {
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
