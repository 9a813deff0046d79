public import PermdCore

/// A failure of the database itself — it cannot be opened, read or written — as opposed to
/// a write the rules refuse (`WriteRefusal`). When a `StoreError` is thrown, nothing was
/// written — except `.commitOutcomeUnknown`, which says that permd cannot tell.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is, for callers that react differently to each.
    public enum Kind: Sendable, Equatable {
        /// The file exists but is not an SQLite database.
        case notADatabase
        /// The database was written by a newer permd (its schema version is higher than ours).
        case newerSchema(found: Int, supported: Int)
        /// Opened read-only, the database does not exist (a read never creates it).
        case notFound
        /// Opened read-only, the database's schema is older than ours (0: it holds no permd
        /// schema at all); a read never migrates it.
        case olderSchema(found: Int, supported: Int)
        /// A write through a store opened read-only, or to a file the system will not let permd write.
        case readOnly
        /// Another process held the database locked for longer than the busy timeout.
        case busy
        /// The data breaks a rule this permd enforces with the schema (two users holding one
        /// username or phone); the database was left unchanged, and the message says how to fix it.
        case invariantBroken
        /// An import was refused; nothing was written. Each refusal names the record's line.
        case importRefused([ImportRefusal])
        /// Any other SQLite failure (I/O, corruption, a full disk, ...).
        case sqlite(code: Int32)
        /// Any other PostgreSQL failure: the connection (`.connection`: the server is down or
        /// unreachable), the server's refusal, a URI libpq does not accept.
        case postgres(PostgresError.Kind)
        /// The connection was lost while PostgreSQL ran the COMMIT, and permd could not find out
        /// afterwards whether the transaction committed (the database stayed out of reach): the
        /// write may or may not be stored.
        case commitOutcomeUnknown
    }

    public var kind: Kind
    /// The database file's path (PostgreSQL: the URI without its password).
    public var path: String
    /// What went wrong, for a person.
    public var message: String

    /// - Parameters:
    ///   - kind: the kind of failure.
    ///   - path: the database file.
    ///   - message: a description a person can act on.
    public init(_ kind: Kind, path: String, message: String) {
        self.kind = kind
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// One import record the rules refused: its 1-based line in the source and why.
public struct ImportRefusal: Sendable, Equatable {
    /// The record's 1-based line in its source (0 when not from a file).
    public var line: Int
    /// Why it was refused.
    public var error: WriteRefusal

    /// - Parameters:
    ///   - line: the record's line in its source (0 when not from a file).
    ///   - error: why it was refused.
    public init(line: Int, error: WriteRefusal) {
        self.line = line
        self.error = error
    }
}
