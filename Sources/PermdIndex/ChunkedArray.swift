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
