/// One page of a WHO answer: user ids in order, and whether more remain after them.
public struct WhoPage: Sendable, Hashable {
    public var users: [String]
    public var more: Bool

    /// - Parameters:
    ///   - users: the user ids of the page, sorted.
    ///   - more: whether users remain after the last one.
    public init(users: [String], more: Bool) {
        self.users = users
        self.more = more
    }
}
