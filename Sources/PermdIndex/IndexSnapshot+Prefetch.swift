import CPrefetch

/// Starting the memory loads of several CHECKs before answering the first.
///
/// A CHECK whose data is not in the caches waits for two dependent loads (the user's slot,
/// then its record and membership rows). Asked one after another, each request's misses
/// queue behind the last one's; a reader holding many requests at once (a pipelined burst)
/// can instead call `prefetchUser` for each, then `prefetchMemberships` for each (the slots
/// arrived meanwhile), then answer them in order: their misses overlap. Both are hints —
/// they change no answer, allocate nothing and take no lock.
extension IndexSnapshot {
    /// Starts loading the user table's slot of `user`.
    @inline(__always)
    public func prefetchUser(_ user: UnsafeRawBufferPointer) {
        storage.users.keys.prefetchSlot(user)
    }

    /// Starts loading the user's key record and the rows of the (up to two) memberships its
    /// slot names; best after `prefetchUser(user)` has had time to bring the slot in.
    @inline(__always)
    public func prefetchMemberships(ofUser user: UnsafeRawBufferPointer) {
        guard let hint = storage.users.keys.prefetchRecord(user),
              hint & 0xFFFF_FFFF != UserMembershipLists.hintOverflow else { return }
        prefetchRow(Int(truncatingIfNeeded: hint & 0xFFFF_FFFF) &- 1)
        prefetchRow(Int(truncatingIfNeeded: hint &>> 32) &- 1)
    }

    /// Starts loading both ends of membership `membership`'s row (a row may straddle two
    /// cache lines); nothing for -1 (no membership).
    @inline(__always)
    private func prefetchRow(_ membership: Int) {
        guard membership >= 0 else { return }
        let row = storage.rows.row(membership)
        permd_prefetch(row)
        permd_prefetch(row + (storage.rows.stride &- 1))
    }
}
