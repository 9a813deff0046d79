import CPrefetch
import PermdCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 64-bit hash of a byte string: 8 bytes at a time, multiply-xorshift mixing
/// (wyhash-style), so that hashing an identifier is a handful of multiplications.
@inline(always)
func hashBytes(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
    var hash: UInt64 = 0xA076_1D64_78BD_642F ^ UInt64(bytes.count)
    guard let base = bytes.baseAddress else { return hash }
    var offset = 0
    let count = bytes.count
    while offset &+ 8 <= count {
        let word = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        hash = (hash ^ word) &* multiplier
        hash ^= hash &>> 29
        offset &+= 8
    }
    if offset < count {
        hash = (hash ^ loadWord(base + offset, count: count &- offset)) &* multiplier
        hash ^= hash &>> 29
    }
    hash = (hash ^ (hash &>> 32)) &* multiplier
    return hash ^ (hash &>> 29)
}

#if _endian(big)
#error("ByteTable's key records assume a little-endian machine")
#endif

/// The first `count` (0...8) bytes at `start` as a little-endian word, zero-padded,
/// without reading past them: two overlapping 4-byte loads, or up to three byte loads.
@inline(always)
func loadWord(_ start: UnsafeRawPointer, count: Int) -> UInt64 {
    if count >= 4 {
        let low = UInt64(start.loadUnaligned(as: UInt32.self))
        let high = UInt64(start.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self))
        return low | high &<< UInt64(8 &* (count &- 4))
    }
    if count == 0 { return 0 }
    let first = UInt64(start.load(as: UInt8.self))
    let middle = UInt64(start.load(fromByteOffset: count &>> 1, as: UInt8.self))
    let last = UInt64(start.load(fromByteOffset: count &- 1, as: UInt8.self))
    return first | middle &<< UInt64(8 &* (count &>> 1)) | last &<< UInt64(8 &* (count &- 1))
}

/// The first 32 bytes of a key record as four words: in memory order the length byte, then
/// the key bytes zero-padded (for a longer key, its first 31 bytes). Whole-word loads that
/// never read outside the key: the last word is loaded so that it ends at the key's last
/// byte, then shifted down to where the record's word begins. `count` is 1...255.
@inline(always)
func keyRecord(_ start: UnsafeRawPointer, count: Int) -> (UInt64, UInt64, UInt64, UInt64) {
    if count < 8 { return (UInt64(count) | loadWord(start, count: count) &<< 8, 0, 0, 0) }
    let first = UInt64(count) | start.loadUnaligned(as: UInt64.self) &<< 8
    let last = start.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self) &>> UInt64(8 &* ((7 &- count) & 7))
    if count <= 15 { return (first, last, 0, 0) }
    let second = start.loadUnaligned(fromByteOffset: 7, as: UInt64.self)
    if count <= 23 { return (first, second, last, 0) }
    let third = start.loadUnaligned(fromByteOffset: 15, as: UInt64.self)
    if count <= 31 { return (first, second, third, last) }
    return (first, second, third, start.loadUnaligned(fromByteOffset: 23, as: UInt64.self))
}

/// Two words mixed into a hash by one 128-bit multiplication (wyhash's final mix): what
/// hashes a key record, whose words are the key itself.
@inline(always)
func mixWords(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let product = (a ^ 0xA076_1D64_78BD_642F).multipliedFullWidth(by: b ^ 0xE703_7ED1_A0B4_28DB)
    return product.high ^ product.low
}

/// Interns byte strings (user ids, organization codes) to dense integers.
///
/// Open addressing with linear probing over chunked 16-byte slots; each slot holds the upper
/// 32 bits of the key's hash and its id + 1 (0 = empty), so most probes are settled without
/// touching the key bytes, and beside it one word the owner keeps per key (its payload, 0 for a new key: the
/// user table keeps each user's memberships there, so that a CHECK reaches a membership's
/// row straight from the slot, one dependent cache miss fewer). Each key has a 16-byte record: its length and, for keys of at
/// most 15 bytes (most ids and codes), the key itself, so that confirming a hit costs one
/// memory access; longer keys keep their first 7 bytes there and the whole key in a
/// chunked byte arena. A lookup builds no `String` and allocates nothing. Keys are never removed (the owner marks them dead instead).
struct ByteTable: Sendable {
    /// The longest key (identifiers are at most 255 bytes, SPEC §1).
    static let maxKeyLength = 255
    #if DEBUG
    private static let arenaChunkBytes = 1 << 8
    #else
    private static let arenaChunkBytes = 1 << 16
    #endif

    /// Slot `i` is words `2 i` (tag << 32 | id + 1, 0 = empty) and `2 i + 1` (the payload).
    private var slots: ChunkedArray<UInt64>
    private var mask: Int
    /// Key `id`'s record: words `2 id` and `2 id + 1`. In memory order: the length byte,
    /// then the key bytes for keys of at most `inlineBytes`; for longer keys, the first 7
    /// bytes, then the arena location (chunk << 32 | offset) of the whole key.
    private var records = ChunkedArray<UInt64>()
    private var arena = ChunkList<UInt8>()
    static let inlineBytes = 15

    /// The number of keys interned.
    var count: Int { records.count / 2 }

    /// A table sized for `expected` keys without growing.
    init(expected: Int = 0) {
        let capacity = ByteTable.capacity(for: expected)
        slots = ChunkedArray(repeating: 0, count: 2 * capacity)
        mask = capacity - 1
    }

    private static func capacity(for keys: Int) -> Int {
        var capacity = 16
        while capacity < keys * 2 { capacity <<= 1 }
        return capacity
    }

    /// The id of `bytes`, or nil when it was never interned.
    ///
    /// The key's record is built once, before probing: for a short key it is also what
    /// the hash mixes, so the key bytes are read once per lookup. Short and long keys probe
    /// in separate loops, so that a short key's hit costs two word comparisons and nothing
    /// decides per probe which kind of key it is.
    @inline(always)
    func find(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let position = position(bytes) else { return nil }
        return Int(truncatingIfNeeded: slots[2 &* position] & 0xFFFF_FFFF) &- 1
    }

    /// The id of `bytes` and its payload, or nil when it was never interned: both from the
    /// key's slot (one cache line).
    @inline(always)
    func entry(_ bytes: UnsafeRawBufferPointer) -> (id: Int, payload: UInt64)? {
        guard let position = position(bytes) else { return nil }
        let slot = slots.address(2 &* position)
        return (Int(truncatingIfNeeded: slot[0] & 0xFFFF_FFFF) &- 1, slot[1])
    }

    /// The slot index of `bytes`, or nil when it was never interned.
    @inline(always)
    private func position(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count
        // 1...maxKeyLength in one unsigned comparison.
        guard UInt(bitPattern: count &- 1) < UInt(ByteTable.maxKeyLength), let start = bytes.baseAddress else {
            return nil
        }
        let expected = keyRecord(start, count: count)
        if count <= ByteTable.inlineBytes {
            return probe(mixWords(expected.0, expected.1)) { record in
                record[0] == expected.0 && record[1] == expected.1
            }
        }
        // A long key's record holds its first 7 bytes and where the whole key is.
        return probe(hashBytes(bytes)) { record in
            guard record[0] == expected.0 else { return false }
            let location = record[1]
            let key = arena.base(Int(truncatingIfNeeded: location >> 32)) + Int(truncatingIfNeeded: location & 0xFFFF_FFFF)
            return sameBytes(UnsafeRawBufferPointer(start: key, count: count), UnsafeRawBufferPointer(start: start, count: count))
        }
    }

    // MARK: Starting a lookup early

    /// The hash a lookup of `bytes` probes with (see `position`), or nil for no key.
    @inline(always)
    private static func lookupHash(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        let count = bytes.count
        guard UInt(bitPattern: count &- 1) < UInt(ByteTable.maxKeyLength), let start = bytes.baseAddress else {
            return nil
        }
        guard count <= ByteTable.inlineBytes else { return hashBytes(bytes) }
        let record = keyRecord(start, count: count)
        return mixWords(record.0, record.1)
    }

    /// Starts loading the slot a lookup of `bytes` looks at first (see `permd_prefetch`).
    @inline(always)
    func prefetchSlot(_ bytes: UnsafeRawBufferPointer) {
        guard let hash = ByteTable.lookupHash(bytes) else { return }
        permd_prefetch(slots.address(2 &* (Int(truncatingIfNeeded: hash) & mask)))
    }

    /// With the slot of `bytes` in cache (after `prefetchSlot`): starts loading the record of
    /// the first key on its probe run whose tag matches, and returns that slot's payload —
    /// unconfirmed (the key is not compared: that is the lookup's work, and the record is
    /// what this loads), so only a hint of what to load next. Nil when no slot of the first
    /// four matches.
    @inline(always)
    func prefetchRecord(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard let hash = ByteTable.lookupHash(bytes) else { return nil }
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var index = Int(truncatingIfNeeded: hash) & mask
        for _ in 0..<4 {
            let slot = slots.address(2 &* index)
            if slot[0] == 0 { return nil }
            if slot[0] & 0xFFFF_FFFF_0000_0000 == tag {
                permd_prefetch(records.address(2 &* (Int(truncatingIfNeeded: slot[0] & 0xFFFF_FFFF) &- 1)))
                return slot[1]
            }
            index = (index &+ 1) & mask
        }
        return nil
    }

    /// The slot index whose slot carries `hash`'s tag and whose key's record `matches`, or nil.
    @inline(always)
    private func probe(_ hash: UInt64, _ matches: (UnsafePointer<UInt64>) -> Bool) -> Int? {
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[2 &* index]
            if slot == 0 { return nil }
            if slot & 0xFFFF_FFFF_0000_0000 == tag {
                let id = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) &- 1
                if matches(UnsafePointer(records.address(2 &* id))) { return index }
            }
            index = (index &+ 1) & mask
        }
    }

    /// The payload of key `id`.
    func payload(_ id: Int) -> UInt64 {
        slots[2 * position(of: id) + 1]
    }

    /// Sets the payload of key `id`.
    mutating func setPayload(_ payload: UInt64, of id: Int) {
        let position = position(of: id)
        if slots[2 * position + 1] != payload { slots[2 * position + 1] = payload }
    }

    /// Sets the payload of every key to `payload(id)`, in slot order (one pass forward
    /// through the table, for a full build).
    mutating func setPayloads(_ payload: (Int) -> UInt64) {
        for index in 0...mask where slots[2 * index] != 0 {
            slots[2 * index + 1] = payload(Int(truncatingIfNeeded: slots[2 * index] & 0xFFFF_FFFF) - 1)
        }
    }

    /// The slot index of key `id`.
    private func position(of id: Int) -> Int {
        let hash = withKey(id) { ByteTable.hash($0, record: ByteTable.record($0)) }
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[2 * index] & 0xFFFF_FFFF != UInt64(id + 1) { index = (index + 1) & mask }
        return index
    }

    /// The id of `key`, or nil when it was never interned.
    func find(_ key: String) -> Int? {
        withBytes(key) { find($0) }
    }

    /// The id of `key`, interning it when new.
    mutating func intern(_ key: String) -> Int {
        withBytes(key) { intern($0) }
    }

    /// The id of `bytes`, interning them when new. Keys longer than 255 bytes are cut
    /// (identifiers never are, SPEC §1).
    mutating func intern(_ bytes: UnsafeRawBufferPointer) -> Int {
        let bytes = UnsafeRawBufferPointer(rebasing: bytes.prefix(ByteTable.maxKeyLength))
        if let id = find(bytes) { return id }
        if (count + 1) * 4 > (mask + 1) * 3 { grow() }
        let id = count
        var record = ByteTable.record(bytes)
        if bytes.count > ByteTable.inlineBytes {
            if arena.count == 0 || arena.filled(arena.count - 1) + bytes.count > ByteTable.arenaChunkBytes {
                arena.appendChunk(capacity: ByteTable.arenaChunkBytes)
            }
            let chunk = arena.count - 1
            record.1 = UInt64(chunk) << 32 | UInt64(arena.filled(chunk))
            arena.appendToLast(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
        }
        records.append(record.0)
        records.append(record.1)
        place(id: id, hash: ByteTable.hash(bytes, record: ByteTable.record(bytes)), payload: 0)
        return id
    }

    private mutating func place(id: Int, hash: UInt64, payload: UInt64) {
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[2 * index] != 0 { index = (index + 1) & mask }
        slots[2 * index] = hash & 0xFFFF_FFFF_0000_0000 | UInt64(id + 1)
        slots[2 * index + 1] = payload
    }

    private mutating func grow() {
        var payloads = [UInt64](repeating: 0, count: count)
        for index in 0...mask where slots[2 * index] != 0 {
            payloads[Int(truncatingIfNeeded: slots[2 * index] & 0xFFFF_FFFF) - 1] = slots[2 * index + 1]
        }
        let capacity = (mask + 1) * 2
        slots = ChunkedArray(repeating: 0, count: 2 * capacity)
        mask = capacity - 1
        for id in 0..<count {
            let hash = withKey(id) { ByteTable.hash($0, record: ByteTable.record($0)) }
            place(id: id, hash: hash, payload: payloads[id])
        }
    }

    /// The record of `bytes` as `records` holds it, the arena location left zero.
    @inline(always)
    private static func record(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        guard let start = bytes.baseAddress, bytes.count > 0 else { return (0, 0) }
        let words = keyRecord(start, count: bytes.count)
        return bytes.count <= inlineBytes ? (words.0, words.1) : (words.0, 0)
    }

    /// The slot hash of a key whose record is `record`: for keys of at most `inlineBytes`
    /// bytes, the mix of the record's two words, which a lookup builds anyway to confirm a
    /// hit; longer keys hash their bytes.
    @inline(always)
    private static func hash(_ bytes: UnsafeRawBufferPointer, record: (UInt64, UInt64)) -> UInt64 {
        bytes.count <= inlineBytes ? mixWords(record.0, record.1) : hashBytes(bytes)
    }

    /// Calls `body` with the bytes of key `id`.
    @inline(always)
    func withKey<R>(_ id: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let record = UnsafeRawPointer(records.address(2 &* id))
        let length = Int(record.load(as: UInt8.self))
        if length <= ByteTable.inlineBytes {
            return try body(UnsafeRawBufferPointer(start: record + 1, count: length))
        }
        let location = record.load(fromByteOffset: 8, as: UInt64.self)
        let start = arena.base(Int(truncatingIfNeeded: location >> 32)) + Int(truncatingIfNeeded: location & 0xFFFF_FFFF)
        return try body(UnsafeRawBufferPointer(start: start, count: length))
    }

    /// Whether key `id` is `bytes`, whose record is `expected`: for short keys, two word
    /// comparisons with the stored record.
    @inline(always)
    private func keyEquals(_ id: Int, _ bytes: UnsafeRawBufferPointer, _ expected: (UInt64, UInt64)) -> Bool {
        let record = records.address(2 &* id)
        if bytes.count <= ByteTable.inlineBytes {
            return record[0] == expected.0 && record[1] == expected.1
        }
        return record[0] == expected.0 && withKey(id) { sameBytes($0, bytes) }
    }

    /// Whether the record of key `id` is `record`, the two words `keyRecord` gives a key of
    /// at most `inlineBytes` bytes (a longer key's record never equals one: its length
    /// byte differs).
    @inline(always)
    func record(_ id: Int, is record: (UInt64, UInt64)) -> Bool {
        let stored = records.address(2 &* id)
        return stored[0] == record.0 && stored[1] == record.1
    }

    /// Whether key `id` is `bytes` (no hashing: for checking a guess, such as "the key after
    /// the last one found" while rows arrive sorted).
    func key(_ id: Int, is bytes: UnsafeRawBufferPointer) -> Bool {
        guard id >= 0, id < count, bytes.count <= ByteTable.maxKeyLength else { return false }
        return keyEquals(id, bytes, ByteTable.record(bytes))
    }

    /// Key `id` as a string.
    func key(_ id: Int) -> String {
        withKey(id) { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether key `a` orders before key `b` by bytes: for two keys of at most
    /// `inlineBytes` bytes, two word comparisons of their records (byte-swapped, so that
    /// integer order is byte order; the zero padding orders a prefix first, as identifiers
    /// hold no zero bytes).
    @inline(always)
    func isOrdered(_ a: Int, before b: Int) -> Bool {
        let first = records.address(2 &* a)
        let second = records.address(2 &* b)
        guard first[0] & 0xFF <= UInt64(ByteTable.inlineBytes), second[0] & 0xFF <= UInt64(ByteTable.inlineBytes) else {
            return withKey(b) { compare(a, $0) < 0 }
        }
        let (head, otherHead) = ((first[0] & ~0xFF).byteSwapped, (second[0] & ~0xFF).byteSwapped)
        if head != otherHead { return head < otherHead }
        return first[1].byteSwapped < second[1].byteSwapped
    }

    /// Orders key `a` against `bytes` by bytes (the order of sorted ids and codes).
    func compare(_ id: Int, _ bytes: UnsafeRawBufferPointer) -> Int {
        withKey(id) { compareBytes($0, bytes) }
    }

    /// Bytes held, counting each chunk's full capacity.
    var allocatedBytes: Int {
        slots.allocatedBytes + records.allocatedBytes + arena.allocatedBytes
    }
}

/// Whether two byte strings of the same length are equal: 8 bytes at a time, inline
/// (identifiers are short; a call to memcmp costs more than the comparison).
@inline(always)
func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard let x = a.baseAddress, let y = b.baseAddress else { return a.count == b.count }
    var offset = 0
    let count = a.count
    while offset &+ 8 <= count {
        if x.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            != y.loadUnaligned(fromByteOffset: offset, as: UInt64.self) { return false }
        offset &+= 8
    }
    while offset < count {
        if x.load(fromByteOffset: offset, as: UInt8.self) != y.load(fromByteOffset: offset, as: UInt8.self) {
            return false
        }
        offset &+= 1
    }
    return true
}

/// Orders two byte strings lexicographically: negative, zero or positive.
@inline(__always)
func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let common = min(a.count, b.count)
    if common > 0 {
        let order = memcmp(a.baseAddress!, b.baseAddress!, common)
        if order != 0 { return Int(order) }
    }
    return a.count - b.count
}
