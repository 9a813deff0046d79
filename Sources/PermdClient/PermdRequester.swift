public import PermdCore
public import PermdProtocol

/// Something that sends request lines and returns their replies in order: a connection or
/// a pool. Every command of SPEC §5 is a typed method on it; an `ERR` reply throws `PermdError`.
public protocol PermdRequester: Sendable {
    /// Sends the requests (pipelined) and returns their replies in order.
    func send(_ requests: [ClientRequest]) async throws -> [ReplyLine]
}

extension PermdRequester {
    /// The reply to one request, read by `reading`; `ERR` throws `PermdError`, a reply that
    /// does not read throws `PermdClientError.unexpectedReply`.
    public func request<Answer>(_ request: ClientRequest, reading: (ReplyLine) -> Answer?) async throws -> Answer {
        guard let reply = try await send([request]).first else { throw PermdClientError(.closed) }
        return try Self.read(reply, of: request.command, reading)
    }

    /// `reply` read by `reading`, or the error it is.
    public static func read<Answer>(_ reply: ReplyLine, of command: Command, _ reading: (ReplyLine) -> Answer?) throws -> Answer {
        if let error = reply.error { throw PermdError(error) }
        guard let answer = reading(reply) else { throw PermdClientError(.unexpectedReply(command: command, reply: reply.text)) }
        return answer
    }

    private func revision(_ command: Command, _ arguments: [String], json: String? = nil) async throws -> UInt64 {
        try await request(try ClientRequest(command, arguments, json: json)) { $0.revision }
    }

    // MARK: Session

    /// `AUTH <token>`: raises this connection's access (a pool authenticates each connection itself).
    public func authenticate(_ token: String) async throws {
        _ = try await request(try ClientRequest(.auth, [token])) { $0.items }
    }

    /// `PING`.
    public func ping() async throws {
        _ = try await request(try ClientRequest(.ping)) { $0.head == "PONG" ? () : nil }
    }

    // MARK: Queries

    /// `CHECK user org permission`: whether the user holds it there.
    public func check(_ user: String, _ organization: String, _ permission: String) async throws -> Bool {
        try await check(user, organization, [permission])[0]
    }

    /// `CHECK user org p1 p2 ...`: one decision per permission, in order.
    public func check(_ user: String, _ organization: String, _ permissions: [String]) async throws -> [Bool] {
        let request = try ClientRequest(.check, [user, organization] + permissions)
        return try await self.request(request) { $0.decisions?.count == permissions.count ? $0.decisions : nil }
    }

    /// `PERMS user org`: the permission keys the user holds there, sorted.
    public func permissions(user: String, organization: String) async throws -> [String] {
        try await request(try ClientRequest(.perms, [user, organization])) { $0.items }
    }

    /// `ROLES user org`: the role keys the user holds there, sorted.
    public func roles(user: String, organization: String) async throws -> [String] {
        try await request(try ClientRequest(.roles, [user, organization])) { $0.items }
    }

    /// `ORGS user [perm]`: the user's organizations (those where the permission is held, when given).
    public func organizations(user: String, permission: String? = nil) async throws -> [String] {
        try await request(try ClientRequest(.orgs, [user] + (permission.map { [$0] } ?? []))) { $0.items }
    }

    /// `WHO org perm`: every user holding the permission there, reading page after page.
    public func who(organization: String, permission: String, pageSize: Int = Query.defaultWhoLimit) async throws -> [String] {
        var users: [String] = []
        var after = Query.whoFromStart
        while true {
            let request = try ClientRequest(.who, [organization, permission, after, "\(pageSize)"])
            let page = try await self.request(request) { $0.whoPage }
            users += page.users
            guard page.more, let last = page.users.last else { return users }
            after = last
        }
    }

    /// `EXPLAIN user org perm`: what grants it, or why it is denied.
    public func explain(user: String, organization: String, permission: String) async throws -> Explanation {
        try await request(try ClientRequest(.explain, [user, organization, permission])) { $0.explanation }
    }

    /// `REVISION`: the revision this server's index includes.
    public func revision() async throws -> UInt64 {
        try await revision(.revision, [])
    }

    /// `SYNC revision [timeout]`: waits until the server includes the revision; `ERR STALE`
    /// (a `PermdError`) when it does not in time.
    public func sync(to revision: UInt64, timeoutMilliseconds: Int64? = nil) async throws -> UInt64 {
        try await self.revision(.sync, ["\(revision)"] + (timeoutMilliseconds.map { ["\($0)"] } ?? []))
    }

    /// `STATS`: the server's `key=value` figures.
    public func statistics() async throws -> [String: String] {
        try await request(try ClientRequest(.stats)) { $0.statistics }
    }

    // MARK: Writes (they need the admin token, or the Unix socket of a server without one)

    /// `USER.ADD {json}`: the new user's id and the revision that includes it.
    public func addUser(json: String) async throws -> (user: String, revision: UInt64) {
        let answer = try await request(try ClientRequest(.userAdd, json: json)) { $0.userAdded }
        return (answer.user, answer.revision)
    }

    /// `USER.DEL user`.
    @discardableResult
    public func deleteUser(_ user: String) async throws -> UInt64 {
        try await revision(.userDel, [user])
    }

    /// `ORG.ADD code [json]`.
    @discardableResult
    public func addOrganization(_ code: String, json: String? = nil) async throws -> UInt64 {
        try await revision(.orgAdd, [code], json: json)
    }

    /// `ORG.DEL code`.
    @discardableResult
    public func deleteOrganization(_ code: String) async throws -> UInt64 {
        try await revision(.orgDel, [code])
    }

    /// `MEMBER.ADD user org [role ...]` (no roles: the policy's default roles).
    @discardableResult
    public func addMember(user: String, organization: String, roles: [String] = []) async throws -> UInt64 {
        try await revision(.memberAdd, [user, organization] + roles)
    }

    /// `MEMBER.DEL user org`.
    @discardableResult
    public func removeMember(user: String, organization: String) async throws -> UInt64 {
        try await revision(.memberDel, [user, organization])
    }

    /// `ROLE.ADD user org role`.
    @discardableResult
    public func addRole(user: String, organization: String, role: String) async throws -> UInt64 {
        try await revision(.roleAdd, [user, organization, role])
    }

    /// `ROLE.DEL user org role`.
    @discardableResult
    public func removeRole(user: String, organization: String, role: String) async throws -> UInt64 {
        try await revision(.roleDel, [user, organization, role])
    }

    /// `PERM.ADD user org perm`.
    @discardableResult
    public func addPermission(user: String, organization: String, permission: String) async throws -> UInt64 {
        try await revision(.permAdd, [user, organization, permission])
    }

    /// `PERM.DEL user org perm`.
    @discardableResult
    public func removePermission(user: String, organization: String, permission: String) async throws -> UInt64 {
        try await revision(.permDel, [user, organization, permission])
    }

    /// `SIGNIN {json}`: signed in, signed up, or asked to choose an organization.
    public func signIn(json: String) async throws -> SignInResult {
        try await request(try ClientRequest(.signIn, json: json)) { $0.signIn }
    }

    /// `RELOAD`: the policies and token files read again; the revision served.
    @discardableResult
    public func reload() async throws -> UInt64 {
        try await revision(.reload, [])
    }
}
