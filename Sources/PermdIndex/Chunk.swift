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
