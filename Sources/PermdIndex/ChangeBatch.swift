import PermdCore
import PermdPolicy

/// The changes of the change log applied to a copy of a snapshot's storage, as they are
/// read: what `IndexSnapshot.applying` runs, for one change or for the hundreds of
/// thousands an import logs.
///
/// An import logs a user's changes together (the user, its membership, the membership's
/// roles and grants), so a batch keeps what the last changes found: the membership they
/// named (its roles and grants need no lookup, and its effective bits are computed once,
/// when the batch moves on) and the user and organization slots. New memberships join
/// their organization's member list at the end, sorted and merged in one pass per
/// organization, instead of one binary search over a list of a million members each.
struct ChangeBatch: ChangeSink, Sendable {
    private(set) var storage: IndexStorage
    let policy: PolicySet
    /// Changes at or below this revision are in the storage already.
    let base: UInt64
    /// The newest revision applied.
    private(set) var revision: UInt64
    /// Whether a change needs a full rebuild instead (`.policyReloaded`).
    private(set) var needsFullBuild = false

    /// The membership the last grant or role change named, and whether its effective bits
    /// wait for `recomputeEffective`.
    private var current: (membership: Int, stale: Bool)?
    /// The user slot the last change found, tried before hashing.
    private var lastUser = -1
    /// The organization slot the last change found, tried before hashing.
    private var lastOrganization = -1
    /// Memberships added but not yet in their organization's member list.
    private var unlisted: [UInt32] = []

    init(_ snapshot: IndexSnapshot) {
        storage = snapshot.storage
        policy = snapshot.policy
        base = snapshot.revision
        revision = snapshot.revision
    }

    mutating func change(revision: UInt64, _ kind: ChangeKind, user: UnsafeRawBufferPointer,
                         organization: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) -> Bool {
        guard revision > base, !needsFullBuild else { return !needsFullBuild }
        self.revision = max(self.revision, revision)
        switch kind {
        case .policyReloaded:
            needsFullBuild = true
            return false
        case .profileUpdated, .organizationUpdated:
            break
        case .userAdded:
            lastUser = storage.addUser(user)
        case .organizationAdded:
            storage.addOrganization(organization)
        case .membershipAdded:
            guard let user = userSlot(user), let organization = organizationSlot(organization) else { break }
            let rows = storage.rows.rowCount
            let membership = storage.addMembership(user: user, organization: organization, sorted: false)
            if membership == rows { unlisted.append(UInt32(membership)) }
            settle(at: membership)
        case .roleAssigned, .roleUnassigned:
            guard let membership = membership(user, organization) else { break }
            storage.setRole(membership: membership, role: key, to: kind == .roleAssigned)
            current?.stale = true
        case .permissionGranted, .permissionRevoked:
            guard let membership = membership(user, organization) else { break }
            storage.setDirect(membership: membership, permission: key, to: kind == .permissionGranted)
            current?.stale = true
        case .userRemoved, .organizationRemoved, .membershipRemoved:
            // Removals find memberships in the member lists: those must be complete.
            listMembers()
            settle(at: nil)
            switch kind {
            case .userRemoved:
                storage.removeUser(user)
            case .membershipRemoved:
                storage.removeMembership(user: user, organization: organization)
            default:
                let code = String(decoding: organization, as: UTF8.self)
                storage.removeOrganization(code, declared: policy.declaredOrganization(code) != nil)
            }
        }
        return true
    }

    /// The storage with every change applied, or nil when it needs a full rebuild.
    mutating func finish() -> IndexStorage? {
        guard !needsFullBuild else { return nil }
        settle(at: nil)
        listMembers()
        return storage
    }

    /// The slot of known user `bytes`, trying the last one found first.
    private mutating func userSlot(_ bytes: UnsafeRawBufferPointer) -> Int? {
        if lastUser >= 0, storage.users.keys.key(lastUser, is: bytes) {
            return storage.users.isKnown(lastUser) ? lastUser : nil
        }
        guard let slot = storage.users.slot(bytes) else { return nil }
        lastUser = slot
        return slot
    }

    /// The slot of known organization `bytes`, trying the last one found first.
    private mutating func organizationSlot(_ bytes: UnsafeRawBufferPointer) -> Int? {
        if lastOrganization >= 0, storage.organizations.keys.key(lastOrganization, is: bytes) {
            return storage.organizations.isKnown(lastOrganization) ? lastOrganization : nil
        }
        guard let slot = storage.organizations.slot(bytes) else { return nil }
        lastOrganization = slot
        return slot
    }

    /// The live membership of `user` in `organization`: the current one when it is that
    /// (compared by key, no hashing), otherwise looked up and made current.
    private mutating func membership(_ user: UnsafeRawBufferPointer, _ organization: UnsafeRawBufferPointer) -> Int? {
        if let current, storage.isMembership(current.membership, ofUser: user, inOrganization: organization) {
            return current.membership
        }
        guard let user = userSlot(user), let organization = organizationSlot(organization),
              let membership = storage.membershipSlot(userSlot: user, organizationSlot: organization) else { return nil }
        settle(at: membership)
        return membership
    }

    /// Makes `membership` current, first computing the effective bits of the one before.
    private mutating func settle(at membership: Int?) {
        if let current, current.stale, current.membership != membership { storage.recomputeEffective(current.membership) }
        current = membership.map { ($0, current?.membership == $0 && current?.stale == true) }
    }

    /// Puts the memberships added so far into their organizations' member lists.
    private mutating func listMembers() {
        guard !unlisted.isEmpty else { return }
        storage.listMembers(unlisted)
        unlisted.removeAll(keepingCapacity: true)
    }
}
