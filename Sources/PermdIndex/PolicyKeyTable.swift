import PermdCore

/// The keys one kind of policy entry defines (permission keys, role keys) to their bits: a
/// small table built once per policy and never changed, so flat rather than chunked like the
/// `ByteTable`s of the state.
///
/// Why a table of its own: every CHECK looks up a permission key, and permission keys are
/// often longer than the 15 bytes a `ByteTable` keeps inline ("documents:delete",
/// "invoices:refund:approve"), which sent them through hashing the bytes, a key record and
/// a byte arena. Here each slot holds a whole 32-byte key record: the length byte and, for
/// keys of at most 31 bytes, the key itself. A lookup builds the record of the requested
/// bytes (four words), hashes those words, and confirms a hit by comparing them with the
/// slot it probes: one memory access, no byte loop. A longer key (keys are at most 128
/// bytes) has its first 31 bytes in the record and the rest in `tails`, and is looked up
/// by a call of its own. A class, so that this call passes one reference, not the fields.
final class PolicyKeyTable: Sendable {
    /// Keys of up to this many bytes live entirely in their slot's record.
    private static let inlineBytes = 31

    /// Four words per slot: a key record, or zeros for an empty slot (no key is empty).
    private let records: [UInt64]
    /// Per slot: the key's id, its position in the keys the table was built from.
    private let ids: [UInt32]
    /// Per slot of a key longer than `inlineBytes`: where its bytes after the 31st start
    /// in `tails`.
    private let tailStarts: [UInt32]
    private let tails: [UInt8]
    private let mask: Int

    /// A table of `keys`, key `i` with id `i`. Empty keys, the second of two equal keys, and
    /// keys longer than `ByteTable.maxKeyLength` are never found (valid policies have none).
    init(_ keys: [String]) {
        var capacity = 16
        while capacity < keys.count * 2 { capacity <<= 1 }
        var records = [UInt64](repeating: 0, count: 4 * capacity)
        var ids = [UInt32](repeating: 0, count: capacity)
        var tailStarts = [UInt32](repeating: 0, count: capacity)
        var tails: [UInt8] = []
        var placed = Set<[UInt8]>()
        for (id, key) in keys.enumerated() {
            let bytes = Array(key.utf8)
            guard !bytes.isEmpty, bytes.count <= ByteTable.maxKeyLength, placed.insert(bytes).inserted else { continue }
            let (record, hash) = bytes.withUnsafeBytes { bytes in
                let record = keyRecord(bytes.baseAddress!, count: bytes.count)
                return (record, PolicyKeyTable.hash(bytes, record: record))
            }
            var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
            while records[4 * slot] != 0 { slot = (slot + 1) & (capacity - 1) }
            records.replaceSubrange(4 * slot..<4 * slot + 4, with: [record.0, record.1, record.2, record.3])
            ids[slot] = UInt32(id)
            if bytes.count > PolicyKeyTable.inlineBytes {
                tailStarts[slot] = UInt32(tails.count)
                tails += bytes[PolicyKeyTable.inlineBytes...]
            }
        }
        self.records = records
        self.ids = ids
        self.tailStarts = tailStarts
        self.tails = tails
        mask = capacity - 1
    }

    /// The id of `bytes`, or nil when no key is `bytes`.
    ///
    /// Keys longer than the record take a call of their own, so that the inlined probe of a
    /// short key holds no state for them (12 fewer instructions per CHECK).
    @inline(always)
    func find(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count
        // 1...inlineBytes in one unsigned comparison.
        guard UInt(bitPattern: count &- 1) < UInt(PolicyKeyTable.inlineBytes), let start = bytes.baseAddress else {
            return findLong(bytes)
        }
        let expected = keyRecord(start, count: count)
        return probe(PolicyKeyTable.hash(bytes, record: expected)) { record, _ in
            record[0] == expected.0 && record[1] == expected.1 && record[2] == expected.2 && record[3] == expected.3
        }
    }

    /// `find` for keys longer than the record (and for no key at all).
    @inline(never)
    private func findLong(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count > PolicyKeyTable.inlineBytes, bytes.count <= ByteTable.maxKeyLength,
              let start = bytes.baseAddress else { return nil }
        let expected = keyRecord(start, count: bytes.count)
        return probe(PolicyKeyTable.hash(bytes, record: expected)) { record, slot in
            record[0] == expected.0 && record[1] == expected.1 && record[2] == expected.2 && record[3] == expected.3
                && tailMatches(slot, bytes)
        }
    }

    /// The id in the first slot from `hash`'s home on whose record (and slot) `matches`
    /// holds, or nil when an empty slot comes first.
    @inline(always)
    private func probe(_ hash: UInt64, _ matches: (UnsafePointer<UInt64>, Int) -> Bool) -> Int? {
        records.withUnsafeBufferPointer { records in
            var slot = Int(truncatingIfNeeded: hash) & mask
            while true {
                let record = records.baseAddress.unsafelyUnwrapped + 4 &* slot
                if matches(record, slot) { return Int(ids.withUnsafeBufferPointer { $0[slot] }) }
                if record[0] == 0 { return nil }
                slot = (slot &+ 1) & mask
            }
        }
    }

    /// The id of `key`, or nil when no key is `key`.
    func find(_ key: String) -> Int? {
        withBytes(key) { find($0) }
    }

    /// The slot hash of a key whose record is `record`: its words folded into two and mixed
    /// (one multiplication; keys that fold alike only probe one slot further); a key longer
    /// than the record also hashes its bytes.
    @inline(always)
    private static func hash(_ bytes: UnsafeRawBufferPointer, record: (UInt64, UInt64, UInt64, UInt64)) -> UInt64 {
        let words = mixWords(record.0 ^ record.2, record.1 ^ record.3)
        return bytes.count <= inlineBytes ? words : words ^ hashBytes(bytes)
    }

    /// Whether the bytes of `bytes` after the 31st are those of the long key in `slot`.
    private func tailMatches(_ slot: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let tail = UnsafeRawBufferPointer(rebasing: bytes[PolicyKeyTable.inlineBytes...])
        return tails.withUnsafeBytes { tails in
            let start = Int(tailStarts[slot])
            return sameBytes(UnsafeRawBufferPointer(rebasing: tails[start..<start + tail.count]), tail)
        }
    }
}
