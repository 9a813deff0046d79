import Synchronization

/// A token the server accepts, with the name the audit log gives it (SPEC §9: the token
/// file's base name) and the file `RELOAD` reads it from again.
public struct NamedToken: Sendable, Equatable {
    /// The token file's base name (`billing.token`), or a name given in code.
    public var name: String
    /// The token itself (never logged).
    public var token: String
    /// The file it was read from; nil for a token given in code (not re-read).
    public var file: String?

    /// - Parameters:
    ///   - name: what the audit log calls it.
    ///   - token: the token.
    ///   - file: the token file, re-read by `RELOAD` and SIGHUP.
    public init(name: String, token: String, file: String? = nil) {
        self.name = name
        self.token = token
        self.file = file
    }

    /// The token in the file at `path`, named after the file's base name.
    public static func read(_ path: String) throws(TokenFile.Problem) -> NamedToken {
        NamedToken(name: baseName(path), token: try TokenFile.read(path), file: path)
    }

    /// The name a token file gives its token: the file's base name.
    public static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

/// The tokens `AUTH` is checked against: the admin tokens (several: one per application,
/// or two during a rotation) and the query token. Which files there are is fixed at start
/// (so whether writes need a token never changes); what they hold is read again by
/// `RELOAD` and SIGHUP, so a rotation needs no restart.
final class ServerTokens: Sendable {
    private struct Tokens {
        var admin: [NamedToken]
        var query: NamedToken?
    }

    /// What a token given to `AUTH` grants.
    enum Match: Equatable {
        /// Writes, as the admin token of this name.
        case admin(name: String)
        case query
    }

    private let tokens: Mutex<Tokens>

    init(admin: [NamedToken], query: NamedToken?) {
        tokens = Mutex(Tokens(admin: admin, query: query))
    }

    /// What `presented` grants, or nil. Every configured token is compared, each in time
    /// that does not depend on where it differs, so the answer's timing names none of them.
    func match(_ presented: String) -> Match? {
        let current = tokens.withLock { $0 }
        var found: Match?
        for token in current.admin where tokensMatch(presented, token.token) && found == nil {
            found = .admin(name: token.name)
        }
        if let query = current.query, tokensMatch(presented, query.token), found == nil {
            found = .query
        }
        return found
    }

    /// Reads every token file again. A file that cannot be used keeps its previous token
    /// (a half-written rotation must not lock the applications out); its problem is returned.
    func reread() -> [TokenFile.Problem] {
        var current = tokens.withLock { $0 }
        var problems: [TokenFile.Problem] = []
        func reread(_ token: inout NamedToken) {
            guard let file = token.file else { return }
            do throws(TokenFile.Problem) {
                token.token = try TokenFile.read(file)
            } catch {
                problems.append(error)
            }
        }
        for index in current.admin.indices { reread(&current.admin[index]) }
        if current.query != nil { reread(&current.query!) }
        tokens.withLock { $0 = current }
        return problems
    }
}
