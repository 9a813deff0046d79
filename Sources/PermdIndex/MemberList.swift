/// The memberships of one organization, sorted by user id, in chunks of at most
/// `maxChunk` entries: an insert or removal copies one small chunk, never the whole list
/// (an organization may hold a million members).
struct MemberList: Sendable {
    #if DEBUG
    static let maxChunk = 8
    #else
    static let maxChunk = 512
    #endif

    private(set) var chunks: [[UInt32]] = []
    private(set) var count = 0

    init() {}

    /// A list of already sorted memberships.
    init(sorted members: [UInt32]) {
        var start = 0
        while start < members.count {
            let end = min(start + MemberList.maxChunk, members.count)
            chunks.append(Array(members[start..<end]))
            start = end
        }
        count = members.count
    }

    /// The first position whose membership is not ordered before the key.
    /// - Parameter isBefore: whether a membership is ordered before the key.
    func lowerBound(_ isBefore: (UInt32) -> Bool) -> (chunk: Int, offset: Int) {
        var low = 0
        var high = chunks.count
        while low < high {
            let mid = (low + high) / 2
            if isBefore(chunks[mid][chunks[mid].count - 1]) { low = mid + 1 } else { high = mid }
        }
        guard low < chunks.count else { return (chunks.count, 0) }
        let chunk = chunks[low]
        var first = 0
        var last = chunk.count
        while first < last {
            let mid = (first + last) / 2
            if isBefore(chunk[mid]) { first = mid + 1 } else { last = mid }
        }
        return (low, first)
    }

    /// Inserts `member` at its sorted place.
    mutating func insert(_ member: UInt32, isBefore: (UInt32) -> Bool) {
        count += 1
        guard !chunks.isEmpty else {
            chunks.append([member])
            return
        }
        var (chunk, offset) = lowerBound(isBefore)
        if chunk == chunks.count {
            chunk -= 1
            offset = chunks[chunk].count
        }
        chunks[chunk].insert(member, at: offset)
        if chunks[chunk].count > MemberList.maxChunk {
            let half = chunks[chunk].count / 2
            let upper = Array(chunks[chunk][half...])
            chunks[chunk].removeSubrange(half...)
            chunks.insert(upper, at: chunk + 1)
        }
    }

    /// Inserts `members`, sorted by `isOrdered` and none of them in the list yet, at their
    /// sorted places: each chunk that receives some is rebuilt once (split when it outgrows
    /// `maxChunk`), and the others stay shared with earlier snapshots. For a batch of many,
    /// this walks the list once instead of searching it from the top for each member.
    mutating func insert(sorted members: [UInt32], by isOrdered: (UInt32, UInt32) -> Bool) {
        guard !members.isEmpty else { return }
        guard !chunks.isEmpty else {
            self = MemberList(sorted: members)
            return
        }
        count += members.count
        var merged: [[UInt32]] = []
        merged.reserveCapacity(chunks.count + 2 * members.count / MemberList.maxChunk + 1)
        var next = 0
        var untouched = 0
        while next < members.count {
            // The chunk the next member goes into: the first whose last entry is not before
            // it; past the end, the last chunk, which then takes every member left.
            var low = untouched
            var high = chunks.count
            while low < high {
                let mid = (low + high) / 2
                if isOrdered(chunks[mid][chunks[mid].count - 1], members[next]) { low = mid + 1 } else { high = mid }
            }
            let target = min(low, chunks.count - 1)
            merged.append(contentsOf: chunks[untouched..<target])
            var end = next + 1
            if target == chunks.count - 1 {
                end = members.count
            } else {
                let last = chunks[target][chunks[target].count - 1]
                while end < members.count && isOrdered(members[end], last) { end += 1 }
            }
            MemberList.merge(chunks[target], members[next..<end], into: &merged, by: isOrdered)
            next = end
            untouched = target + 1
        }
        merged.append(contentsOf: chunks[untouched...])
        chunks = merged
    }

    /// Appends to `lists` the chunk `chunk` with `members` merged in (sorted, each one found
    /// by a binary search from the last one's place), cut into pieces of at most `maxChunk`.
    private static func merge(_ chunk: [UInt32], _ members: ArraySlice<UInt32>, into lists: inout [[UInt32]],
                              by isOrdered: (UInt32, UInt32) -> Bool) {
        var merged: [UInt32] = []
        merged.reserveCapacity(chunk.count + members.count)
        var position = 0
        for member in members {
            var low = position
            var high = chunk.count
            while low < high {
                let mid = (low + high) / 2
                if isOrdered(chunk[mid], member) { low = mid + 1 } else { high = mid }
            }
            merged.append(contentsOf: chunk[position..<low])
            merged.append(member)
            position = low
        }
        merged.append(contentsOf: chunk[position...])
        let pieces = (merged.count + maxChunk - 1) / maxChunk
        guard pieces > 1 else {
            lists.append(merged)
            return
        }
        for piece in 0..<pieces {
            lists.append(Array(merged[piece * merged.count / pieces..<(piece + 1) * merged.count / pieces]))
        }
    }

    /// Removes `member`, which sits at or after the first position not before its key.
    mutating func remove(_ member: UInt32, isBefore: (UInt32) -> Bool) {
        var (chunk, offset) = lowerBound(isBefore)
        while chunk < chunks.count {
            if offset < chunks[chunk].count {
                if chunks[chunk][offset] == member {
                    chunks[chunk].remove(at: offset)
                    if chunks[chunk].isEmpty { chunks.remove(at: chunk) }
                    count -= 1
                    return
                }
                offset += 1
            } else {
                chunk += 1
                offset = 0
            }
        }
    }

    /// Calls `body` with each membership from position (chunk, offset) on, in order,
    /// until it returns false.
    func forEach(from start: (chunk: Int, offset: Int), _ body: (UInt32) -> Bool) {
        var offset = start.offset
        for chunk in chunks[start.chunk...] {
            for member in chunk[offset...] where !body(member) { return }
            offset = 0
        }
    }

    /// Bytes held.
    var allocatedBytes: Int {
        chunks.reduce(0) { $0 + $1.capacity * 4 } + chunks.capacity * MemoryLayout<[UInt32]>.stride
    }
}
