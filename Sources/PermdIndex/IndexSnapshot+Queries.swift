extension IndexSnapshot {
    // MARK: Hot path: byte slices, no String, no allocation.

    /// Whether `user` holds `permission` in `organization`; unknowns answer false.
    ///
    /// The permission is looked up last: its lookup needs the most registers, and by then
    /// only the membership's row is held. (Its table is small and stays in cache, so the CPU
    /// can run it while the row is still on its way from memory.)
    @inline(__always)
    public func check(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                      permission: UnsafeRawBufferPointer) -> Bool {
        guard let membership = membership(user: user, organization: organization),
              let bit = storage.policy.permissionTable.find(permission) else { return false }
        return storage.holds(membership, bit)
    }

    /// The membership of `user` in `organization`, for checking several permissions.
    @inline(__always)
    public func membershipSlot(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) -> MembershipSlot? {
        membership(user: user, organization: organization).map(MembershipSlot.init(rawValue:))
    }

    /// The membership of `user` in `organization`, by bytes. It skips the known flags: a
    /// removed user or organization has no membership left.
    ///
    /// Each table is reached from the snapshot (`storage.users`, `storage.organizations`):
    /// a method of `IndexStorage` receives the whole storage, so every field it reads is
    /// loaded at the call, and the dozen values held across the three lookups spilled to
    /// the stack (~15 more instructions per CHECK).
    @inline(always)
    private func membership(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) -> Int? {
        guard let user = storage.users.keys.find(user) else { return nil }
        // A short organization code (most are) is compared with the organizations of the
        // user's first few memberships instead of being hashed and probed for.
        if UInt(bitPattern: organization.count &- 1) < UInt(ByteTable.inlineBytes), let start = organization.baseAddress {
            let record = keyRecord(start, count: organization.count)
            switch storage.membershipsOfUser.search(user: user, organizationRecord: (record.0, record.1),
                                                    rows: storage.rows, organizations: storage.organizations.keys) {
            case .found(let membership): return membership
            case .absent: return nil
            case .tooMany: break
            }
        }
        guard let organization = storage.organizations.keys.find(organization) else { return nil }
        return storage.membershipTable.membership(owner: IndexStorage.owner(user: user, organization: organization),
                                                  rows: storage.rows)
    }

    /// The bit of a permission key, or nil when the policies do not define it.
    @inline(__always)
    public func permissionSlot(_ permission: UnsafeRawBufferPointer) -> PermissionSlot? {
        storage.policy.permissionTable.find(permission).map(PermissionSlot.init(rawValue:))
    }

    /// Whether a membership holds a permission.
    @inline(__always)
    public func holds(_ membership: MembershipSlot, _ permission: PermissionSlot) -> Bool {
        storage.holds(membership.rawValue, permission.rawValue)
    }

    // MARK: Convenience and list queries.

    /// Whether `user` holds `permission` in `organization`; unknowns answer false.
    public func check(user: String, organization: String, permission: String) -> Bool {
        explain(user: user, organization: organization, permission: permission).allows
    }

    /// The held roles that grant `permission` (sorted by key) then `direct`, or the first
    /// deny reason in `DenyReason` order.
    public func explain(user: String, organization: String, permission: String) -> Explanation {
        guard let userSlot = storage.users.slot(user) else { return .deny(.unknownUser) }
        guard let organizationSlot = storage.organizations.slot(organization) else { return .deny(.unknownOrganization) }
        guard let membership = storage.membershipSlot(userSlot: userSlot, organizationSlot: organizationSlot) else {
            return .deny(.notMember)
        }
        guard let bit = storage.policy.permissionTable.find(permission) else { return .deny(.unknownPermission) }
        var sources: [GrantSource] = []
        for (role, key) in storage.policy.roleKeys.enumerated()
        where storage.hasRole(membership, role) && storage.policy.role(role, grants: bit) {
            sources.append(.role(key))
        }
        if storage.hasDirect(membership, bit) { sources.append(.direct) }
        return sources.isEmpty ? .deny(.notGranted) : .allow(sources)
    }

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
        keys(user, organization, from: storage.directWord, named: storage.policy.permissionKeys)
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
