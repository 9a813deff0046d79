public import NIOCore
public import PermdCore

/// A request of the line protocol, decoded (SPEC §5): a query answered from the index, a
/// change for the writer, or a command about the connection itself. Each is authorized
/// differently, so that a write can never be answered as a query.
public enum Request: Sendable, Equatable {
    /// A question answered from the current snapshot (needs the query token when one is set).
    case query(Query)
    /// A change carried out by the writer (needs the admin token).
    indirect case write(WriteRequest)
    /// `AUTH` or `QUIT`: always allowed.
    case session(SessionCommand)

    /// Parses and decodes one line in one step (for callers that authorize nothing;
    /// the server authorizes between `RequestLine.parse` and `RequestLine.decode`).
    public static func decode(_ line: ByteBuffer) -> Result<Request, ProtocolError> {
        RequestLine.parse(line).flatMap { line in
            Result { () throws(ProtocolError) in try line.decode() }
        }
    }
}

/// A query, with its arguments parsed.
public enum Query: Sendable, Equatable {
    /// `CHECK <user> <org> <perm>...`: a view over the line's words, read without allocating.
    case check(CheckQuery)
    /// `PERMS <user> <org>`
    case permissions(user: String, organization: String)
    /// `ROLES <user> <org>`
    case roles(user: String, organization: String)
    /// `ORGS <user> [<perm>]`
    case organizations(user: String, permission: String?)
    /// `WHO <org> <perm> [<after> [<limit>]]`; `after` nil starts at the first id.
    case who(organization: String, permission: String, after: String?, limit: Int)
    /// `EXPLAIN <user> <org> <perm>`
    case explain(user: String, organization: String, permission: String)
    /// `REVISION`
    case revision
    /// `SYNC <revision> [<timeout_ms>]`
    case sync(revision: UInt64, timeoutMilliseconds: Int64)
    /// `PING`
    case ping
    /// `STATS`
    case stats
    /// `HELP`
    case help

    /// The page size of `WHO` when the client gives none.
    public static let defaultWhoLimit = 1000
    /// `WHO`'s `<after>` for the first page.
    public static let whoFromStart = "-"
    /// The longest page `WHO` returns.
    public static let maxWhoLimit = 100_000
    /// How long `SYNC` waits when the client gives no timeout, in milliseconds.
    public static let defaultSyncTimeout: Int64 = 1000
    /// The longest wait `SYNC` accepts, in milliseconds.
    public static let maxSyncTimeout: Int64 = 60_000
}

/// The words of a `CHECK`, as byte slices of the request line: the user, the
/// organization, then one to `Command.maxCheckedPermissions` permissions.
public struct CheckQuery: Sendable, Equatable {
    @usableFromInline let line: RequestLine

    init(_ line: RequestLine) {
        self.line = line
    }

    /// Calls `body` with an iterator over the words: user, organization, permissions.
    @inlinable
    public func withWords<Result>(_ body: (inout Words) throws -> Result) rethrows -> Result {
        try line.withArguments(body)
    }

    public static func == (lhs: CheckQuery, rhs: CheckQuery) -> Bool {
        lhs.line.line == rhs.line.line
    }
}

/// What the writer carries out: a change of the state, or `RELOAD` of the policies.
public enum WriteRequest: Sendable, Hashable {
    /// A change of the state, through the store's single write path.
    case write(Write)
    /// `RELOAD`: read the policy files again and rebuild the index.
    case reload
}

/// A command about the connection itself.
public enum SessionCommand: Sendable, Hashable {
    /// `AUTH <token>`
    case auth(token: String)
    /// `QUIT`: answer `OK`, then close.
    case quit
}

/// Why the writer did not carry out a `WriteRequest`.
public enum WriteFailure: Error, Sendable, Hashable {
    /// The rules refuse the write; nothing of it was stored.
    case refused(WriteRefusal)
    /// `RELOAD` found errors in the policy files (the first, for a person); the old index keeps serving.
    case invalidPolicies(String)
    /// The database is locked by another process (an import) past the write timeout, or cannot
    /// be reached; nothing was stored and the same write may succeed later.
    case unavailable(String)
    /// The database or the reload failed (details are in the server log); nothing was stored,
    /// unless the message says that the outcome is unknown (the commit's answer was lost).
    case failed(String)
}
