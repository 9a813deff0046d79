/// A growable array stored as fixed-size chunks, so that a copy shares every chunk and
/// a write afterwards copies only the chunk it touches (plus the small table of chunk
/// references). This is what lets `IndexSnapshot.applying(_:)` derive a new snapshot in
/// microseconds from one holding millions of memberships.
struct ChunkedArray<Element>: Sendable where Element: Sendable {
    /// log2 of the number of elements per chunk. Debug builds use tiny chunks, so that
    /// tests of a few hundred entries already cross chunk boundaries.
    #if DEBUG
    static var chunkShift: Int { 4 }
    #else
    static var chunkShift: Int { 13 }
    #endif
    static var chunkSize: Int { 1 << chunkShift }
    static var chunkMask: Int { chunkSize - 1 }

    private(set) var chunks: [[Element]] = []
    private(set) var count = 0

    init() {}

    /// An array of `count` copies of `value`.
    init(repeating value: Element, count: Int) {
        var remaining = count
        while remaining > 0 {
            let size = min(remaining, Self.chunkSize)
            var chunk = [Element](repeating: value, count: size)
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
            remaining -= size
        }
        self.count = count
    }

    subscript(index: Int) -> Element {
        @inline(__always) get { chunks[index &>> Self.chunkShift][index & Self.chunkMask] }
        @inline(__always) set { chunks[index &>> Self.chunkShift][index & Self.chunkMask] = newValue }
    }

    mutating func append(_ element: Element) {
        if count & Self.chunkMask == 0 {
            var chunk: [Element] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(element)
        count += 1
    }

    /// Bytes held, counting each chunk's full capacity.
    var allocatedBytes: Int {
        chunks.reduce(0) { $0 + $1.capacity * MemoryLayout<Element>.stride }
            + chunks.capacity * MemoryLayout<[Element]>.stride
    }
}

/// Fixed-width bit rows (one per membership) in one chunked word arena: row `r` is the
/// `stride` words starting at `r * stride`. Rows never straddle two chunks.
struct WordRows: Sendable {
    /// log2 of the rows per chunk (tiny in debug builds, as for `ChunkedArray`).
    #if DEBUG
    static var rowsShift: Int { 3 }
    #else
    static var rowsShift: Int { 10 }
    #endif
    static var rowsMask: Int { (1 << rowsShift) - 1 }

    let stride: Int
    private(set) var chunks: [[UInt64]] = []
    private(set) var rowCount = 0

    init(stride: Int) {
        self.stride = stride
    }

    /// Adds a row of zero words; returns its index.
    mutating func appendRow() -> Int {
        if rowCount & Self.rowsMask == 0 {
            var chunk: [UInt64] = []
            chunk.reserveCapacity(stride << Self.rowsShift)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(contentsOf: repeatElement(0, count: stride))
        rowCount += 1
        return rowCount - 1
    }

    /// Word `word` of row `row`.
    subscript(row: Int, word: Int) -> UInt64 {
        @inline(__always) get { chunks[row &>> Self.rowsShift][(row & Self.rowsMask) &* stride &+ word] }
        @inline(__always) set { chunks[row &>> Self.rowsShift][(row & Self.rowsMask) &* stride &+ word] = newValue }
    }

    /// Whether bit `bit` of the words starting at `word` in row `row` is set.
    @inline(__always)
    func test(row: Int, word: Int, bit: Int) -> Bool {
        self[row, word &+ (bit &>> 6)] & (1 &<< UInt64(bit & 63)) != 0
    }

    mutating func set(row: Int, word: Int, bit: Int, to value: Bool) {
        let mask: UInt64 = 1 &<< UInt64(bit & 63)
        if value {
            self[row, word + bit >> 6] |= mask
        } else {
            self[row, word + bit >> 6] &= ~mask
        }
    }

    /// Bytes held, counting each chunk's full capacity.
    var allocatedBytes: Int {
        chunks.reduce(0) { $0 + $1.capacity * 8 } + chunks.capacity * MemoryLayout<[UInt64]>.stride
    }
}
