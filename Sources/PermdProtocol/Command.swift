/// A command of the line protocol (SPEC §5).
public enum Command: UInt8, CaseIterable, Sendable, Hashable {
    case check, perms, roles, orgs, who, explain, revision, sync, ping, stats, help, quit, auth
    case userAdd, userDel, orgAdd, orgDel, memberAdd, memberDel, roleAdd, roleDel, permAdd, permDel
    case signIn, reload

    /// Whether a command's line ends with a JSON object.
    public enum JSONTail: Sendable {
        case none, required, optional
    }

    /// The most permissions one `CHECK` may ask about.
    public static let maxCheckedPermissions = 64

    /// The command word as written in HELP and in the documentation.
    public var word: String {
        switch self {
        case .check: "CHECK"
        case .perms: "PERMS"
        case .roles: "ROLES"
        case .orgs: "ORGS"
        case .who: "WHO"
        case .explain: "EXPLAIN"
        case .revision: "REVISION"
        case .sync: "SYNC"
        case .ping: "PING"
        case .stats: "STATS"
        case .help: "HELP"
        case .quit: "QUIT"
        case .auth: "AUTH"
        case .userAdd: "USER.ADD"
        case .userDel: "USER.DEL"
        case .orgAdd: "ORG.ADD"
        case .orgDel: "ORG.DEL"
        case .memberAdd: "MEMBER.ADD"
        case .memberDel: "MEMBER.DEL"
        case .roleAdd: "ROLE.ADD"
        case .roleDel: "ROLE.DEL"
        case .permAdd: "PERM.ADD"
        case .permDel: "PERM.DEL"
        case .signIn: "SIGNIN"
        case .reload: "RELOAD"
        }
    }

    /// How many words may follow the command word (not counting a JSON tail).
    public var arity: ClosedRange<Int> {
        switch self {
        case .check: 3...(2 + Self.maxCheckedPermissions)
        case .perms, .roles, .memberDel: 2...2
        case .orgs: 1...2
        case .who: 2...4
        case .explain, .roleAdd, .roleDel, .permAdd, .permDel: 3...3
        case .revision, .ping, .stats, .help, .quit, .reload, .userAdd, .signIn: 0...0
        case .sync: 1...2
        case .auth, .userDel, .orgAdd, .orgDel: 1...1
        case .memberAdd: 2...Int.max
        }
    }

    /// Whether (and how) the line ends with a JSON object.
    public var jsonTail: JSONTail {
        switch self {
        case .userAdd, .signIn: .required
        case .orgAdd: .optional
        default: .none
        }
    }

    /// What a command is, which decides who may send it.
    public enum Kind: Sendable {
        /// Answered from the index; needs the query token when the server has one.
        case query
        /// Changes state: needs the admin token, and goes to the writer.
        case write
        /// `AUTH` and `QUIT`: always allowed.
        case session
    }

    /// What the command is (its `Request` case after decoding).
    public var kind: Kind {
        switch self {
        case .userAdd, .userDel, .orgAdd, .orgDel, .memberAdd, .memberDel, .roleAdd, .roleDel,
             .permAdd, .permDel, .signIn, .reload:
            .write
        case .auth, .quit:
            .session
        case .check, .perms, .roles, .orgs, .who, .explain, .revision, .sync, .ping, .stats, .help:
            .query
        }
    }

    /// Whether the command changes state (it needs the admin token, and goes to the writer).
    public var isWrite: Bool { kind == .write }

    /// The usage line shown in ARITY errors.
    public var usage: String {
        switch self {
        case .check: "CHECK <user> <org> <perm> [<perm> ...] (up to \(Self.maxCheckedPermissions))"
        case .perms: "PERMS <user> <org>"
        case .roles: "ROLES <user> <org>"
        case .orgs: "ORGS <user> [<perm>]"
        case .who: "WHO <org> <perm> [<after> [<limit>]]"
        case .explain: "EXPLAIN <user> <org> <perm>"
        case .sync: "SYNC <revision> [<timeout_ms>]"
        case .auth: "AUTH <token>"
        case .userAdd: "USER.ADD <json>"
        case .userDel: "USER.DEL <user>"
        case .orgAdd: "ORG.ADD <code> [<json>]"
        case .orgDel: "ORG.DEL <code>"
        case .memberAdd: "MEMBER.ADD <user> <org> [<role> ...]"
        case .memberDel: "MEMBER.DEL <user> <org>"
        case .roleAdd, .roleDel, .permAdd, .permDel: "\(word) <user> <org> <\(self == .permAdd || self == .permDel ? "perm" : "role")>"
        case .signIn: "SIGNIN <json>"
        case .revision, .ping, .stats, .help, .quit, .reload: word
        }
    }

    /// Command words as bytes, for matching without building Strings.
    private static let wordTable: [(command: Command, bytes: [UInt8])] = allCases.map { ($0, Array($0.word.utf8)) }

    /// The command named by `bytes`, compared case-insensitively; nil when there is none.
    public static func named(_ bytes: UnsafeRawBufferPointer) -> Command? {
        for entry in wordTable where entry.bytes.count == bytes.count {
            var same = true
            for (expected, actual) in zip(entry.bytes, bytes) where expected != asciiUppercased(actual) {
                same = false
                break
            }
            if same { return entry.command }
        }
        return nil
    }

    @inline(__always)
    private static func asciiUppercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }
}
