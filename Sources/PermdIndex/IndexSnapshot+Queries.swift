import PermdCore

extension IndexSnapshot {
    // MARK: List queries (off the hot path: they build Strings).

    /// The effective permissions of `user` in `organization`, sorted; empty for unknowns.
    public func permissions(user: String, organization: String) -> [String] {
        keys(user, organization, from: IndexStorage.effectiveWord, named: storage.policy.permissionKeys)
    }

    /// The roles assigned to `user` in `organization` (not those reached through
    /// includes), sorted; empty for unknowns.
    public func roles(user: String, organization: String) -> [String] {
        keys(user, organization, from: storage.roleWord, named: storage.policy.roleKeys)
    }

    /// The direct permissions of `user` in `organization`, sorted; empty for unknowns.
    public func directPermissions(user: String, organization: String) -> [String] {
        guard let membership = storage.membershipSlot(user: user, organization: organization) else { return [] }
        var keys: [String] = []
        let words = (0..<storage.policy.permissionWords).map { storage.directGrants.word(membership, $0) }
        forEachSetBit(words) { keys.append(storage.policy.permissionKeys[$0]) }
        return keys
    }

    /// The keys of the bits set in one part of a membership's row (bits are in key order).
    private func keys(_ user: String, _ organization: String, from word: Int, named names: [String]) -> [String] {
        guard let membership = storage.membershipSlot(user: user, organization: organization) else { return [] }
        let width = word == storage.roleWord ? storage.policy.roleWords : storage.policy.permissionWords
        var keys: [String] = []
        forEachSetBit(storage.words(membership, from: word, count: width)) { keys.append(names[$0]) }
        return keys
    }

    /// The organizations of `user`, or only those where it holds `permission`, sorted.
    public func organizations(user: String, permission: String? = nil) -> [String] {
        guard let userSlot = storage.users.slot(user) else { return [] }
        var bit: Int?
        if let permission {
            guard let known = storage.policy.permissionTable.find(permission) else { return [] }
            bit = known
        }
        var codes: [String] = []
        storage.forEachMembershipOfUser(userSlot) { membership in
            if let bit, !storage.holds(membership, bit) { return }
            codes.append(storage.organizations.keys.key(storage.owner(of: membership).organization))
        }
        return codes.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The users holding `permission` in `organization`, sorted by id, starting after the
    /// id `after` (nil: from the start), at most `limit` of them.
    public func who(organization: String, permission: String, after: String?, limit: Int) -> WhoPage {
        guard let organizationSlot = storage.organizations.slot(organization),
              let bit = storage.policy.permissionTable.find(permission), limit > 0 else {
            return WhoPage(users: [], more: false)
        }
        let list = storage.membersOfOrganization(organizationSlot)
        var start = (chunk: 0, offset: 0)
        if var after {
            start = after.withUTF8 { afterBytes in
                list.lowerBound { member in
                    let user = storage.owner(of: Int(member)).user
                    return storage.users.keys.compare(user, UnsafeRawBufferPointer(afterBytes)) <= 0
                }
            }
        }
        var users: [String] = []
        var more = false
        list.forEach(from: start) { member in
            guard storage.holds(Int(member), bit) else { return true }
            if users.count == limit {
                more = true
                return false
            }
            users.append(storage.users.keys.key(storage.owner(of: Int(member)).user))
            return true
        }
        return WhoPage(users: users, more: more)
    }

    /// Sizes of the snapshot, for STATS.
    public var statistics: IndexStatistics {
        IndexStatistics(
            users: storage.users.knownCount, organizations: storage.organizations.knownCount,
            memberships: storage.liveMemberships, roles: storage.policy.roleKeys.count,
            permissions: storage.policy.permissionKeys.count, indexBytes: storage.allocatedBytes,
            buildMilliseconds: buildMilliseconds)
    }

    /// Every live membership as (user, organization), for diffs and exports of the index.
    public func forEachMembership(_ body: (_ user: String, _ organization: String) -> Void) {
        for organization in 0..<storage.organizations.slotCount {
            let code = storage.organizations.keys.key(organization)
            storage.membersOfOrganization(organization).forEach(from: (0, 0)) { member in
                body(storage.users.keys.key(storage.owner(of: Int(member)).user), code)
                return true
            }
        }
    }
}
