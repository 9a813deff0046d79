/// A permission of the index, as its dense bit: the result of `permissionSlot`, valid with
/// any snapshot of the same policy set.
public struct PermissionSlot: Sendable, Hashable {
    let rawValue: Int
}
