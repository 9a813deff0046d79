import PermdCore

/// Changes of the change log as bytes: each change's revision and kind, and its three
/// names one after the other, in buffers allocated once and reused (the `StateBatch` of
/// `ChangePipeline`).
///
/// `@unchecked Sendable`: a batch is filled by the reader's thread, then handed to the
/// pipeline's thread, which replays and clears it before it returns to the spares.
final class ChangeRows: @unchecked Sendable {
    let capacity: Int
    private let revisions: UnsafeMutablePointer<UInt64>
    private let kinds: UnsafeMutablePointer<ChangeKind>
    /// The end offset of each name, three per change.
    private let ends: UnsafeMutablePointer<Int32>
    private var bytes: UnsafeMutableRawPointer
    private var byteCapacity: Int
    private(set) var count = 0
    private var byteCount = 0

    /// An empty batch for `capacity` changes.
    init(capacity: Int) {
        self.capacity = capacity
        revisions = .allocate(capacity: capacity)
        kinds = .allocate(capacity: capacity)
        ends = .allocate(capacity: capacity * 3)
        byteCapacity = capacity * 32
        bytes = .allocate(byteCount: byteCapacity, alignment: 8)
    }

    deinit {
        revisions.deallocate()
        kinds.deallocate()
        ends.deallocate()
        bytes.deallocate()
    }

    func append(revision: UInt64, _ kind: ChangeKind, _ user: UnsafeRawBufferPointer,
                _ organization: UnsafeRawBufferPointer, _ key: UnsafeRawBufferPointer) {
        revisions[count] = revision
        kinds[count] = kind
        append(user, at: 3 * count)
        append(organization, at: 3 * count + 1)
        append(key, at: 3 * count + 2)
        count += 1
    }

    private func append(_ name: UnsafeRawBufferPointer, at field: Int) {
        if byteCount + name.count > byteCapacity {
            let grown = UnsafeMutableRawPointer.allocate(byteCount: 2 * byteCapacity + name.count, alignment: 8)
            grown.copyMemory(from: bytes, byteCount: byteCount)
            bytes.deallocate()
            bytes = grown
            byteCapacity = 2 * byteCapacity + name.count
        }
        if let source = name.baseAddress { (bytes + byteCount).copyMemory(from: source, byteCount: name.count) }
        byteCount += name.count
        ends[field] = Int32(byteCount)
    }

    /// Feeds the changes to `sink`, in order, until it asks to stop, and empties the batch.
    /// - Returns: whether the sink wants more.
    func replay(into sink: inout some ChangeSink) -> Bool {
        defer { removeAll() }
        var start = 0
        func name(_ field: Int) -> UnsafeRawBufferPointer {
            let end = Int(ends[field])
            defer { start = end }
            return UnsafeRawBufferPointer(start: bytes + start, count: end - start)
        }
        for change in 0..<count {
            let user = name(3 * change)
            let organization = name(3 * change + 1)
            let key = name(3 * change + 2)
            if !sink.change(revision: revisions[change], kinds[change], user: user, organization: organization, key: key) {
                return false
            }
        }
        return true
    }

    /// Empties the batch.
    func removeAll() {
        count = 0
        byteCount = 0
    }
}
