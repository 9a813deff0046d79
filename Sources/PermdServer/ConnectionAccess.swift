import NIOCore
import PermdCore

/// What a connection may do (SPEC §5 `AUTH`): raised by a token, never lowered; and which
/// admin token raised it, for the audit log (SPEC §9 `token:<name>`).
struct ConnectionAccess: Equatable {
    enum Level: Comparable {
        /// Only `AUTH` and `QUIT` (the server has a query token and none was given yet).
        case none
        /// Queries.
        case query
        /// Queries and writes (an admin token was given).
        case admin
    }

    private(set) var level: Level
    /// The name of the admin token given (its file's base name); nil until one is.
    private(set) var adminTokenName: String?

    /// The access of a new connection: queries, unless the server asks for a query token.
    init(queryTokenRequired: Bool) {
        level = queryTokenRequired ? .none : .query
    }

    /// Whether the connection may query.
    var mayQuery: Bool { level >= .query }

    /// Whether an admin token was given.
    var isAdmin: Bool { level == .admin }

    /// Grants `level`, keeping a higher access already granted; an admin token names itself
    /// (the latest one given, should a connection give two).
    mutating func raise(to level: Level, adminToken name: String? = nil) {
        self.level = max(self.level, level)
        if level == .admin, let name { adminTokenName = name }
    }
}

/// Where a connection comes from, as the audit log names it (SPEC §9).
enum ConnectionPeer: Equatable, CustomStringConvertible {
    /// A TCP peer: `127.0.0.1:50432`, `[::1]:50432`.
    case network(address: String)
    /// A Unix-socket peer and its uid (from `SO_PEERCRED`; nil when it could not be read).
    case unix(uid: UInt32?)

    /// The TCP peer `address` names (`unknown` when NIO does not know it).
    init(_ address: SocketAddress?) {
        guard let address, let ip = address.ipAddress, let port = address.port else {
            self = .network(address: "unknown")
            return
        }
        if case .v6 = address {
            self = .network(address: "[\(ip)]:\(port)")
        } else {
            self = .network(address: "\(ip):\(port)")
        }
    }

    /// `127.0.0.1:50432`, `unix uid=1000`.
    var description: String {
        switch self {
        case .network(let address): address
        case .unix(let uid): "unix uid=" + (uid.map { String($0) } ?? "unknown")
        }
    }
}

extension ConnectionAccess {
    /// Who this connection's writes are logged as: the admin token it gave, with the peer;
    /// else, on the Unix socket (trusted without a token when none is configured), `unix`
    /// with the peer's uid. A network connection writes only with an admin token, so the
    /// last case is never logged.
    func actor(from peer: ConnectionPeer) -> ChangeActor {
        if let name = adminTokenName { return .token(name: name, peer: peer.description) }
        switch peer {
        case .unix(let uid): return .unix(uid: uid)
        case .network: return .unknown
        }
    }
}
