/// A membership of the index, as a dense integer: the result of `membershipSlot`, valid
/// only with the snapshot that returned it.
public struct MembershipSlot: Sendable, Hashable {
    let rawValue: Int
}
