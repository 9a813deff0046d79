import ArgumentParser
import Foundation
import PermdCore
import PermdJSON
import PermdStore

/// `permd log`: the audit log (SPEC §9) — who changed what, and when — read from the
/// database opened read-only, oldest first.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print the audit log: every change with its time, revision and who made it, oldest first.",
        discussion: """
            One line per change: the time (UTC, milliseconds; "-" for changes logged before \
            permd kept times), the revision, who made it (token:NAME with the peer address, \
            unix with the peer uid, cli:USER, import:FILE, signin with the provider, policy \
            for the declared organizations, unknown for changes older than the audit log) and \
            what changed. --format json prints one JSON object per line instead. --limit N \
            keeps the newest N matching changes, still printed oldest first. The log reaches \
            back as far as serve --log-retention keeps it.
            """)

    @Option(help: ArgumentHelp("Only changes after this revision.", valueName: "revision"))
    var since: UInt64?

    @Option(help: ArgumentHelp("Only changes that name this user.", valueName: "id"))
    var user: String?

    @Option(help: ArgumentHelp("Only changes that name this organization.", valueName: "code"))
    var org: String?

    @Option(help: ArgumentHelp("Only the newest N matching changes (printed oldest first).", valueName: "n"))
    var limit: Int?

    @Option(help: "text or json (one JSON object per line).", transform: formatArgument(AuditLogFormat.self))
    var format: AuditLogFormat = .text

    @OptionGroup var storeOptions: StoreOptions

    func validate() throws {
        if let limit, limit < 1 {
            throw ValidationError("--limit must be at least 1, not \(limit)")
        }
    }

    func run() throws {
        let query = AuditQuery(after: since ?? 0, user: user, organization: org, limit: limit)
        try storeOptions.read { store in
            var chunk = ""
            try store.forEachAuditEntry(query) { entry in
                chunk += format.line(entry) + "\n"
                if chunk.utf8.count >= ExportCommand.chunkSize {
                    FileHandle.standardOutput.write(Data(chunk.utf8))
                    chunk = ""
                }
            }
            FileHandle.standardOutput.write(Data(chunk.utf8))
        }
    }
}

/// How `permd log` prints an entry. Pure: the line for an entry and nothing else.
enum AuditLogFormat: String, CaseIterable, ExpressibleByArgument {
    case text
    case json

    /// `2026-12-02T14:23:49.123Z  42  token:app1 (127.0.0.1:50432)  role_assigned user=ana org=acme role=admin`,
    /// or the same as one JSON object.
    func line(_ entry: AuditEntry) -> String {
        let names = Self.names(entry.change)
        switch self {
        case .text:
            let time = entry.time.map(Self.timestamp) ?? "-".padding(toLength: Self.timestampWidth, withPad: " ", startingAt: 0)
            let what = ([entry.change.kind.logWord] + names.map { "\($0.label)=\($0.value)" }).joined(separator: " ")
            return "\(time)  \(entry.revision)  \(entry.actor)  \(what)"
        case .json:
            let (actor, detail) = entry.actor.stored
            var members = [
                JSONMember("time", entry.time.map { .string(Self.timestamp($0)) } ?? .null),
                JSONMember("revision", .integer(Int64(clamping: entry.revision))),
                JSONMember("actor", .string(actor)),
                JSONMember("actor_detail", detail.map { .string($0) } ?? .null),
                JSONMember("change", .string(entry.change.kind.logWord)),
            ]
            members += names.map { JSONMember($0.label, .string($0.value)) }
            return JSONValue.object(members).serialized()
        }
    }

    /// The names a change applies to, labelled as the line prints them (`user`, `org`,
    /// `role` or `permission`); those its kind does not use are left out.
    static func names(_ change: StateChange) -> [(label: String, value: String)] {
        let (user, organization, key) = change.names
        var names: [(label: String, value: String)] = []
        if !user.isEmpty { names.append(("user", user)) }
        if !organization.isEmpty { names.append(("org", organization)) }
        switch change {
        case .roleAssigned, .roleUnassigned: names.append(("role", key))
        case .permissionGranted, .permissionRevoked: names.append(("permission", key))
        default: break
        }
        return names
    }

    /// The width of `2026-12-02T14:23:49.123Z`.
    static let timestampWidth = 24

    /// A time as ISO 8601 in UTC with milliseconds, `2026-12-02T14:23:49.123Z`: computed from
    /// the stored milliseconds exactly (a `Date` would round through a `Double`).
    static func timestamp(_ milliseconds: UnixMilliseconds) -> String {
        let (seconds, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let whole = fraction < 0 ? seconds - 1 : seconds
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        func digits(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(digits(parts.tm_year + 1900, 4))-\(digits(parts.tm_mon + 1, 2))-\(digits(parts.tm_mday, 2))"
            + "T\(digits(parts.tm_hour, 2)):\(digits(parts.tm_min, 2)):\(digits(parts.tm_sec, 2))"
            + ".\(digits(Int32(fraction < 0 ? fraction + 1000 : fraction), 3))Z"
    }
}
