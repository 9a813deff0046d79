import PermdCore
import PermdIndex
import PermdPolicy
import Testing

// The byte lookups of the CHECK hot path build key records from whole-word loads, with a
// different path per length class (1–7, 8–15, 16–23, 24–31 bytes, and longer keys, which
// keep part of themselves outside the record). These tests cover every length with keys
// that differ from their neighbours in one byte only, at the first, middle and last place.

/// `count` bytes of `alphabet` starting at `seed`, so that keys of the same length differ.
private func key(length count: Int, seed: Int, alphabet: [UInt8]) -> [UInt8] {
    (0..<count).map { alphabet[(seed + $0 * 7) % alphabet.count] }
}

/// `bytes` with byte `position` changed to another byte of `alphabet`.
private func changing(_ bytes: [UInt8], at position: Int, alphabet: [UInt8]) -> [UInt8] {
    var changed = bytes
    let index = alphabet.firstIndex(of: bytes[position])!
    changed[position] = alphabet[(index + 1) % alphabet.count]
    return changed
}

/// Where a one-byte change is most likely to slip past a lookup: the first byte, the last
/// one, and the first byte after the inline part of each table's record.
private func changedPositions(_ count: Int) -> [Int] {
    Array(Set([0, count / 2, count - 1, 15, 31].filter { $0 < count })).sorted()
}

private let keyAlphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789_-.:/".utf8)
private let idAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./;<=>?@[]^_{|}~".utf8)

/// The same call with `bytes` placed at the start of a larger buffer whose next bytes are
/// not zero, so that a lookup reading past the key would see them.
private func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) -> R {
    let padded = bytes + Array(repeating: UInt8(ascii: "Z"), count: 40)
    return padded.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[..<bytes.count])) }
}

@Test func everyPermissionKeyLengthFindsExactlyItsKey() throws {
    let keys = (1...Identifier.maxKeyLength).map { key(length: $0, seed: $0, alphabet: keyAlphabet) }
    let defined = Set(keys)
    let policy = PolicySet(
        permissions: keys.map { PermissionDefinition(key: String(decoding: $0, as: UTF8.self)) }, roles: [],
        organizations: [OrganizationDefinition(code: "org")],
        settings: PolicySettings(defaultOrganization: "org"))
    // One user per key, holding that key alone.
    let users = keys.indices.map { "user-\($0)" }
    let state = InMemoryState(
        organizations: ["org"], users: users,
        memberships: keys.indices.map {
            .init(user: users[$0], organization: "org", permissions: [String(decoding: keys[$0], as: UTF8.self)])
        },
        revision: 1)
    let snapshot = IndexSnapshot.build(policy: policy, state: state, revision: 1)

    var slots = Set<PermissionSlot>()
    for (index, bytes) in keys.enumerated() {
        let slot = try #require(withBytes(bytes) { snapshot.permissionSlot($0) }, "key of \(bytes.count) bytes")
        slots.insert(slot)
        #expect(withBytes(Array(users[index].utf8)) { user in
            withBytes(Array("org".utf8)) { organization in
                withBytes(bytes) { snapshot.check(user: user, organization: organization, permission: $0) }
            }
        })
        for position in changedPositions(bytes.count) {
            let near = changing(bytes, at: position, alphabet: keyAlphabet)
            if defined.contains(near) { continue }
            #expect(withBytes(near) { snapshot.permissionSlot($0) } == nil, "\(bytes.count) bytes, changed at \(position)")
        }
        #expect(withBytes(Array(bytes.dropLast())) { snapshot.permissionSlot($0) } == nil || bytes.count == 1
            || defined.contains(Array(bytes.dropLast())))
        #expect(withBytes(bytes + [keyAlphabet[0]]) { snapshot.permissionSlot($0) } == nil
            || defined.contains(bytes + [keyAlphabet[0]]))
    }
    #expect(slots.count == keys.count)
    #expect(withBytes([]) { snapshot.permissionSlot($0) } == nil)
    #expect(withBytes(Array(repeating: UInt8(ascii: "a"), count: 300)) { snapshot.permissionSlot($0) } == nil)
}

@Test func permissionKeysThatDifferInOneByteAreToldApartInACrowdedTable() throws {
    // Eight keys in a table of sixteen slots that differ in one byte only: a lookup of a ninth
    // such key probes past its siblings, so every word of the record must be compared.
    for length in [3, 7, 8, 12, 15, 16, 20, 23, 24, 28, 31, 32, 40, 64, Identifier.maxKeyLength] {
        let base = key(length: length, seed: length, alphabet: keyAlphabet)
        for position in changedPositions(length) {
            let variants = keyAlphabet.map { byte in
                var variant = base
                variant[position] = byte
                return variant
            }
            let defined = variants.prefix(8)
            let policy = PolicySet(
                permissions: defined.map { PermissionDefinition(key: String(decoding: $0, as: UTF8.self)) }, roles: [],
                organizations: [OrganizationDefinition(code: "org")], settings: PolicySettings(defaultOrganization: "org"))
            let snapshot = IndexSnapshot.build(policy: policy, state: InMemoryState(), revision: 1)
            let slots = try defined.map { bytes in
                try #require(withBytes(bytes) { snapshot.permissionSlot($0) }, "\(length) bytes, byte \(position)")
            }
            #expect(Set(slots).count == defined.count)
            for bytes in variants.dropFirst(8) {
                #expect(withBytes(bytes) { snapshot.permissionSlot($0) } == nil, "\(length) bytes, byte \(position)")
            }
        }
    }
}

@Test func everyUserIDAndOrganizationCodeLengthFindsExactlyItsMembership() {
    let lengths = Array(1...40) + [64, 100, 128, 200, Identifier.maxIDLength]
    let users = lengths.map { String(decoding: key(length: $0, seed: $0, alphabet: idAlphabet), as: UTF8.self) }
    let organizations = lengths.map { String(decoding: key(length: $0, seed: 3 * $0, alphabet: idAlphabet), as: UTF8.self) }
    let state = InMemoryState(
        organizations: organizations, users: users,
        memberships: users.indices.map { .init(user: users[$0], organization: organizations[$0], roles: ["admin"]) },
        revision: 1)
    let snapshot = IndexSnapshot.build(policy: testPolicy, state: state, revision: 1)
    let permission = Array("read:invoices".utf8)

    func check(_ user: [UInt8], _ organization: [UInt8]) -> Bool {
        withBytes(user) { user in
            withBytes(organization) { organization in
                withBytes(permission) { snapshot.check(user: user, organization: organization, permission: $0) }
            }
        }
    }

    for index in users.indices {
        let user = Array(users[index].utf8), organization = Array(organizations[index].utf8)
        #expect(check(user, organization), "user of \(user.count) bytes in an organization of \(organization.count)")
        for position in changedPositions(user.count) {
            #expect(!check(changing(user, at: position, alphabet: idAlphabet), organization), "user changed at \(position)")
        }
        for position in changedPositions(organization.count) {
            #expect(!check(user, changing(organization, at: position, alphabet: idAlphabet)), "code changed at \(position)")
        }
        #expect(!check(user + [idAlphabet[0]], organization))
        // Every user is a member of its own organization only.
        #expect(!check(user, Array(organizations[(index + 1) % organizations.count].utf8)))
    }
}

/// A CHECK finds a membership by walking the user's first few memberships when the
/// organization code is short, and by the membership table otherwise (a long code, or a user in
/// more organizations than the walk looks at). Every path must give the answer EXPLAIN
/// gives, for members, non-members, and after memberships go.
@Test func checkFindsTheMembershipByEveryPath() {
    // Codes of 3 to 22 bytes: the short ones are compared by record, the long ones probed.
    let codes = (0..<9).map { "org" + String(repeating: "x", count: $0 * 2) + "\($0)" } + ["org_a", "org_b"]
    let memberships = codes.prefix(9).map {
        InMemoryState.Membership(user: "many", organization: $0, roles: ["viewer"])
    } + [InMemoryState.Membership(user: "few", organization: "org_b", roles: ["admin"]),
         InMemoryState.Membership(user: "few", organization: codes[8], roles: ["viewer"])]
    let state = InMemoryState(organizations: codes, users: ["many", "few", "none"], memberships: memberships, revision: 1)
    let full = IndexSnapshot.build(policy: testPolicy, state: state, revision: 1)
    let permissions = ["read:invoices", "delete:org"]
    let users = ["many", "few", "none", "nobody"]
    func expectAgreement(_ snapshot: IndexSnapshot) {
        for user in users {
            for code in codes + ["org_zz", "orgxxxxxxxxxxxxxxxxxxxxxxx"] {
                for permission in permissions {
                    let explained = snapshot.explain(user: user, organization: code, permission: permission).allows
                    #expect(checkBytes(snapshot, user, code, permission) == explained, "\(user) \(code) \(permission)")
                }
            }
        }
    }
    expectAgreement(full)
    #expect(checkBytes(full, "many", codes[0], "read:invoices"))
    #expect(checkBytes(full, "many", codes[8], "read:invoices"))
    #expect(!checkBytes(full, "many", "org_b", "read:invoices"))
    #expect(checkBytes(full, "few", "org_b", "delete:org"))
    // Take memberships away, first and last of the user's list among them.
    let removals = [codes[0], codes[4], codes[8]].enumerated().map { index, code in
        ChangeRecord(revision: UInt64(2 + index), change: .membershipRemoved(user: "many", organization: code))
    }
    let changed = full.applying(removals)!
    expectAgreement(changed)
    #expect(!checkBytes(changed, "many", codes[0], "read:invoices"))
    #expect(checkBytes(changed, "many", codes[1], "read:invoices"))
}
