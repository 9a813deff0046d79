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
    private var chunks = ChunkList<UInt64>()
    private(set) var rowCount = 0

    init(stride: Int) {
        self.stride = stride
    }

    /// Adds a row whose first word is `first` and the others zero; returns its index.
    mutating func appendRow(first: UInt64) -> Int {
        if rowCount & Self.rowsMask == 0 { chunks.appendChunk(capacity: stride << Self.rowsShift) }
        chunks.appendToLast(first)
        chunks.appendToLast(repeating: 0, count: stride - 1)
        rowCount += 1
        return rowCount - 1
    }

    /// The address of word 0 of row `row`, for reading.
    @inline(always)
    func row(_ row: Int) -> UnsafeMutablePointer<UInt64> {
        assert(row >= 0 && row < rowCount)
        return chunks.base(row &>> Self.rowsShift) + (row & Self.rowsMask) &* stride
    }

    /// Word `word` of row `row`.
    subscript(row: Int, word: Int) -> UInt64 {
        @inline(always) get { self.row(row)[word] }
        @inline(__always) _modify {
            assert(row >= 0 && row < rowCount && word < stride)
            let base = chunks.uniqueBase(row &>> Self.rowsShift)
            yield &base[(row & Self.rowsMask) &* stride &+ word]
        }
    }

    /// Whether bit `bit` of the words starting at `word` in row `row` is set.
    @inline(always)
    func test(row: Int, word: Int, bit: Int) -> Bool {
        self.row(row)[word &+ (bit &>> 6)] & (1 &<< UInt64(bit & 63)) != 0
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
    var allocatedBytes: Int { chunks.allocatedBytes }
}
