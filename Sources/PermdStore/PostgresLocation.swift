import CLibPQ
import Foundation

/// A PostgreSQL database named by a libpq connection URI (`postgres://` or `postgresql://`,
/// SPEC §8), which shows itself without its password.
///
/// The URI as given, password included, is only ever handed to libpq. Everything a person
/// may see — `description`, `debugDescription`, `dump`, error messages — is the URI with the
/// password taken out, wherever it was written: in the user part (`user:secret@`) or as a
/// `password=` or `sslpassword=` parameter. A password from `PGPASSWORD` or `~/.pgpass` never
/// enters permd at all: libpq reads it.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The URI as given; for libpq only.
    let uri: String
    /// The URI without its password.
    public let description: String
    /// The server's host (or hosts, comma-separated) as libpq reads the URI; nil for the
    /// default (the local socket).
    public let host: String?
    /// The port, when the URI names one.
    public let port: String?
    /// The database name, when the URI names one.
    public let database: String?
    /// The user name, when the URI names one.
    public let user: String?
    /// The password as written in the URI and as libpq decodes it: what `redacting` removes.
    private let secrets: [String]

    /// The URI schemes libpq reads as a connection URI.
    static let schemes = ["postgresql://", "postgres://"]
    /// The URI parameters that hold a secret.
    static let secretParameters: Set<String> = ["password", "sslpassword"]
    /// What stands in a message where a password was.
    static let redactedMark = "[password]"

    /// Whether `db` names a PostgreSQL database rather than an SQLite file.
    /// - Parameter db: a `--db` value.
    public static func isURI(_ db: String) -> Bool {
        schemes.contains { db.hasPrefix($0) }
    }

    /// Reads a connection URI with libpq's own parser.
    /// - Parameter uri: a `postgres://` or `postgresql://` URI.
    /// - Throws: `.invalidLocation` when it is not one libpq accepts; the message holds no password.
    public init(uri: String) throws(PostgresError) {
        guard let scheme = Self.schemes.first(where: { uri.hasPrefix($0) }) else {
            throw PostgresError(.invalidLocation, location: "the database location",
                                message: "not a PostgreSQL URI (it starts with postgres:// or postgresql://)")
        }
        let parts = Self.redact(uri, scheme: scheme)
        self.uri = uri
        description = parts.redacted
        var secrets = parts.secrets
        var options: [String: String] = [:]
        var failure: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(uri, &failure) else {
            let detail = failure.map { String(cString: $0) } ?? "out of memory"
            PQfreemem(failure)
            let message = Self.redacting(Self.oneLine(detail), secrets: secrets)
            throw PostgresError(.invalidLocation, location: parts.redacted, message: "not a valid PostgreSQL URI: \(message)")
        }
        var option = parsed
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { options[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        PQconninfoFree(parsed)
        for name in Self.secretParameters {
            if let value = options[name], !value.isEmpty { secrets.append(value) }
        }
        // Longest first, so that a password holding another one is removed whole.
        self.secrets = Array(Set(secrets)).sorted { $0.count > $1.count }
        host = options["host"] ?? options["hostaddr"]
        port = options["port"]
        database = options["dbname"]
        user = options["user"]
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }

    /// `message` with every form of this location's password replaced by a mark.
    /// - Parameter message: text from libpq or the server.
    func redacting(_ message: String) -> String {
        Self.redacting(message, secrets: secrets)
    }

    private static func redacting(_ message: String, secrets: [String]) -> String {
        var message = message
        for secret in secrets where !secret.isEmpty {
            message = message.replacingOccurrences(of: secret, with: redactedMark)
        }
        return message
    }

    /// A libpq message (several lines, indented, with a final newline) as one line.
    static func oneLine(_ message: String) -> String {
        message.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }

    /// The URI without its password, and the password's forms. The user part is found as
    /// libpq finds it (`conninfo_uri_parse_options`): up to the first `@` before any `/`, the
    /// password after its first `:`.
    private static func redact(_ uri: String, scheme: String) -> (redacted: String, secrets: [String]) {
        var secrets: [String] = []
        var rest = Substring(uri.dropFirst(scheme.count))
        var userPart = ""
        if let end = rest.firstIndex(where: { $0 == "@" || $0 == "/" }), rest[end] == "@" {
            let userInfo = rest[..<end]
            if let colon = userInfo.firstIndex(of: ":") {
                let password = String(userInfo[userInfo.index(after: colon)...])
                secrets.append(password)
                if let decoded = password.removingPercentEncoding { secrets.append(decoded) }
                userPart = String(userInfo[..<colon]) + "@"
            } else {
                userPart = String(userInfo) + "@"
            }
            rest = rest[rest.index(after: end)...]
        }
        var address = String(rest)
        if let question = rest.firstIndex(of: "?") {
            address = String(rest[..<question])
            var kept: [Substring] = []
            for parameter in rest[rest.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false) {
                let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(pair[0]).removingPercentEncoding ?? String(pair[0])
                if secretParameters.contains(name) {
                    if pair.count == 2 {
                        secrets.append(String(pair[1]))
                        if let decoded = String(pair[1]).removingPercentEncoding { secrets.append(decoded) }
                    }
                } else {
                    kept.append(parameter)
                }
            }
            if !kept.isEmpty { address += "?" + kept.joined(separator: "&") }
        }
        return (scheme + userPart + address, secrets.filter { !$0.isEmpty })
    }
}
