import PermdCore

/// The changes of the change log (`ChangeBatch` applies them), and the setters a full
/// build shares with them.
extension IndexStorage {
    // MARK: Users and organizations

    /// Marks the user known (interning it when new); returns its slot.
    @discardableResult
    mutating func addUser(_ id: UnsafeRawBufferPointer) -> Int {
        let (slot, isNew) = users.insert(id)
        if isNew { membershipsOfUser.appendUser() }
        return slot
    }

    /// Removes a user and its memberships.
    mutating func removeUser(_ id: UnsafeRawBufferPointer) {
        guard let user = users.slot(id) else { return }
        while let membership = membershipsOfUser.firstMembership(ofUser: user) { removeMembership(membership) }
        users.remove(user)
    }

    mutating func addOrganization(_ code: String) {
        withBytes(code) { addOrganization($0) }
    }

    mutating func addOrganization(_ code: UnsafeRawBufferPointer) {
        if organizations.insert(code).isNew { organizationMembers.append(MemberList()) }
    }

    /// Removes an organization and the memberships in it. A declared organization stays
    /// known (the policies make it exist), with no members.
    mutating func removeOrganization(_ code: String, declared: Bool) {
        guard let organization = organizations.slot(code) else { return }
        var doomed: [Int] = []
        organizationMembers[organization].forEach(from: (0, 0)) { doomed.append(Int($0)); return true }
        for membership in doomed { removeMembership(membership) }
        guard !declared else { return }
        organizations.remove(organization)
    }

    // MARK: Memberships

    /// Adds the membership of user slot `user` in organization slot `organization`; returns
    /// it. `sorted: false` leaves the organization's member list to `sortMembers()` or
    /// `listMembers(_:)`.
    @discardableResult
    mutating func addMembership(user: Int, organization: Int, sorted: Bool = true) -> Int {
        indexMemberships()
        if let existing = membershipSlot(userSlot: user, organizationSlot: organization) { return existing }
        membershipTable.reserve(entries: liveMemberships + 1, rows: rows)
        let owner = IndexStorage.owner(user: user, organization: organization)
        let membership = rows.appendRow(first: owner)
        membershipsOfUser.prepend(membership, toUser: user)
        users.setPayload(membershipsOfUser.hint(ofUser: user), of: user)
        membershipTable.insert(membership, owner: owner)
        liveMemberships += 1
        if sorted {
            organizationMembers[organization].insert(UInt32(membership), isBefore: isBefore(membership))
        }
        return membership
    }

    mutating func removeMembership(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) {
        guard let membership = membershipSlot(user: user, organization: organization) else { return }
        removeMembership(membership)
    }

    private mutating func removeMembership(_ membership: Int) {
        let (user, organization) = owner(of: membership)
        organizationMembers[organization].remove(UInt32(membership), isBefore: isBefore(membership))
        membershipsOfUser.remove(membership, ofUser: user)
        users.setPayload(membershipsOfUser.hint(ofUser: user), of: user)
        membershipTable.remove(membership, rows: rows)
        rows[membership, IndexStorage.ownerWord] = IndexStorage.deadOwner
        liveMemberships -= 1
    }

    // MARK: Roles and direct permissions

    /// Sets or clears a role's bit (unknown roles grant nothing and are ignored), leaving the
    /// effective bits to `recomputeEffective(_:)` (computed once per membership).
    mutating func setRole(membership: Int, role: UnsafeRawBufferPointer, to value: Bool) {
        guard let roleBit = policy.roleTable.find(role) else { return }
        rows.set(row: membership, word: roleWord, bit: roleBit, to: value)
    }

    /// Sets or clears a direct permission's bit (unknown permissions are ignored), leaving
    /// the effective bits to `recomputeEffective(_:)`.
    mutating func setDirect(membership: Int, permission: UnsafeRawBufferPointer, to value: Bool) {
        guard let bit = policy.permissionTable.find(permission) else { return }
        directGrants.set(membership, bit: bit, to: value)
    }

    /// Effective = OR of the assigned roles' bitsets | the direct bits (no allocation).
    mutating func recomputeEffective(_ membership: Int) {
        let width = policy.permissionWords
        for word in 0..<width {
            var value = directGrants.word(membership, word)
            for roleWordIndex in 0..<policy.roleWords {
                var roles = rows[membership, roleWord + roleWordIndex]
                while roles != 0 {
                    let role = roleWordIndex * 64 + roles.trailingZeroBitCount
                    value |= policy.roleGrants[role * width + word]
                    roles &= roles - 1
                }
            }
            rows[membership, IndexStorage.effectiveWord + word] = value
        }
    }

    // MARK: Ordering by user id

    /// Puts memberships added with `sorted: false` into their organizations' member lists:
    /// per organization, the new ones sorted by user id and merged in one pass.
    mutating func listMembers(_ added: [UInt32]) {
        var byOrganization: [Int: [UInt32]] = [:]
        for membership in added where rows[Int(membership), IndexStorage.ownerWord] != IndexStorage.deadOwner {
            byOrganization[owner(of: Int(membership)).organization, default: []].append(membership)
        }
        let isOrdered = userOrder()
        for (organization, var members) in byOrganization {
            // An import in id order (an export's order) needs no sort.
            if !zip(members, members.dropFirst()).allSatisfy({ isOrdered($0, $1) }) { members.sort(by: isOrdered) }
            organizationMembers[organization].insert(sorted: members, by: isOrdered)
        }
    }

    /// Orders two memberships by their users' ids.
    func userOrder() -> (UInt32, UInt32) -> Bool {
        // Captures only what it reads, so that a member list being changed is not shared
        // with the closure (which would force a copy).
        let rows = self.rows
        let users = self.users.keys
        return { a, b in
            users.isOrdered(Int(rows[Int(a), IndexStorage.ownerWord] >> 32),
                            before: Int(rows[Int(b), IndexStorage.ownerWord] >> 32))
        }
    }

    /// A predicate: is a membership's user id ordered before the user of `membership`?
    func isBefore(_ membership: Int) -> (UInt32) -> Bool {
        let user = owner(of: membership).user
        // Capture only the parts the predicate reads, so that the member list being
        // changed is not shared with the closure (which would force a copy).
        let rows = self.rows
        let users = self.users.keys
        return { other in
            users.isOrdered(Int(rows[Int(other), IndexStorage.ownerWord] >> 32), before: user)
        }
    }
}
