import CSQLite
import Foundation

/// One SQLite connection with a cache of prepared statements. Not thread-safe: one owner at a time.
final class SQLiteConnection {
    let path: String
    /// Opened with `SQLITE_OPEN_READONLY`: SQLite refuses every write (`SQLITE_READONLY`).
    let isReadOnly: Bool
    private var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]
    /// How long a write waits for another process's lock before giving up.
    static let busyTimeoutMilliseconds: Int32 = 5000
    /// `SQLITE_CONSTRAINT_UNIQUE`, an extended result code Swift does not import from the header.
    static let uniqueConstraintFailed: Int32 = SQLITE_CONSTRAINT | (8 << 8)

    /// Opens the database file at `path`: read-write, creating it when missing; or read-only,
    /// never creating it (a missing file is `.notFound`).
    init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        isReadOnly = readOnly
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &db, flags, nil)
        handle = db
        guard code == SQLITE_OK, db != nil else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            handle = nil
            throw Self.fileProblem(path, readOnly: readOnly)
                ?? StoreError(.sqlite(code: code), path: path, message: "cannot open the database: \(message)")
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, Self.busyTimeoutMilliseconds)
    }

    deinit {
        statements.removeAll()  // finalize before closing
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(StoreError) {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        if code != SQLITE_OK { throw error(code, doing: sql) }
    }

    /// The prepared statement for `sql`, reset and unbound (prepared once, then reused).
    func statement(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard code == SQLITE_OK, let raw else { throw error(code, doing: sql) }
        let statement = SQLiteStatement(raw, connection: self)
        statements[sql] = statement
        return statement
    }

    /// Runs `sql` with `bindings` and returns the first column of its first row as an integer.
    func integer(_ sql: String, _ bindings: SQLiteValue...) throws(StoreError) -> Int64? {
        let statement = try statement(sql)
        try statement.bind(bindings)
        defer { statement.reset() }
        return try statement.step() ? statement.optionalInteger(0) : nil
    }

    /// Runs a statement that returns no rows, with `bindings`.
    func run(_ sql: String, _ bindings: SQLiteValue...) throws(StoreError) {
        let statement = try statement(sql)
        try statement.bind(bindings)
        defer { statement.reset() }
        while try statement.step() {}
    }

    /// Whether a transaction is open on this connection.
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// A `StoreError` for SQLite result `code`, with the connection's message.
    func error(_ code: Int32, doing what: String) -> StoreError {
        if code & 0xFF == SQLITE_CANTOPEN, let problem = Self.fileProblem(path, readOnly: isReadOnly) { return problem }
        let detail = String(cString: sqlite3_errmsg(handle))
        switch code & 0xFF {
        case SQLITE_NOTADB:
            return StoreError(.notADatabase, path: path, message: "not an SQLite database")
        case SQLITE_READONLY where isReadOnly:
            return StoreError(.readOnly, path: path, message: "opened read-only: this command does not write the database")
        case SQLITE_READONLY:
            return StoreError(.readOnly, path: path,
                              message: "cannot write the database: the file or its folder is read-only")
        case SQLITE_BUSY, SQLITE_LOCKED:
            return StoreError(
                .busy, path: path,
                message: "the database is locked by another process (waited \(Self.busyTimeoutMilliseconds / 1000) s); try again")
        default:
            let statement = what.split(separator: "\n").first.map(String.init) ?? what
            return StoreError(.sqlite(code: code), path: path, message: "\(detail) (while running: \(statement))")
        }
    }
}

extension SQLiteConnection {
    /// Why the file at `path` cannot be opened, in words, from what the file system says of
    /// it (SQLite only says "unable to open database file"); nil when it says nothing wrong.
    static func fileProblem(_ path: String, readOnly: Bool) -> StoreError? {
        func problem(_ message: String, kind: StoreError.Kind = .sqlite(code: SQLITE_CANTOPEN)) -> StoreError {
            StoreError(kind, path: path, message: message)
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno
            if reason == ENOENT || reason == ENOTDIR {
                if readOnly { return problem("database not found", kind: .notFound) }
                let parent = (path as NSString).deletingLastPathComponent
                let folder = parent.isEmpty ? "." : parent
                guard FileManager.default.fileExists(atPath: folder) else {
                    return problem("cannot create the database: the folder does not exist")
                }
                guard access(folder, W_OK) == 0 else {
                    return problem("cannot create the database in its folder: \(systemMessage(errno))")
                }
                return nil
            }
            return problem("cannot read the database file: \(systemMessage(reason))")
        }
        if info.st_mode & S_IFMT == S_IFDIR { return problem("is a directory, not a database file") }
        if access(path, R_OK) != 0 { return problem("cannot read the database file: \(systemMessage(errno))") }
        return nil
    }

    /// `strerror` in lower case, to follow a colon: "permission denied".
    private static func systemMessage(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }
}

/// A value bound to a statement parameter.
enum SQLiteValue {
    case text(String)
    case integer(Int64)
    case null

    static func optional(_ text: String?) -> SQLiteValue { text.map { .text($0) } ?? .null }
    static func optional(_ flag: Bool?) -> SQLiteValue { flag.map { .integer($0 ? 1 : 0) } ?? .null }
}

/// A prepared statement owned by a `SQLiteConnection`.
final class SQLiteStatement {
    private let raw: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(_ raw: OpaquePointer, connection: SQLiteConnection) {
        self.raw = raw
        self.connection = connection
    }

    deinit { sqlite3_finalize(raw) }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    func bind(_ values: [SQLiteValue]) throws(StoreError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32 = switch value {
            case .text(let text): sqlite3_bind_text(raw, index, text, -1, CSQLite_transient())
            case .integer(let number): sqlite3_bind_int64(raw, index, number)
            case .null: sqlite3_bind_null(raw, index)
            }
            if code != SQLITE_OK { throw connection.error(code, doing: "bind") }
        }
    }

    /// Binds `text` to the 1-based parameter `index`, without building an array of values
    /// (the hot loops of an import bind millions of them).
    func bind(_ text: String, at index: Int32) throws(StoreError) {
        let code = sqlite3_bind_text(raw, index, text, -1, CSQLite_transient())
        if code != SQLITE_OK { throw connection.error(code, doing: "bind") }
    }

    /// Runs the bound statement to its end and resets it (keeping it prepared);
    /// true when it changed a row (an `INSERT OR IGNORE` that found the row answers false).
    func runChangingRow() throws(StoreError) -> Bool {
        defer { sqlite3_reset(raw) }
        while try step() {}
        return connection.changes > 0
    }

    /// Advances to the next row; false when done.
    func step() throws(StoreError) -> Bool {
        let code = sqlite3_step(raw)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let sql = sqlite3_sql(raw).map { String(cString: $0) } ?? "statement"
            let failure = connection.error(code, doing: sql)
            sqlite3_reset(raw)
            throw failure
        }
    }

    func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String {
        String(decoding: bytes(column), as: UTF8.self)
    }

    /// The UTF-8 bytes of a text column, valid until the next step or reset (no `String`:
    /// for reading millions of rows).
    func bytes(_ column: Int32) -> UnsafeRawBufferPointer {
        guard let bytes = sqlite3_column_text(raw, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(raw, column)))
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    func optionalBool(_ column: Int32) -> Bool? { isNull(column) ? nil : integer(column) != 0 }

    func optionalInteger(_ column: Int32) -> Int64? { isNull(column) ? nil : integer(column) }
}
