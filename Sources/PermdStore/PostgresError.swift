/// A failure of PostgreSQL or of the connection to it, with the SQLSTATE the server sent.
///
/// Its message never holds the password: every text from libpq or the server passes through
/// `PostgresLocation.redacting` before it is kept here, and the location is the redacted URI.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What a caller reacts to; `sqlState` has the server's exact code.
    public enum Kind: Sendable, Equatable {
        /// No connection, or it was lost, or the server is shutting down (SQLSTATE classes 08
        /// and 57P0x, or no answer at all).
        case connection
        /// `serialization_failure` (40001): run the transaction again.
        case serializationFailure
        /// `deadlock_detected` (40P01): run the transaction again.
        case deadlock
        /// `unique_violation` (23505); `constraint` names the unique index.
        case uniqueViolation
        /// The database was migrated by a newer permd.
        case newerSchema(found: Int, supported: Int)
        /// The `--db` value is not a connection URI libpq accepts.
        case invalidLocation
        /// A value PostgreSQL cannot store as text (it holds a NUL byte); nothing was sent.
        case invalidValue
        /// Any other error the server reported.
        case server
    }

    public var kind: Kind
    /// The five-character SQLSTATE, when the server sent one.
    public var sqlState: String?
    /// The constraint a violation names (for `uniqueViolation`, which value was taken).
    public var constraint: String?
    /// The database, as `PostgresLocation.description` shows it (no password).
    public var location: String
    /// What went wrong, for a person.
    public var message: String

    /// - Parameters: see each property.
    public init(_ kind: Kind, sqlState: String? = nil, constraint: String? = nil, location: String, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.constraint = constraint
        self.location = location
        self.message = message
    }

    /// Whether running the same transaction again may succeed: a serialization failure or a
    /// deadlock, which PostgreSQL reports to one of the transactions that raced.
    public var isRetryable: Bool { kind == .serializationFailure || kind == .deadlock }

    public var description: String { "\(location): \(message)" }

    /// The kind for a server's SQLSTATE.
    static func kind(forSQLState code: String) -> Kind {
        switch code {
        case "40001": .serializationFailure
        case "40P01": .deadlock
        case "23505": .uniqueViolation
        case "57P01", "57P02", "57P03": .connection
        case _ where code.hasPrefix("08"): .connection
        default: .server
        }
    }
}
