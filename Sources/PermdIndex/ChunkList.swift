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
