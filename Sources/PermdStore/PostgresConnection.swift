import CLibPQ
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection to PostgreSQL, synchronous like `SQLiteConnection`: statements with
/// text parameters, prepared statements held by their SQL, transactions, LISTEN/NOTIFY and
/// COPY. Not thread-safe: one owner at a time (libpq allows one thread per connection).
///
/// Every error is a `PostgresError` whose message went through the location's redaction.
package final class PostgresConnection {
    /// The database, for messages.
    package let location: PostgresLocation
    private let handle: OpaquePointer
    private var statements: [String: PostgresStatement] = [:]

    /// How long a connection attempt waits for a server that does not answer, unless the URI
    /// says otherwise (`connect_timeout`).
    package static let defaultConnectTimeoutSeconds = 10

    /// Connects. Parameters the URI leaves out get permd's defaults: a connect timeout, TCP
    /// keepalives that notice a dead server within about 25 s, and the application name;
    /// the client encoding is always UTF-8.
    /// - Parameter location: the database.
    /// - Throws: `.connection` with libpq's reason (host and port, never the password).
    package init(_ location: PostgresLocation) throws(PostgresError) {
        self.location = location
        // Before `dbname` (the URI, expanded in place), so the URI's own values win; after it
        // only what permd needs whatever the URI says.
        let parameters: [(String, String)] = [
            ("connect_timeout", String(Self.defaultConnectTimeoutSeconds)),
            ("keepalives_idle", "10"), ("keepalives_interval", "5"), ("keepalives_count", "3"),
            ("fallback_application_name", "permd"),
            ("dbname", location.uri),
            ("client_encoding", "UTF8"),
        ]
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let connection = (keywords.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { names in
            (values.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { settings in
                PQconnectdbParams(names.baseAddress, settings.baseAddress, 1)
            }
        }
        guard let connection else {
            throw PostgresError(.connection, location: location.description, message: "cannot connect: out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let detail = location.redacting(PostgresLocation.oneLine(String(cString: PQerrorMessage(connection))))
            PQfinish(connection)
            throw PostgresError(.connection, location: location.description, message: "cannot connect: \(detail)")
        }
        handle = connection
        // libpq prints notices (`schema "permd" already exists, skipping`) on stderr by default.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    /// Whether the connection is up (false once libpq saw it fail).
    package var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// The server's version as a number (150004 for 15.4).
    package var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// The process id of the server backend serving this connection (`pg_stat_activity.pid`).
    package var backendProcessID: Int32 { PQbackendPID(handle) }

    /// Whether a transaction is open (or failed and not yet rolled back).
    package var inTransaction: Bool { PQtransactionStatus(handle) != PQTRANS_IDLE }

    /// Connects again with the same parameters after the connection failed; prepared
    /// statements are gone with the old session, so they are forgotten.
    package func reconnect() throws(PostgresError) {
        statements.removeAll()
        PQreset(handle)
        guard isConnected else { throw connectionError("cannot reconnect") }
    }

    // MARK: Statements

    /// Runs one or more statements without parameters (a migration's script).
    package func execute(_ script: String) throws(PostgresError) {
        _ = try check(PQexec(handle, script), doing: script)
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …) and returns its rows.
    @discardableResult
    package func query(_ sql: String, _ parameters: PostgresValue...) throws(PostgresError) -> PostgresResult {
        try query(sql, parameters: parameters)
    }

    /// Runs one statement with text parameters and returns its rows.
    @discardableResult
    package func query(_ sql: String, parameters: [PostgresValue]) throws(PostgresError) -> PostgresResult {
        let result = try withParameters(parameters, doing: sql) { count, values in
            PQexecParams(handle, sql, count, nil, values, nil, nil, 0)
        }
        return try check(result, doing: sql)
    }

    /// The first column of the first row as an integer, or nil (no row, or NULL).
    package func integer(_ sql: String, _ parameters: PostgresValue...) throws(PostgresError) -> Int64? {
        let result = try query(sql, parameters: parameters)
        return result.isEmpty ? nil : result[0].integer(0)
    }

    /// The prepared statement for `sql`: prepared on first use, then reused by this connection.
    package func prepare(_ sql: String) throws(PostgresError) -> PostgresStatement {
        if let prepared = statements[sql] { return prepared }
        let statement = PostgresStatement(name: "permd_\(statements.count + 1)", sql: sql)
        _ = try check(PQprepare(handle, statement.name, sql, 0, nil), doing: sql)
        statements[sql] = statement
        return statement
    }

    /// Runs a prepared statement with text parameters and returns its rows.
    @discardableResult
    package func query(_ statement: PostgresStatement, _ parameters: PostgresValue...) throws(PostgresError)
        -> PostgresResult
    {
        try query(statement, parameters: parameters)
    }

    /// Runs a prepared statement with text parameters and returns its rows.
    @discardableResult
    package func query(_ statement: PostgresStatement, parameters: [PostgresValue]) throws(PostgresError)
        -> PostgresResult
    {
        let result = try withParameters(parameters, doing: statement.sql) { count, values in
            PQexecPrepared(handle, statement.name, count, values, nil, nil, 0)
        }
        return try check(result, doing: statement.sql)
    }

    /// Runs a query and hands each row to `body` as it arrives (libpq's single-row mode), so
    /// that a million rows are never in memory at once. When `body` throws, the query is
    /// cancelled and the error rethrown.
    package func forEachRow(_ sql: String, parameters: [PostgresValue] = [],
                            _ body: (PostgresRow) throws(PostgresError) -> Void) throws(PostgresError)
    {
        let sent = try withParameters(parameters, doing: sql) { count, values in
            PQsendQueryParams(handle, sql, count, nil, values, nil, nil, 0)
        }
        guard sent == 1 else { throw connectionError("cannot send the query") }
        PQsetSingleRowMode(handle)
        var failure: PostgresError?
        while let raw = PQgetResult(handle) {
            guard failure == nil else {
                PQclear(raw)
                continue
            }
            do {
                let result = try check(raw, doing: sql)
                if result.status == PGRES_SINGLE_TUPLE { try body(result[0]) }
            } catch {
                failure = error
                cancel()
            }
        }
        if let failure { throw failure }
    }

    /// Asks the server to stop the statement running on this connection (its result then
    /// reports the cancellation).
    private func cancel() {
        guard let request = PQgetCancel(handle) else { return }
        var reason = [CChar](repeating: 0, count: 256)
        _ = PQcancel(request, &reason, Int32(reason.count))
        PQfreeCancel(request)
    }

    // MARK: Transactions

    /// How much of other transactions' work a transaction sees.
    package enum Isolation: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// A transaction in which a statement failed (even one `body` caught) is rolled back and
    /// reported, never "committed" — PostgreSQL would answer COMMIT with a silent ROLLBACK.
    /// Retrying a `.serializationFailure` or `.deadlock` is the caller's decision. Transactions
    /// do not nest: PostgreSQL would only warn about the second BEGIN and commit both at once.
    package func transaction<T>(_ isolation: Isolation = .readCommitted, readOnly: Bool = false,
                                _ body: () throws(PostgresError) -> T) throws(PostgresError) -> T
    {
        guard !inTransaction else {
            throw PostgresError(.server, location: location.description, message: "a transaction is already open")
        }
        try execute("BEGIN ISOLATION LEVEL \(isolation.rawValue)\(readOnly ? " READ ONLY" : "")")
        let value: T
        do {
            value = try body()
        } catch {
            rollback()
            throw error
        }
        if PQtransactionStatus(handle) == PQTRANS_INERROR {
            rollback()
            throw PostgresError(.server, location: location.description,
                                message: "a statement of the transaction failed; it was rolled back")
        }
        do {
            try execute("COMMIT")
        } catch {
            rollback()
            throw error
        }
        return value
    }

    /// Ends an open transaction; a lost connection has rolled it back already.
    private func rollback() {
        guard isConnected, inTransaction else { return }
        PQclear(PQexec(handle, "ROLLBACK"))
    }

    // MARK: LISTEN and NOTIFY

    /// The connection's socket, for waiting on it (a notification or a lost connection makes
    /// it readable); -1 when there is no connection.
    package var socket: Int32 { PQsocket(handle) }

    /// Starts listening on `channel` (a name, quoted here).
    package func listen(_ channel: String) throws(PostgresError) {
        try execute("LISTEN \(try quotedIdentifier(channel))")
    }

    /// Stops listening on `channel`.
    package func unlisten(_ channel: String) throws(PostgresError) {
        try execute("UNLISTEN \(try quotedIdentifier(channel))")
    }

    /// Sends a notification; inside a transaction it is delivered when the transaction commits.
    package func notify(_ channel: String, payload: String) throws(PostgresError) {
        try query("SELECT pg_notify($1, $2)", .text(channel), .text(payload))
    }

    /// The notifications received, waiting up to `timeout` for the first when none is queued
    /// (zero: only what already arrived). Empty when the time ran out.
    package func notifications(waitingUpTo timeout: Duration = .zero) throws(PostgresError) -> [PostgresNotification] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var received = try receivedNotifications()
        while received.isEmpty {
            let left = clock.now.duration(to: deadline)
            guard left > .zero else { break }
            let (seconds, attoseconds) = left.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 && errno != EINTR { throw connectionError("cannot wait for notifications") }
            received = try receivedNotifications()
        }
        return received
    }

    /// Reads what the socket holds and takes the queued notifications.
    private func receivedNotifications() throws(PostgresError) -> [PostgresNotification] {
        guard PQconsumeInput(handle) == 1 else { throw connectionError("lost the connection") }
        var received: [PostgresNotification] = []
        while let notification = PQnotifies(handle) {
            received.append(PostgresNotification(
                channel: String(cString: notification.pointee.relname),
                payload: String(cString: notification.pointee.extra),
                processID: notification.pointee.be_pid))
            PQfreemem(notification)
        }
        return received
    }

    /// `name` as an SQL identifier, quoted by libpq.
    package func quotedIdentifier(_ name: String) throws(PostgresError) -> String {
        guard let quoted = PQescapeIdentifier(handle, name, name.utf8.count) else {
            throw PostgresError(.invalidValue, location: location.description,
                                message: location.redacting(PostgresLocation.oneLine(String(cString: PQerrorMessage(handle)))))
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    // MARK: COPY

    /// Bulk load: runs `COPY … FROM STDIN` (`sql`, text format) and streams the rows `body`
    /// appends. When `body` throws, the COPY is abandoned (nothing of it is stored) and the
    /// error rethrown.
    /// - Returns: the number of rows the server stored.
    @discardableResult
    package func copy(_ sql: String, rows body: (inout PostgresCopyRows) throws(PostgresError) -> Void)
        throws(PostgresError) -> Int
    {
        let started = try check(PQexec(handle, sql), doing: sql)
        guard started.status == PGRES_COPY_IN else {
            throw PostgresError(.server, location: location.description, message: "not a COPY FROM STDIN: \(sql)")
        }
        var rows = PostgresCopyRows(connection: self)
        do {
            try body(&rows)
            try rows.flush()
        } catch {
            PQputCopyEnd(handle, "abandoned by permd")
            while let raw = PQgetResult(handle) { PQclear(raw) }
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else { throw connectionError("cannot end the COPY") }
        var stored = 0
        var failure: PostgresError?
        while let raw = PQgetResult(handle) {
            do {
                stored = try check(raw, doing: sql).affectedRows
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return stored
    }

    /// Sends a chunk of COPY data.
    fileprivate func putCopyData(_ bytes: UnsafeRawBufferPointer) throws(PostgresError) {
        guard !bytes.isEmpty else { return }
        let sent = bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        guard sent == 1 else { throw connectionError("cannot send COPY data") }
    }

    // MARK: Results and errors

    /// Calls `body` with the parameters as C strings (NULL for `.null`), all in one buffer.
    private func withParameters<T>(_ parameters: [PostgresValue], doing sql: String,
                                   _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> T) throws(PostgresError) -> T
    {
        var bytes: [CChar] = []
        var offsets: [Int?] = []
        offsets.reserveCapacity(parameters.count)
        for parameter in parameters {
            guard let text = parameter.text else {
                offsets.append(nil)
                continue
            }
            guard !text.utf8.contains(0) else { throw nulError(doing: sql) }
            offsets.append(bytes.count)
            bytes.append(contentsOf: text.utf8.map { CChar(bitPattern: $0) })
            bytes.append(0)
        }
        return bytes.withUnsafeBufferPointer { buffer in
            let pointers = offsets.map { offset in offset.map { UnsafePointer(buffer.baseAddress! + $0) } }
            return pointers.withUnsafeBufferPointer { body(Int32(parameters.count), $0.baseAddress) }
        }
    }

    /// The result of a statement, or its error (the result is freed then).
    private func check(_ raw: OpaquePointer?, doing sql: String) throws(PostgresError) -> PostgresResult {
        guard let raw else { throw connectionError("no answer", doing: sql) }
        let status = PQresultStatus(raw)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE, PGRES_COPY_IN, PGRES_EMPTY_QUERY:
            return PostgresResult(raw, status: status)
        default:
            let field = { (code: Int32) in PQresultErrorField(raw, code).map { String(cString: $0) } }
            let sqlState = field(CLibPQ_diagSQLState())
            let detail = field(CLibPQ_diagMessagePrimary())
                ?? PostgresLocation.oneLine(String(cString: PQresultErrorMessage(raw)))
            let kind: PostgresError.Kind = isConnected ? sqlState.map(PostgresError.kind(forSQLState:)) ?? .server : .connection
            let error = PostgresError(kind, sqlState: sqlState, constraint: field(CLibPQ_diagConstraintName()),
                                      location: location.description,
                                      message: location.redacting("\(detail) (while running: \(firstLine(sql)))"))
            PQclear(raw)
            throw error
        }
    }

    /// A `.connection` error with libpq's own reason.
    private func connectionError(_ what: String, doing sql: String? = nil) -> PostgresError {
        let reason = location.redacting(PostgresLocation.oneLine(String(cString: PQerrorMessage(handle))))
        let running = sql.map { " (while running: \(firstLine($0)))" } ?? ""
        return PostgresError(.connection, location: location.description,
                             message: "\(what): \(reason.isEmpty ? "the connection failed" : reason)\(running)")
    }

    private func nulError(doing sql: String) -> PostgresError {
        PostgresError(.invalidValue, location: location.description,
                      message: "a text value holds a NUL byte, which PostgreSQL cannot store (while running: \(firstLine(sql)))")
    }

    private func firstLine(_ sql: String) -> String {
        sql.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? sql
    }

    fileprivate func copyNulError() -> PostgresError { nulError(doing: "COPY") }
}

/// A value sent as a statement parameter, in PostgreSQL's text format.
package enum PostgresValue: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    case text(String)
    case integer(Int64)
    case boolean(Bool)
    case null

    package init(stringLiteral value: String) { self = .text(value) }
    package init(integerLiteral value: Int64) { self = .integer(value) }
    package init(booleanLiteral value: Bool) { self = .boolean(value) }
    package init(nilLiteral: ()) { self = .null }

    /// `.text`, or `.null` for nil.
    package static func optional(_ text: String?) -> PostgresValue { text.map { .text($0) } ?? .null }
    /// `.boolean`, or `.null` for nil.
    package static func optional(_ flag: Bool?) -> PostgresValue { flag.map { .boolean($0) } ?? .null }

    /// The text sent; nil for NULL.
    var text: String? {
        switch self {
        case .text(let text): text
        case .integer(let number): String(number)
        case .boolean(let flag): flag ? "t" : "f"
        case .null: nil
        }
    }
}

/// A statement prepared on one connection, named there.
package struct PostgresStatement: Sendable, Hashable {
    /// The server-side name.
    package let name: String
    /// Its SQL.
    package let sql: String
}

/// A notification a listening connection received.
package struct PostgresNotification: Sendable, Hashable {
    /// The channel it was sent on.
    package let channel: String
    /// Its payload (empty when none).
    package let payload: String
    /// The server process of the sending connection.
    package let processID: Int32
}

/// The rows of one statement (a libpq result, freed with this value), as a collection of views.
package final class PostgresResult: RandomAccessCollection {
    fileprivate let raw: OpaquePointer
    let status: ExecStatusType

    fileprivate init(_ raw: OpaquePointer, status: ExecStatusType) {
        self.raw = raw
        self.status = status
    }

    deinit { PQclear(raw) }

    package var startIndex: Int { 0 }
    package var endIndex: Int { Int(PQntuples(raw)) }
    package subscript(row: Int) -> PostgresRow { PostgresRow(result: self, row: Int32(row)) }

    /// The number of columns.
    package var columnCount: Int { Int(PQnfields(raw)) }

    /// Rows inserted, updated, deleted or copied (0 for other statements).
    package var affectedRows: Int { Int(String(cString: PQcmdTuples(raw))) ?? 0 }
}

/// One row of a `PostgresResult`, read in place; columns are 0-based and in text format.
package struct PostgresRow {
    /// Holds the result alive while the row is used.
    private let result: PostgresResult
    private let row: Int32

    fileprivate init(result: PostgresResult, row: Int32) {
        self.result = result
        self.row = row
    }

    /// Whether the column is NULL.
    package func isNull(_ column: Int) -> Bool { PQgetisnull(result.raw, row, Int32(column)) == 1 }

    /// The column's UTF-8 bytes, valid while the row (or its result) lives; no `String` made.
    package func bytes(_ column: Int) -> UnsafeRawBufferPointer {
        guard let value = PQgetvalue(result.raw, row, Int32(column)) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(result.raw, row, Int32(column))))
    }

    /// The column as text, or nil for NULL.
    package func text(_ column: Int) -> String? {
        isNull(column) ? nil : String(decoding: bytes(column), as: UTF8.self)
    }

    /// The column as an integer (an `integer`/`bigint` column), or nil for NULL or non-digits.
    package func integer(_ column: Int) -> Int64? {
        guard !isNull(column) else { return nil }
        let digits = bytes(column)
        guard !digits.isEmpty else { return nil }
        let negative = digits[0] == UInt8(ascii: "-")
        var value: Int64 = 0
        for byte in digits.dropFirst(negative ? 1 : 0) {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowAgain) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")) * (negative ? -1 : 1))
            guard !overflow, !overflowAgain else { return nil }
            value = sum
        }
        return value
    }

    /// The column as a boolean (`t` or `f`), or nil for NULL.
    package func boolean(_ column: Int) -> Bool? {
        isNull(column) ? nil : bytes(column).first == UInt8(ascii: "t")
    }
}

/// The rows of a `COPY … FROM STDIN` being written, in COPY's text format, sent in chunks.
package struct PostgresCopyRows: ~Copyable {
    private unowned let connection: PostgresConnection
    private var buffer: [UInt8] = []
    private var fieldsInRow = 0

    /// How much is buffered before it is sent.
    static let chunkBytes = 256 * 1024

    fileprivate init(connection: PostgresConnection) {
        self.connection = connection
        buffer.reserveCapacity(Self.chunkBytes + 4096)
    }

    /// Appends one field (nil for NULL) to the current row.
    package mutating func append(_ field: String?) throws(PostgresError) {
        if fieldsInRow > 0 { buffer.append(UInt8(ascii: "\t")) }
        fieldsInRow += 1
        guard let field else {
            buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
            return
        }
        for byte in field.utf8 {
            switch byte {
            case 0: throw connection.copyNulError()
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: buffer.append(byte)
            }
        }
    }

    /// Ends the current row (sending the buffer when it is full).
    package mutating func endRow() throws(PostgresError) {
        buffer.append(UInt8(ascii: "\n"))
        fieldsInRow = 0
        if buffer.count >= Self.chunkBytes { try flush() }
    }

    /// Appends a whole row.
    package mutating func row(_ fields: String?...) throws(PostgresError) {
        for field in fields { try append(field) }
        try endRow()
    }

    /// Sends what is buffered.
    mutating func flush() throws(PostgresError) {
        let connection = connection
        let sent = buffer.withUnsafeBytes { bytes in
            Result { () throws(PostgresError) in try connection.putCopyData(bytes) }
        }
        try sent.get()
        buffer.removeAll(keepingCapacity: true)
    }
}
