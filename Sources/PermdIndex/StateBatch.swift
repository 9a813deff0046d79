import PermdCore

/// Rows of a state feed as bytes: each row's kind, the end offset of each of its fields,
/// and the fields' bytes one after the other, in buffers allocated once and reused (a
/// full build passes millions of rows through a handful of batches).
///
/// `@unchecked Sendable`: a batch is filled by the reader's thread, then handed to the
/// pipeline's thread, which replays and clears it before it returns to the spares.
final class StateBatch: @unchecked Sendable {
    enum Kind: UInt8 {
        case organization, user, membership, roleAssignment, directGrant
    }

    let capacity: Int
    private let kinds: UnsafeMutablePointer<Kind>
    private let ends: UnsafeMutablePointer<Int32>
    private var bytes: UnsafeMutableRawPointer
    private var byteCapacity: Int
    private(set) var rowCount = 0
    private var fieldCount = 0
    private var byteCount = 0

    /// An empty batch for `rows` rows (of up to three fields each).
    init(rows: Int) {
        capacity = rows
        kinds = .allocate(capacity: rows)
        ends = .allocate(capacity: rows * 3)
        byteCapacity = rows * 48
        bytes = .allocate(byteCount: byteCapacity, alignment: 8)
    }

    deinit {
        kinds.deallocate()
        ends.deallocate()
        bytes.deallocate()
    }

    func append(_ kind: Kind, _ field: UnsafeRawBufferPointer) {
        kinds[rowCount] = kind
        rowCount += 1
        append(field)
    }

    func append(_ kind: Kind, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) {
        kinds[rowCount] = kind
        rowCount += 1
        append(first)
        append(second)
    }

    func append(_ kind: Kind, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
                _ third: UnsafeRawBufferPointer) {
        kinds[rowCount] = kind
        rowCount += 1
        append(first)
        append(second)
        append(third)
    }

    private func append(_ field: UnsafeRawBufferPointer) {
        if byteCount + field.count > byteCapacity {
            let grown = UnsafeMutableRawPointer.allocate(byteCount: 2 * byteCapacity + field.count, alignment: 8)
            grown.copyMemory(from: bytes, byteCount: byteCount)
            bytes.deallocate()
            bytes = grown
            byteCapacity = 2 * byteCapacity + field.count
        }
        if let source = field.baseAddress { (bytes + byteCount).copyMemory(from: source, byteCount: field.count) }
        byteCount += field.count
        ends[fieldCount] = Int32(byteCount)
        fieldCount += 1
    }

    /// Feeds the rows to `sink`, in order, and empties the batch.
    func replay(into sink: inout some StateSink) {
        var field = 0
        var start = 0
        func next() -> UnsafeRawBufferPointer {
            let end = Int(ends[field])
            defer { start = end; field += 1 }
            return UnsafeRawBufferPointer(start: bytes + start, count: end - start)
        }
        for row in 0..<rowCount {
            switch kinds[row] {
            case .organization: sink.organization(next())
            case .user: sink.user(next())
            case .membership: sink.membership(user: next(), organization: next())
            case .roleAssignment: sink.roleAssignment(user: next(), organization: next(), role: next())
            case .directGrant: sink.directGrant(user: next(), organization: next(), permission: next())
            }
        }
        rowCount = 0
        fieldCount = 0
        byteCount = 0
    }
}
