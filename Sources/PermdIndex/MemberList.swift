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
