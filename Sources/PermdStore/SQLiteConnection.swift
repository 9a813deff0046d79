import CSQLite
import CSQLiteGather
import Glibc
import Foundation

/// One SQLite connection with a cache of prepared statements. Not thread-safe: one owner at a time.
final class SQLiteConnection {
    let path: String
    /// Opened with `SQLITE_OPEN_READONLY`: SQLite refuses every write (`SQLITE_READONLY`).
    let isReadOnly: Bool
    private var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]
    /// How long a write waits for another process's lock before it gives up (`.busy`).
    let writeTimeout: Duration
    /// `SQLITE_CONSTRAINT_UNIQUE`, an extended result code Swift does not import from the header.
    static let uniqueConstraintFailed: Int32 = SQLITE_CONSTRAINT | (8 << 8)

    /// Opens the database file at `path`: read-write, creating it when missing; or read-only,
    /// never creating it (a missing file is `.notFound`).
    /// - Parameters:
    ///   - path: the database file.
    ///   - readOnly: open with `SQLITE_OPEN_READONLY`.
    ///   - writeTimeout: how long a write waits for another process's lock.
    init(path: String, readOnly: Bool = false, writeTimeout: Duration) throws(StoreError) {
        self.path = path
        isReadOnly = readOnly
        self.writeTimeout = writeTimeout
        if !readOnly { Self.createPrivately(path) }
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &db, flags, Self.vfs)
        handle = db
        guard code == SQLITE_OK, db != nil else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            handle = nil
            throw Self.fileProblem(path, readOnly: readOnly)
                ?? StoreError(.sqlite(code: code), path: path, message: "cannot open the database: \(message)")
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, Self.milliseconds(writeTimeout))
    }

    /// Creates a missing database file readable and writable by its owner only, whatever the
    /// umask: it holds emails and phone numbers. SQLite gives the `-wal` and `-shm` files it
    /// creates beside it the database file's permissions. An existing file is left as it is;
    /// when the file cannot be created here, opening it reports why.
    private static func createPrivately(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR)
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }

    /// `duration` in whole milliseconds for `sqlite3_busy_timeout`, at least 1 (0 would not wait).
    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(1, total))
    }

    /// SQLite's process-wide settings, made once before the first open, and the VFS every
    /// connection opens with. No memory statistics (each of SQLite's allocations would take a
    /// global mutex to count itself; permd reads none) — set before anything initializes
    /// SQLite, which registering the VFS does. The VFS is the default one with a write-ahead
    /// log's writes gathered into one per commit (`CSQLiteGather`); nil (the default itself)
    /// when it cannot be registered.
    nonisolated(unsafe) private static let vfs: UnsafePointer<CChar>? = {
        _ = CSQLite_disableMemoryStatistics()
        return permd_gather_vfs()
    }()

    deinit { close() }

    /// How long the checkpoint at close waits for other connections: while a full checkpoint
    /// waits it holds the write lock, so it must never keep a server's writes waiting long.
    static let closingCheckpointWaitMilliseconds: Int32 = 200

    /// Checkpoints the write-ahead log into the database file and truncates it, then closes:
    /// after a clean stop the `.db` file alone holds the whole state (SPEC §3). Returns
    /// whether the log was emptied (not when another connection was mid-read or mid-write;
    /// then the log keeps the state, and that connection's own close checkpoints it). Closing
    /// twice does nothing.
    @discardableResult
    func close() -> Bool {
        guard let handle else { return false }
        var emptied = false
        if sqlite3_get_autocommit(handle) != 0 {
            sqlite3_busy_timeout(handle, Self.closingCheckpointWaitMilliseconds)
            // PASSIVE first copies what it can without taking the write lock; TRUNCATE then
            // holds it only for the rest, and empties the log file.
            sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            emptied = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil) == SQLITE_OK
        }
        statements.removeAll()  // finalize before closing
        sqlite3_close_v2(handle)
        self.handle = nil
        return emptied
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
                message: "the database is locked by another process (an import?); waited \(writeTimeout.secondsText) "
                    + "(--write-timeout); nothing was stored; retry later")
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

extension Duration {
    /// The duration for messages: `30 s`, `0.3 s`.
    var secondsText: String {
        let (seconds, attoseconds) = components
        let tenths = attoseconds / 100_000_000_000_000_000
        return tenths == 0 ? "\(seconds) s" : "\(seconds).\(tenths) s"
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

    /// Binds `text` (NULL when nil) to the 1-based parameter `index`.
    func bind(_ text: String?, at index: Int32) throws(StoreError) {
        guard let text else {
            let code = sqlite3_bind_null(raw, index)
            if code != SQLITE_OK { throw connection.error(code, doing: "bind") }
            return
        }
        try bind(text, at: index)
    }

    /// Binds `flag` as 1 or 0 (NULL when nil) to the 1-based parameter `index`.
    func bind(_ flag: Bool?, at index: Int32) throws(StoreError) {
        let code = flag.map { sqlite3_bind_int64(raw, index, $0 ? 1 : 0) } ?? sqlite3_bind_null(raw, index)
        if code != SQLITE_OK { throw connection.error(code, doing: "bind") }
    }

    /// Binds `number` to the 1-based parameter `index`.
    func bind(_ number: Int64, at index: Int32) throws(StoreError) {
        let code = sqlite3_bind_int64(raw, index, number)
        if code != SQLITE_OK { throw connection.error(code, doing: "bind") }
    }

    /// Binds `texts` to the first parameters in order (no array of values built), runs the
    /// statement and answers whether it returned a row; the statement is left on that row
    /// (reset it when done reading).
    func find(_ texts: String...) throws(StoreError) -> Bool {
        sqlite3_reset(raw)
        for (offset, text) in texts.enumerated() { try bind(text, at: Int32(offset + 1)) }
        return try step()
    }

    /// Like `find`, then the first column of the row as text (nil when no row), and resets.
    func firstText(_ texts: String...) throws(StoreError) -> String? {
        sqlite3_reset(raw)
        for (offset, text) in texts.enumerated() { try bind(text, at: Int32(offset + 1)) }
        defer { sqlite3_reset(raw) }
        return try step() ? optionalText(0) : nil
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
