/// One fixed-capacity block of elements, owned by reference so that snapshots share it.
///
/// `@unchecked Sendable`: a block is written only through a `ChunkList` that holds the
/// only reference to it (checked with `isKnownUniquelyReferenced`); a shared block is
/// read-only.
final class Chunk<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    let capacity: Int
    /// Initialized elements, from the start.
    private(set) var count = 0
    /// The slab the block was carved from, if any.
    private let slab: Slab?

    /// A block of `capacity` elements, carved from `slab` when it has room.
    init(capacity: Int, slab: Slab? = nil) {
        let byteCount = capacity * MemoryLayout<Element>.stride
        if let slab, byteCount >= 64, MemoryLayout<Element>.alignment <= 64, let memory = slab.take(byteCount) {
            base = memory.bindMemory(to: Element.self, capacity: capacity)
            self.slab = slab
        } else {
            base = .allocate(capacity: capacity)
            self.slab = nil
        }
        self.capacity = capacity
    }

    deinit {
        base.deinitialize(count: count)
        if let slab {
            slab.release(UnsafeMutableRawPointer(base), byteCount: capacity * MemoryLayout<Element>.stride)
        } else {
            base.deallocate()
        }
    }

    func append(_ element: Element) {
        (base + count).initialize(to: element)
        count += 1
    }

    func append(repeating element: Element, count added: Int) {
        (base + count).initialize(repeating: element, count: added)
        count += added
    }

    func append(contentsOf elements: UnsafeBufferPointer<Element>) {
        guard let source = elements.baseAddress else { return }
        (base + count).initialize(from: source, count: elements.count)
        count += elements.count
    }

    func copy() -> Chunk {
        let copy = Chunk(capacity: capacity)
        copy.base.initialize(from: base, count: count)
        copy.count = count
        return copy
    }
}

/// The blocks of a chunked container, with a flat table of their base addresses.
///
/// Reads go through the address table (a few kilobytes, so it stays in cache): one load
/// for the block, one for the element, no reference counting and no bounds check in
/// release builds. A write first copies the block when another snapshot shares it.
struct ChunkList<Element>: @unchecked Sendable {
    private var chunks: [Chunk<Element>] = []
    private var bases: [UnsafeMutablePointer<Element>] = []
    /// Where big lists take their next blocks from.
    private var slab: Slab?
    /// Lists of more blocks than this take them from slabs.
    private static var blocksBeforeSlabs: Int { 4 }

    var count: Int { chunks.count }

    /// The base address of block `chunk`, for reading.
    @inline(always)
    func base(_ chunk: Int) -> UnsafeMutablePointer<Element> {
        assert(chunk >= 0 && chunk < bases.count)
        return bases.withUnsafeBufferPointer { $0[chunk] }
    }

    /// The base address of block `chunk`, for writing: copied first when shared.
    @inline(__always)
    mutating func uniqueBase(_ chunk: Int) -> UnsafeMutablePointer<Element> {
        if !isKnownUniquelyReferenced(&chunks[chunk]) {
            let copy = chunks[chunk].copy()
            chunks[chunk] = copy
            bases[chunk] = copy.base
        }
        return bases[chunk]
    }

    /// The number of initialized elements of block `chunk`.
    func filled(_ chunk: Int) -> Int { chunks[chunk].count }

    mutating func appendChunk(capacity: Int) {
        let byteCount = capacity * MemoryLayout<Element>.stride
        if chunks.count >= Self.blocksBeforeSlabs && byteCount <= Slab.bytes / 4
            && (slab?.remaining ?? 0) < (byteCount + 63) & ~63 {
            slab = Slab()
        }
        let chunk = Chunk<Element>(capacity: capacity, slab: slab)
        chunks.append(chunk)
        bases.append(chunk.base)
    }

    /// Appends to the last block (which must have room).
    mutating func appendToLast(_ element: Element) {
        _ = uniqueBase(chunks.count - 1)
        chunks[chunks.count - 1].append(element)
    }

    /// Appends `count` copies of `element` to the last block (which must have room).
    mutating func appendToLast(repeating element: Element, count: Int) {
        _ = uniqueBase(chunks.count - 1)
        chunks[chunks.count - 1].append(repeating: element, count: count)
    }

    /// Appends `elements` to the last block (which must have room).
    mutating func appendToLast(contentsOf elements: UnsafeBufferPointer<Element>) {
        _ = uniqueBase(chunks.count - 1)
        chunks[chunks.count - 1].append(contentsOf: elements)
    }

    /// Bytes held, counting each block's full capacity and the unused rest of the slab.
    var allocatedBytes: Int {
        (slab?.remaining ?? 0) + chunks.reduce(0) { $0 + $1.capacity * MemoryLayout<Element>.stride }
            + chunks.capacity * (MemoryLayout<Chunk<Element>>.stride + MemoryLayout<UnsafeMutablePointer<Element>>.stride)
    }
}

/// A growable array stored as fixed-size chunks, so that a copy shares every chunk and
/// a write afterwards copies only the chunk it touches (plus the small table of chunk
/// addresses). This is what lets `IndexSnapshot.applying(_:)` derive a new snapshot in
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

    private var chunks = ChunkList<Element>()
    private(set) var count = 0

    init() {}

    /// An array of `count` copies of `value`.
    init(repeating value: Element, count: Int) {
        var remaining = count
        while remaining > 0 {
            let size = min(remaining, Self.chunkSize)
            chunks.appendChunk(capacity: Self.chunkSize)
            chunks.appendToLast(repeating: value, count: size)
            remaining -= size
        }
        self.count = count
    }

    subscript(index: Int) -> Element {
        @inline(always) get {
            assert(index >= 0 && index < count)
            return chunks.base(index &>> Self.chunkShift)[index & Self.chunkMask]
        }
        @inline(__always) _modify {
            assert(index >= 0 && index < count)
            let base = chunks.uniqueBase(index &>> Self.chunkShift)
            yield &base[index & Self.chunkMask]
        }
    }

    /// The address of element `index`, for reading while the array is neither changed nor
    /// released.
    @inline(always)
    func address(_ index: Int) -> UnsafeMutablePointer<Element> {
        assert(index >= 0 && index < count)
        return chunks.base(index &>> Self.chunkShift) + (index & Self.chunkMask)
    }

    mutating func append(_ element: Element) {
        if count & Self.chunkMask == 0 { chunks.appendChunk(capacity: Self.chunkSize) }
        chunks.appendToLast(element)
        count += 1
    }

    /// Bytes held, counting each chunk's full capacity.
    var allocatedBytes: Int { chunks.allocatedBytes }
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
