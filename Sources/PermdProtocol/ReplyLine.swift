public import PermdCore

/// A reply line as a client reads it, the inverse of `Reply`: split into its first word and
/// the rest, with the typed readings each command's answer has (SPEC §5). Which reading
/// applies depends on the command sent (`OK 7` is a revision or a one-key `PERMS`).
public struct ReplyLine: Sendable, Hashable, CustomStringConvertible {
    /// The line without its newline.
    public let text: String
    /// The first word: `OK`, `ALLOW`, `DENY`, `SELECT`, `PONG`, `ERR`.
    public let head: String
    /// The words after the first.
    public let words: [String]

    /// - Parameter text: one reply line, without its newline.
    public init(_ text: String) {
        self.text = text
        let split = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        head = split.first ?? ""
        words = Array(split.dropFirst())
    }

    public var description: String { text }

    /// `ERR <CODE> <message>` as the error it names; nil for any other reply.
    public var error: ProtocolError? {
        guard head == "ERR", let code = words.first else { return nil }
        let prefix = "ERR \(code) "
        let message = text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : ""
        return ProtocolError(ErrorCode(rawValue: code), message)
    }

    /// `OK` and its words (`PERMS`, `ROLES`, `ORGS`, `HELP`, `AUTH`, `QUIT`).
    public var items: [String]? { head == "OK" ? words : nil }

    /// `CHECK`'s decisions, one per permission asked.
    public var decisions: [Bool]? {
        let all = [head] + words
        guard all.allSatisfy({ $0 == "ALLOW" || $0 == "DENY" }) else { return nil }
        return all.map { $0 == "ALLOW" }
    }

    /// `OK <revision>` (`REVISION`, `SYNC`, the writes, `RELOAD`).
    public var revision: UInt64? {
        guard head == "OK", words.count == 1 else { return nil }
        return UInt64(words[0])
    }

    /// A `WHO` page: the users, and whether more remain.
    public var whoPage: (users: [String], more: Bool)? {
        guard let items else { return nil }
        if items.last == Reply.moreMarker { return (Array(items.dropLast()), true) }
        return (items, false)
    }

    /// `USER.ADD`'s `OK <user-id> <revision>`.
    public var userAdded: (user: String, revision: UInt64)? {
        guard head == "OK", words.count == 2, let revision = UInt64(words[1]) else { return nil }
        return (words[0], revision)
    }

    /// `EXPLAIN`'s answer.
    public var explanation: Explanation? {
        switch head {
        case "ALLOW":
            var sources: [GrantSource] = []
            for word in words {
                if word == Reply.text(GrantSource.direct) {
                    sources.append(.direct)
                } else if word.hasPrefix(Reply.rolePrefix) {
                    sources.append(.role(String(word.dropFirst(Reply.rolePrefix.count))))
                } else {
                    return nil
                }
            }
            return .allow(sources)
        case "DENY":
            guard words.count == 1, let reason = DenyReason.allCases.first(where: { Reply.text($0) == words[0] }) else { return nil }
            return .deny(reason)
        default:
            return nil
        }
    }

    /// `SIGNIN`'s answer.
    public var signIn: SignInResult? {
        switch (head, words.count) {
        case ("OK", 2): return .signedIn(user: words[0], organization: words[1])
        case ("OK", 3) where words[2] == Reply.newUserMarker: return .signedUp(user: words[0], organization: words[1])
        case ("SELECT", 2...): return .select(user: words[0], organizations: Array(words.dropFirst()))
        default: return nil
        }
    }

    /// `STATS`' `key=value` pairs.
    public var statistics: [String: String]? {
        guard let items else { return nil }
        var pairs: [String: String] = [:]
        for item in items {
            guard let equals = item.firstIndex(of: "=") else { return nil }
            pairs[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        return pairs
    }
}
