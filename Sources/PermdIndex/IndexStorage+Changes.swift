import PermdCore

/// The changes of the change log, applied one at a time (`IndexSnapshot.applying(_:)`),
/// and the setters a full build shares with them.
extension IndexStorage {
    // MARK: Users and organizations

    mutating func addUser(_ id: String) {
        withBytes(id) { addUser($0) }
    }

    mutating func addUser(_ id: UnsafeRawBufferPointer) {
        if users.insert(id).isNew { membershipsOfUser.appendUser() }
    }

    /// Removes a user and its memberships.
    mutating func removeUser(_ id: String) {
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

    /// Adds the membership of a known user in a known organization (ignored otherwise);
    /// returns it. `sorted: false` leaves the organization's member list to `sortMembers()`.
    @discardableResult
    mutating func addMembership(user id: String, organization code: String, sorted: Bool = true) -> Int? {
        guard let user = users.slot(id), let organization = organizations.slot(code) else { return nil }
        return addMembership(user: user, organization: organization, sorted: sorted)
    }

    /// Adds the membership of user slot `user` in organization slot `organization`.
    @discardableResult
    mutating func addMembership(user: Int, organization: Int, sorted: Bool = true) -> Int {
        indexMemberships()
        if let existing = membershipSlot(userSlot: user, organizationSlot: organization) { return existing }
        membershipTable.reserve(entries: liveMemberships + 1, rows: rows)
        let owner = IndexStorage.owner(user: user, organization: organization)
        let membership = rows.appendRow(first: owner)
        membershipsOfUser.prepend(membership, toUser: user)
        membershipTable.insert(membership, owner: owner)
        liveMemberships += 1
        if sorted {
            organizationMembers[organization].insert(UInt32(membership), isBefore: isBefore(membership))
        }
        return membership
    }

    mutating func removeMembership(user id: String, organization code: String) {
        guard let membership = membershipSlot(user: id, organization: code) else { return }
        removeMembership(membership)
    }

    private mutating func removeMembership(_ membership: Int) {
        let (user, organization) = owner(of: membership)
        organizationMembers[organization].remove(UInt32(membership), isBefore: isBefore(membership))
        membershipsOfUser.remove(membership, ofUser: user)
        membershipTable.remove(membership, rows: rows)
        rows[membership, IndexStorage.ownerWord] = IndexStorage.deadOwner
        liveMemberships -= 1
    }

    // MARK: Roles and direct permissions

    /// Assigns or unassigns a role, and recomputes the membership's effective bits (unknown
    /// roles grant nothing and are ignored).
    mutating func setRole(user: String, organization: String, role: String, to value: Bool) {
        guard let membership = membershipSlot(user: user, organization: organization) else { return }
        withBytes(role) { setRole(membership: membership, role: $0, to: value) }
        recomputeEffective(membership)
    }

    /// Sets or clears a role's bit, leaving the effective bits to `recomputeEffective(_:)`
    /// (a full build computes them once per membership).
    mutating func setRole(membership: Int, role: UnsafeRawBufferPointer, to value: Bool) {
        guard let roleBit = policy.roleTable.find(role) else { return }
        rows.set(row: membership, word: roleWord, bit: roleBit, to: value)
    }

    /// Grants or revokes a direct permission, and recomputes the membership's effective bits
    /// (unknown permissions are ignored).
    mutating func setDirect(user: String, organization: String, permission: String, to value: Bool) {
        guard let membership = membershipSlot(user: user, organization: organization) else { return }
        withBytes(permission) { setDirect(membership: membership, permission: $0, to: value) }
        recomputeEffective(membership)
    }

    /// Sets or clears a direct permission's bit, leaving the effective bits to
    /// `recomputeEffective(_:)`.
    mutating func setDirect(membership: Int, permission: UnsafeRawBufferPointer, to value: Bool) {
        guard let bit = policy.permissionTable.find(permission) else { return }
        rows.set(row: membership, word: directWord, bit: bit, to: value)
    }

    /// Effective = OR of the assigned roles' bitsets | the direct bits (no allocation).
    mutating func recomputeEffective(_ membership: Int) {
        let width = policy.permissionWords
        for word in 0..<width {
            var value = rows[membership, directWord + word]
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

    /// A predicate: is a membership's user id ordered before the user of `membership`?
    func isBefore(_ membership: Int) -> (UInt32) -> Bool {
        let user = owner(of: membership).user
        // Capture only the parts the predicate reads, so that the member list being
        // changed is not shared with the closure (which would force a copy).
        let rows = self.rows
        let users = self.users.keys
        return { other in
            let otherUser = Int(rows[Int(other), IndexStorage.ownerWord] >> 32)
            return users.withKey(user) { users.compare(otherUser, $0) < 0 }
        }
    }
}
