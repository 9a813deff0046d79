public import NIOCore
public import PermdCore

/// Encodes every reply line of the protocol (SPEC §5) from typed outcomes: the frequent
/// ones are pre-built, the rest are written word by word into the caller's outbound
/// buffer, always ended by one `\n`. The `line` forms give the same text without the
/// newline, for the command line, which prints protocol-shaped answers.
public enum Reply {
    /// `ALLOW\n`
    public static let allow = ByteBuffer(string: "ALLOW\n")
    /// `DENY\n`
    public static let deny = ByteBuffer(string: "DENY\n")
    /// `PONG\n`
    public static let pong = ByteBuffer(string: "PONG\n")
    /// `OK\n`
    public static let ok = ByteBuffer(string: "OK\n")

    /// The last word of a `WHO` page when more users remain.
    public static let moreMarker = "MORE"
    /// The last word of a sign-in that created the user.
    public static let newUserMarker = "NEW"
    /// What EXPLAIN writes before a role's key.
    public static let rolePrefix = "role:"

    // MARK: CHECK (the hot path)

    /// Writes the whole answer to a one-permission CHECK: `ALLOW\n` or `DENY\n`.
    @inlinable
    public static func writeAnswer(_ allowed: Bool, into buffer: inout ByteBuffer) {
        if allowed {
            buffer.writeStaticString("ALLOW\n")
        } else {
            buffer.writeStaticString("DENY\n")
        }
    }

    /// Writes `ALLOW` or `DENY` as one word of a multi-permission CHECK answer
    /// (`first` leaves out the separating space).
    @inlinable
    public static func writeDecision(_ allowed: Bool, first: Bool, into buffer: inout ByteBuffer) {
        if !first { buffer.writeInteger(UInt8(ascii: " ")) }
        if allowed {
            buffer.writeStaticString("ALLOW")
        } else {
            buffer.writeStaticString("DENY")
        }
    }

    /// Ends the current reply line.
    @inlinable
    public static func endLine(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// `ALLOW DENY ALLOW`: one word per permission, in order.
    public static func line(decisions: some Sequence<Bool>) -> String {
        text { buffer in
            var first = true
            for allowed in decisions {
                writeDecision(allowed, first: first, into: &buffer)
                first = false
            }
            endLine(into: &buffer)
        }
    }

    // MARK: Queries

    /// Writes `OK` followed by each item, space-separated (PERMS, ROLES, ORGS).
    public static func writeOK(_ items: some Sequence<String>, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("OK")
        for item in items {
            buffer.writeInteger(UInt8(ascii: " "))
            writeSanitized(item, into: &buffer)
        }
        endLine(into: &buffer)
    }

    /// Writes a `WHO` page: `OK <user> ...`, ending with ` MORE` when more remain.
    public static func writeWho(_ users: [String], more: Bool, into buffer: inout ByteBuffer) {
        writeOK(more ? users + [moreMarker] : users, into: &buffer)
    }

    /// Writes `OK <revision>` (REVISION, SYNC).
    public static func writeRevision(_ revision: UInt64, into buffer: inout ByteBuffer) {
        writeOK(["\(revision)"], into: &buffer)
    }

    /// Writes `HELP`'s answer: `OK` and every command word.
    public static func writeHelp(into buffer: inout ByteBuffer) {
        writeOK(Command.allCases.map(\.word), into: &buffer)
    }

    /// Writes `STATS`'s answer: `OK key=value ...`.
    public static func write(_ statistics: Statistics, into buffer: inout ByteBuffer) {
        writeOK([
            "revision=\(statistics.revision)",
            "users=\(statistics.users)",
            "organizations=\(statistics.organizations)",
            "memberships=\(statistics.memberships)",
            "roles=\(statistics.roles)",
            "permissions=\(statistics.permissions)",
            "index_bytes=\(statistics.indexBytes)",
            "build_ms=\(statistics.buildMilliseconds)",
            "connections=\(statistics.connections)",
            "checks=\(statistics.checks)",
            "allows=\(statistics.allows)",
            "denies=\(statistics.denies)",
            "uptime_s=\(statistics.uptimeSeconds)",
            "store=\(statistics.store)",
            "policy_digest=\(statistics.policyDigest)",
        ] + (statistics.databaseUp.map { ["db=\($0 ? "up" : "down")"] } ?? [])
            + (statistics.lagMilliseconds.map { ["lag_ms=\($0)"] } ?? []),
            into: &buffer)
    }

    /// Writes EXPLAIN's answer: `ALLOW role:billing-admin direct` or `DENY not-member`.
    public static func write(_ explanation: Explanation, into buffer: inout ByteBuffer) {
        switch explanation {
        case .allow(let sources):
            buffer.writeStaticString("ALLOW")
            for source in sources {
                buffer.writeInteger(UInt8(ascii: " "))
                writeSanitized(text(source), into: &buffer)
            }
        case .deny(let reason):
            buffer.writeStaticString("DENY ")
            buffer.writeString(text(reason))
        }
        endLine(into: &buffer)
    }

    /// EXPLAIN's answer without the newline.
    public static func line(_ explanation: Explanation) -> String {
        text { write(explanation, into: &$0) }
    }

    /// A grant source as EXPLAIN names it: `role:<key>` or `direct`.
    public static func text(_ source: GrantSource) -> String {
        switch source {
        case .role(let key): rolePrefix + key
        case .direct: "direct"
        }
    }

    /// A deny reason as EXPLAIN names it (`not-member`).
    public static func text(_ reason: DenyReason) -> String {
        switch reason {
        case .unknownUser: "unknown-user"
        case .unknownOrganization: "unknown-org"
        case .notMember: "not-member"
        case .unknownPermission: "unknown-permission"
        case .notGranted: "not-granted"
        }
    }

    // MARK: Writes

    /// Writes a write's answer: `OK <revision>`, `OK <user-id> <revision>` (USER.ADD), or a
    /// sign-in's `OK <user> <org>`, `OK <user> <org> NEW`, `SELECT <user> <org> <org> ...`.
    public static func write(_ outcome: WriteOutcome, into buffer: inout ByteBuffer) {
        switch outcome {
        case .committed(let revision):
            writeRevision(revision, into: &buffer)
        case .userAdded(let id, let revision):
            writeOK([id, "\(revision)"], into: &buffer)
        case .signedIn(.signedIn(let user, let organization), _):
            writeOK([user, organization], into: &buffer)
        case .signedIn(.signedUp(let user, let organization), _):
            writeOK([user, organization, newUserMarker], into: &buffer)
        case .signedIn(.select(let user, let organizations), _):
            buffer.writeStaticString("SELECT ")
            writeSanitized(([user] + organizations).joined(separator: " "), into: &buffer)
            endLine(into: &buffer)
        }
    }

    /// A write's answer without the newline.
    public static func line(_ outcome: WriteOutcome) -> String {
        text { write(outcome, into: &$0) }
    }

    /// Writes the answer to a write or RELOAD: its outcome, or the `ERR` its failure maps to.
    public static func write(_ result: Result<WriteOutcome, WriteFailure>, into buffer: inout ByteBuffer) {
        switch result {
        case .success(let outcome): write(outcome, into: &buffer)
        case .failure(let failure): writeError(ProtocolError(failure), into: &buffer)
        }
    }

    /// The answer to a write or RELOAD without the newline.
    public static func line(_ result: Result<WriteOutcome, WriteFailure>) -> String {
        text { write(result, into: &$0) }
    }

    // MARK: Errors

    /// Writes `ERR <CODE> <message>`.
    public static func writeError(_ error: ProtocolError, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("ERR ")
        writeSanitized(error.code.rawValue, into: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        writeSanitized(error.message, into: &buffer)
        endLine(into: &buffer)
    }

    /// `ERR <CODE> <message>` without the newline.
    public static func line(_ error: ProtocolError) -> String {
        text { writeError(error, into: &$0) }
    }

    /// A refused write's answer without the newline: `ERR NOT_FOUND unknown user "bob"`.
    public static func line(_ refusal: WriteRefusal) -> String {
        line(ProtocolError(refusal))
    }

    // MARK: Encoding

    /// Control bytes become spaces, so that a reply stays one line whatever it quotes.
    private static func writeSanitized(_ text: String, into buffer: inout ByteBuffer) {
        if text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            buffer.writeBytes(text.utf8.map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: " ") : $0 })
        } else {
            buffer.writeString(text)
        }
    }

    /// The text that `encode` writes, without its newline.
    private static func text(_ encode: (inout ByteBuffer) -> Void) -> String {
        var buffer = ByteBuffer()
        encode(&buffer)
        var line = buffer.readableBytesView
        if line.last == UInt8(ascii: "\n") { line = line.dropLast() }
        return String(decoding: line, as: UTF8.self)
    }
}

/// The numbers `STATS` reports (SPEC §5).
public struct Statistics: Sendable, Hashable {
    /// The revision the index includes.
    public var revision: UInt64
    /// Users in the index.
    public var users: Int
    /// Organizations in the index.
    public var organizations: Int
    /// Memberships in the index.
    public var memberships: Int
    /// Roles the policies define.
    public var roles: Int
    /// Permissions the policies define.
    public var permissions: Int
    /// Bytes held by the index's tables.
    public var indexBytes: Int
    /// How long the last full build took.
    public var buildMilliseconds: Double
    /// Connections open now.
    public var connections: Int
    /// Permissions CHECKed since the start.
    public var checks: Int
    /// Of those, the allowed ones.
    public var allows: Int
    /// Of those, the denied ones.
    public var denies: Int
    /// Seconds since the start.
    public var uptimeSeconds: Int64
    /// Where the state is: `sqlite` or `postgres` (SPEC §8).
    public var store: String
    /// The first 12 hex digits of the policy files' SHA-256 (`none` when not read from files).
    public var policyDigest: String
    /// On a shared database: whether it answers (`db=up|down`); nil for SQLite.
    public var databaseUp: Bool?
    /// On a shared database: the age of the newest change this replica has not applied, 0 when
    /// caught up (`lag_ms`); nil for SQLite.
    public var lagMilliseconds: Int64?

    /// - Parameters: see each property.
    public init(revision: UInt64, users: Int, organizations: Int, memberships: Int, roles: Int, permissions: Int,
                indexBytes: Int, buildMilliseconds: Double, connections: Int, checks: Int, allows: Int,
                denies: Int, uptimeSeconds: Int64, store: String = "sqlite", policyDigest: String = "none",
                databaseUp: Bool? = nil, lagMilliseconds: Int64? = nil) {
        self.store = store
        self.policyDigest = policyDigest
        self.databaseUp = databaseUp
        self.lagMilliseconds = lagMilliseconds
        self.revision = revision
        self.users = users
        self.organizations = organizations
        self.memberships = memberships
        self.roles = roles
        self.permissions = permissions
        self.indexBytes = indexBytes
        self.buildMilliseconds = buildMilliseconds
        self.connections = connections
        self.checks = checks
        self.allows = allows
        self.denies = denies
        self.uptimeSeconds = uptimeSeconds
    }
}

