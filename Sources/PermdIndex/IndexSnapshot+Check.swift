public import PermdCore

/// The CHECK evaluator: one membership lookup, then `decide` for each permission. The
/// server's CHECK, `permd check`, `permd test` and EXPLAIN's verdict all reach their answer
/// through `decide`; the `String` forms only lend their bytes.
///
/// Hot path: byte slices, no `String`, no allocation.
extension IndexSnapshot {
    /// The membership of `user` in `organization`, or nil when there is none (the user or
    /// the organization unknown, or the user not a member): looked up once for a CHECK of
    /// several permissions.
    ///
    /// It skips the known flags: a removed user or organization has no membership left.
    /// Each table is reached from the snapshot (`storage.users`, `storage.organizations`):
    /// a method of `IndexStorage` receives the whole storage, so every field it reads is
    /// loaded at the call, and the dozen values held across the three lookups spilled to
    /// the stack (~15 more instructions per CHECK).
    @inline(__always)
    public func membershipSlot(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) -> MembershipSlot? {
        guard let (user, hint) = storage.users.keys.entry(user) else { return nil }
        // A short organization code (most are) is compared with the organizations of the
        // user's memberships instead of being hashed and probed for: for a user of one or
        // two memberships (most), those the user's slot names, whose rows are loaded
        // straight from it (two dependent cache misses: slot, rows); else the user's first
        // few memberships, through the list.
        if UInt(bitPattern: organization.count &- 1) < UInt(ByteTable.inlineBytes), let start = organization.baseAddress {
            let record = keyRecord(start, count: organization.count)
            var search = UserMembershipLists.search(hint: hint, organizationRecord: (record.0, record.1),
                                                    rows: storage.rows, organizations: storage.organizations.keys)
            if case .tooMany = search {
                search = storage.membershipsOfUser.search(user: user, organizationRecord: (record.0, record.1),
                                                          rows: storage.rows, organizations: storage.organizations.keys)
            }
            switch search {
            case .found(let membership): return MembershipSlot(rawValue: membership)
            case .absent: return nil
            case .tooMany: break
            }
        }
        guard let organization = storage.organizations.keys.find(organization) else { return nil }
        let owner = IndexStorage.owner(user: user, organization: organization)
        return storage.membershipTable.membership(owner: owner, rows: storage.rows).map(MembershipSlot.init(rawValue:))
    }

    /// The bit of a permission key, or nil when the policies do not define it.
    @inline(__always)
    public func permissionSlot(_ permission: UnsafeRawBufferPointer) -> PermissionSlot? {
        storage.policy.permissionTable.find(permission).map(PermissionSlot.init(rawValue:))
    }

    /// The verdict of a CHECK: whether `membership` (from `membershipSlot`) holds
    /// `permission`. No membership, or a permission the policies do not define, denies.
    ///
    /// Inlinable so that a caller in another module (the server's CHECK of several
    /// permissions) tests for no membership itself and makes no call then.
    @inlinable @inline(__always)
    public func decide(_ membership: MembershipSlot?, _ permission: UnsafeRawBufferPointer) -> Bool {
        guard let membership else { return false }
        return holds(membership, permission)
    }

    /// Whether `membership` holds `permission` (false when the policies do not define it).
    ///
    /// The permission is looked up after the membership: its lookup needs the most
    /// registers, and by then only the membership's row is held. (Its table is small and
    /// stays in cache, so the CPU can run it while the row is still on its way from memory.)
    @usableFromInline @inline(__always)
    func holds(_ membership: MembershipSlot, _ permission: UnsafeRawBufferPointer) -> Bool {
        guard let bit = storage.policy.permissionTable.find(permission) else { return false }
        return storage.holds(membership.rawValue, bit)
    }

    /// Whether `user` holds `permission` in `organization`; unknowns answer false.
    @inline(__always)
    public func check(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                      permission: UnsafeRawBufferPointer) -> Bool {
        decide(membershipSlot(user: user, organization: organization), permission)
    }

    /// Whether `user` holds `permission` in `organization`; unknowns answer false.
    public func check(user: String, organization: String, permission: String) -> Bool {
        withBytes(user) { user in
            withBytes(organization) { organization in
                withBytes(permission) { check(user: user, organization: organization, permission: $0) }
            }
        }
    }

    // MARK: EXPLAIN

    /// The verdict of `decide`, with its reasons: the held roles that grant `permission`
    /// (sorted by key) then `direct`, or the first deny reason in `DenyReason` order.
    public func explain(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                        permission: UnsafeRawBufferPointer) -> Explanation {
        let membership = membershipSlot(user: user, organization: organization)
        guard decide(membership, permission), let membership, let bit = permissionSlot(permission) else {
            return .deny(denyReason(user: user, organization: organization, isMember: membership != nil,
                                    permission: permission))
        }
        var sources: [GrantSource] = []
        for (role, key) in storage.policy.roleKeys.enumerated()
        where storage.hasRole(membership.rawValue, role) && storage.policy.role(role, grants: bit.rawValue) {
            sources.append(.role(key))
        }
        if storage.hasDirect(membership.rawValue, bit.rawValue) { sources.append(.direct) }
        assert(!sources.isEmpty, "an effective bit comes from a role or a direct grant")
        return .allow(sources)
    }

    /// The verdict of `decide`, with its reasons (see the bytes form).
    public func explain(user: String, organization: String, permission: String) -> Explanation {
        withBytes(user) { user in
            withBytes(organization) { organization in
                withBytes(permission) { explain(user: user, organization: organization, permission: $0) }
            }
        }
    }

    /// Why `decide` denied: the first that applies of unknown user, unknown organization,
    /// not a member, unknown permission, else not granted.
    private func denyReason(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer, isMember: Bool,
                            permission: UnsafeRawBufferPointer) -> DenyReason {
        if storage.users.slot(user) == nil { return .unknownUser }
        if storage.organizations.slot(organization) == nil { return .unknownOrganization }
        if !isMember { return .notMember }
        if permissionSlot(permission) == nil { return .unknownPermission }
        return .notGranted
    }
}
