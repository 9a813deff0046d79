import PermdCore

/// Identifiers of one kind (user ids, or organization codes) interned to dense slots, each
/// marked known or not.
///
/// A slot is never reused before the next full build: removing an identifier marks its
/// slot unknown, and adding it again marks the same slot known.
struct IdentifierTable: Sendable {
    /// Every identifier ever interned, known or not: a CHECK looks here and skips the known
    /// flags, since an unknown identifier has no membership left.
    private(set) var keys: ByteTable
    private var known = ChunkedArray<Bool>()
    /// How many identifiers are known.
    private(set) var knownCount = 0

    /// A table sized for `expected` identifiers without growing.
    init(expected: Int = 0) {
        keys = ByteTable(expected: expected)
    }

    /// The number of slots, known or not.
    var slotCount: Int { keys.count }

    /// The slot of known identifier `text`.
    func slot(_ text: String) -> Int? {
        withBytes(text) { slot($0) }
    }

    /// The slot of known identifier `bytes`.
    func slot(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let slot = keys.find(bytes), known[slot] else { return nil }
        return slot
    }

    /// The slot of known identifier `bytes`, trying slot `guess` before hashing.
    func slot(_ bytes: UnsafeRawBufferPointer, guess: Int) -> Int? {
        if keys.key(guess, is: bytes) { return known[guess] ? guess : nil }
        return slot(bytes)
    }

    /// Whether the identifier of `slot` is known.
    func isKnown(_ slot: Int) -> Bool { known[slot] }

    /// Marks `bytes` known, interning it when new.
    /// - Returns: its slot, and whether the slot is new (the caller extends what it keeps
    ///   per slot).
    mutating func insert(_ bytes: UnsafeRawBufferPointer) -> (slot: Int, isNew: Bool) {
        let slot = keys.intern(bytes)
        if slot == known.count {
            known.append(true)
            knownCount += 1
            return (slot, true)
        }
        if !known[slot] {
            known[slot] = true
            knownCount += 1
        }
        return (slot, false)
    }

    /// Marks the identifier of `slot` unknown.
    mutating func remove(_ slot: Int) {
        guard known[slot] else { return }
        known[slot] = false
        knownCount -= 1
    }

    /// Sets the payload the table's slot keeps for the identifier of `slot` (see `ByteTable`).
    mutating func setPayload(_ payload: UInt64, of slot: Int) {
        keys.setPayload(payload, of: slot)
    }

    /// Sets every identifier's payload to `payload(slot)`.
    mutating func setPayloads(_ payload: (Int) -> UInt64) {
        keys.setPayloads(payload)
    }

    /// Bytes held.
    var allocatedBytes: Int { keys.allocatedBytes + known.allocatedBytes }
}
