/// Who made a change (SPEC §9's audit log): the part of the log that says who, kept with
/// every revision. Stored as two texts, `actor` (`token:app1`, `unix`, `cli:root`, …) and
/// `actor_detail` (the peer address, `uid=1000`, the provider); `stored`, `init(stored:detail:)`
/// and `description` are the one place that writes, reads and prints them.
public enum ChangeActor: Sendable, Hashable, CustomStringConvertible {
    /// A connection that gave an admin token: the token file's base name, and the peer
    /// (`127.0.0.1:50432`, `[::1]:50432`, or `unix uid=1000` over the Unix socket).
    case token(name: String, peer: String)
    /// A Unix-socket connection without `AUTH` (trusted when no admin token is configured):
    /// the peer's uid, as the kernel gives it; nil when it could not be read.
    case unix(uid: UInt32?)
    /// A management command (`permd user add`, …): the operating-system user who ran it.
    case cli(user: String)
    /// `permd import`: the imported file's base name (`-` for standard input).
    case importFile(name: String)
    /// A `SIGNIN`: a user signed in (or up) through `provider`.
    case signIn(provider: String)
    /// The declared organizations, synced from the policy files at open and at a reload
    /// that did not come from a connection (SIGHUP).
    case policy
    /// An entry logged before the audit log existed (an older schema).
    case unknown

    /// The stored form: the `actor` text and the `actor_detail` text (nil when none).
    public var stored: (actor: String, detail: String?) {
        switch self {
        case .token(let name, let peer): ("token:" + name, peer)
        case .unix(let uid): ("unix", uid.map { "uid=\($0)" })
        case .cli(let user): ("cli:" + user, nil)
        case .importFile(let name): ("import:" + name, nil)
        case .signIn(let provider): ("signin", provider)
        case .policy: ("policy", nil)
        case .unknown: ("unknown", nil)
        }
    }

    /// The actor a stored pair names; a text this build does not know reads as `.unknown`.
    /// - Parameters:
    ///   - actor: the `actor` text.
    ///   - detail: the `actor_detail` text.
    public init(stored actor: String, detail: String?) {
        let (word, name) = Self.split(actor)
        switch (word, name) {
        case ("token", let name?): self = .token(name: name, peer: detail ?? "")
        case ("unix", nil): self = .unix(uid: detail.flatMap { $0.hasPrefix("uid=") ? UInt32($0.dropFirst(4)) : nil })
        case ("cli", let user?): self = .cli(user: user)
        case ("import", let file?): self = .importFile(name: file)
        case ("signin", nil): self = .signIn(provider: detail ?? "")
        case ("policy", nil): self = .policy
        default: self = .unknown
        }
    }

    /// `token:app1 (127.0.0.1:50432)`, `unix (uid=1000)`, `cli:root`, `signin (google)`: the
    /// stored actor, then its detail in parentheses.
    public var description: String {
        let (actor, detail) = stored
        guard let detail, !detail.isEmpty else { return actor }
        return "\(actor) (\(detail))"
    }

    /// `token:app1` as (`token`, `app1`); `unix` as (`unix`, nil).
    private static func split(_ actor: String) -> (String, String?) {
        guard let colon = actor.firstIndex(of: ":") else { return (actor, nil) }
        return (String(actor[..<colon]), String(actor[actor.index(after: colon)...]))
    }
}

/// A write with who asks for it: what `StateStore.perform` logs each revision with.
public struct AttributedWrite: Sendable, Hashable {
    public var write: Write
    public var actor: ChangeActor

    /// A sign-in is attributed to its provider (SPEC §9: `signin` with the provider), whoever
    /// relayed it; every other write to `actor`.
    /// - Parameters:
    ///   - write: the write.
    ///   - actor: who asks for it (the connection, the CLI user).
    public init(_ write: Write, by actor: ChangeActor) {
        self.write = write
        if case .signIn(let request) = write {
            self.actor = .signIn(provider: request.provider)
        } else {
            self.actor = actor
        }
    }
}
