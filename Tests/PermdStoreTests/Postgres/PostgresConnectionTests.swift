import Foundation
@testable import PermdStore
import PermdTestSupport
import Testing

/// `PostgresConnection` against a real server (the throwaway test cluster, over TCP).
@Suite(.needsPostgres) struct PostgresConnectionTests {
    @Test func aWrongPasswordIsRefusedWithoutEchoingEitherPassword() throws {
        try withFreshDatabase { fixture in
            let role = "permd_role_\(UInt32.random(in: 0 ... .max))"
            let admin = try fixture.connect()
            try admin.execute("CREATE ROLE \(role) LOGIN PASSWORD 'Right-Pa55word'")
            let wrong = try PostgresLocation(uri: fixture.cluster.uri(database: fixture.database.name, user: role,
                                                                     password: "Wr0ng-Pa55word"))
            let error = #expect(throws: PostgresError.self) { try PostgresConnection(wrong) }
            let text = error.map { "\($0)" } ?? ""
            #expect(error?.kind == .connection)
            #expect(text.contains("password authentication failed"), "error: \(text)")
            #expect(!text.contains("Pa55word"), "error: \(text)")

            let right = try PostgresConnection(PostgresLocation(
                uri: fixture.cluster.uri(database: fixture.database.name, user: role, password: "Right-Pa55word")))
            #expect(try right.query("SELECT current_user")[0].text(0) == role)
        }
    }

    @Test func aPasswordFileGivesThePasswordTheURILeavesOut() throws {
        try withFreshDatabase { fixture in
            let role = "permd_role_\(UInt32.random(in: 0 ... .max))"
            try fixture.connect().execute("CREATE ROLE \(role) LOGIN PASSWORD 'From-Pgpass-1'")
            let folder = TemporaryDirectory()
            let passfile = folder.path("pgpass")
            try "127.0.0.1:\(fixture.cluster.port):*:\(role):From-Pgpass-1\n".write(toFile: passfile, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passfile)
            // `passfile` is ~/.pgpass's parameter: the same reading, without touching HOME.
            let location = try PostgresLocation(uri: "postgresql://\(role)@127.0.0.1:\(fixture.cluster.port)/"
                + "\(fixture.database.name)?passfile=\(passfile)")
            try withExtendedLifetime(folder) { () throws in
                #expect(try PostgresConnection(location).query("SELECT current_user")[0].text(0) == role)
            }
        }
    }

    @Test func parametersAndColumnsRoundTrip() throws {
        try withFreshDatabase { fixture in
            let connection = try fixture.connect()
            let text = "héllo wörld ✓ 🎉 日本語 'quoted' \"double\" \\ back\ttab\nline"
            let row = try connection.query("SELECT $1::text, $2::text, $3::bigint, $4::boolean, $5::text, $6::bigint",
                                           .text(text), "", .integer(.min), true, nil, .integer(.max))[0]
            #expect(row.text(0) == text)
            #expect(row.text(1) == "")
            #expect(!row.isNull(1))
            #expect(row.integer(2) == .min)
            #expect(row.boolean(3) == true)
            #expect(row.isNull(4))
            #expect(row.text(4) == nil)
            #expect(row.integer(5) == .max)

            let statement = try connection.prepare("SELECT $1::text || '!'")
            #expect(try connection.prepare("SELECT $1::text || '!'") == statement)
            #expect(try connection.query(statement, "one")[0].text(0) == "one!")
            #expect(try connection.query(statement, "two")[0].text(0) == "two!")
        }
    }

    @Test func textWithANulByteIsRefusedBeforeItIsSent() throws {
        try withFreshDatabase { fixture in
            let connection = try fixture.connect()
            let error = #expect(throws: PostgresError.self) { try connection.query("SELECT $1::text", "a\u{0}b") }
            #expect(error?.kind == .invalidValue)
            #expect(try connection.integer("SELECT 7") == 7)
        }
    }

    @Test func aUniqueViolationIsTypedAndNamesItsConstraint() throws {
        try withFreshDatabase { fixture in
            let connection = try fixture.connect()
            try connection.execute("CREATE TABLE keys (k text CONSTRAINT keys_unique UNIQUE)")
            try connection.query("INSERT INTO keys VALUES ($1)", "a")
            let error = #expect(throws: PostgresError.self) { try connection.query("INSERT INTO keys VALUES ($1)", "a") }
            #expect(error?.kind == .uniqueViolation)
            #expect(error?.sqlState == "23505")
            #expect(error?.constraint == "keys_unique")
            #expect(error?.isRetryable == false)
        }
    }

    @Test func aRolledBackTransactionLeavesNothing() throws {
        try withFreshDatabase { fixture in
            let connection = try fixture.connect()
            try connection.execute("CREATE TABLE items (n bigint)")
            let refusal = PostgresError(.server, location: "test", message: "refused")
            #expect(throws: refusal) {
                try connection.transaction { () throws(PostgresError) in
                    for n in 1 ... 3 { try connection.query("INSERT INTO items VALUES ($1)", .integer(Int64(n))) }
                    throw refusal
                }
            }
            #expect(try connection.integer("SELECT count(*) FROM items") == 0)
            #expect(!connection.inTransaction)

            // A statement that failed inside, even when caught, fails the transaction too.
            #expect(throws: PostgresError.self) {
                try connection.transaction { () throws(PostgresError) in
                    try connection.query("INSERT INTO items VALUES (1)")
                    _ = try? connection.query("SELECT 1 / 0")
                }
            }
            #expect(try connection.integer("SELECT count(*) FROM items") == 0)

            try connection.transaction { () throws(PostgresError) in
                for n in 1 ... 3 { try connection.query("INSERT INTO items VALUES ($1)", .integer(Int64(n))) }
            }
            #expect(try connection.integer("SELECT count(*) FROM items") == 3)
        }
    }

    @Test func theRevisionRowSerialisesTwoConcurrentTransactions() throws {
        try withFreshDatabase { fixture in
            let first = try fixture.connect()
            let observer = try fixture.connect()
            try PostgresSchema.migrate(first)
            let bump = "UPDATE permd.revision SET value = value + 1 RETURNING value"
            var second: Background<Int64>?
            var secondWaited = false
            let firstRevision = try first.transaction { () throws(PostgresError) -> Int64? in
                let revision = try first.integer(bump)
                second = Background { () throws(PostgresError) -> Int64 in
                    let connection = try fixture.connect()
                    return try connection.transaction { () throws(PostgresError) in try connection.integer(bump) ?? -1 }
                }
                // The second transaction blocks on the row until this one commits.
                secondWaited = try eventually { () throws(PostgresError) in try sessionsWaitingForALock(observer) == 1 }
                return revision
            }
            #expect(secondWaited)
            #expect(firstRevision == 1)
            #expect(try second?.value() == 2)
            #expect(try observer.integer("SELECT value FROM permd.revision") == 2)
        }
    }

    @Test func aNotificationReachesAListenerAfterTheCommit() throws {
        try withFreshDatabase { fixture in
            let listener = try fixture.connect()
            let sender = try fixture.connect()
            try listener.listen(PostgresSchema.changesChannel)
            let senderProcess = try sender.integer("SELECT pg_backend_pid()")
            var beforeCommit: [PostgresNotification] = []
            try sender.transaction { () throws(PostgresError) in
                try sender.notify(PostgresSchema.changesChannel, payload: "42")
                beforeCommit = try listener.notifications(waitingUpTo: .milliseconds(200))
            }
            #expect(beforeCommit.isEmpty)
            let received = try listener.notifications(waitingUpTo: .seconds(10))
            #expect(received.map(\.payload) == ["42"])
            #expect(received.first?.channel == PostgresSchema.changesChannel)
            #expect(received.first.map { Int64($0.processID) } == senderProcess)
            #expect(try listener.notifications().isEmpty)
        }
    }

    @Test func copyLoadsAHundredThousandRowsAndTheyStreamBack() throws {
        try withFreshDatabase { fixture in
            let connection = try fixture.connect()
            try connection.execute("CREATE TABLE bulk (id bigint PRIMARY KEY, name text NOT NULL, note text)")
            let awkward = "tab\there, new\nline, cr\r, back\\slash, \\N, ünïcode 🎉"
            let count = 100_000
            let stored = try connection.copy("COPY bulk (id, name, note) FROM STDIN") { (rows) throws(PostgresError) in
                for id in 0 ..< count {
                    try rows.row(String(id), "user \(id)", id % 10 == 0 ? nil : id == 7 ? awkward : "note")
                }
            }
            #expect(stored == count)
            #expect(try connection.integer("SELECT count(*) FROM bulk") == Int64(count))
            #expect(try connection.integer("SELECT count(*) FROM bulk WHERE note IS NULL") == Int64(count / 10))
            #expect(try connection.query("SELECT note FROM bulk WHERE id = 7")[0].text(0) == awkward)

            var streamed = 0
            var idSum: Int64 = 0
            try connection.forEachRow("SELECT id, name FROM bulk WHERE id >= $1", parameters: [0]) { (row) throws(PostgresError) in
                streamed += 1
                idSum += row.integer(0) ?? 0
            }
            #expect(streamed == count)
            #expect(idSum == Int64(count) * Int64(count - 1) / 2)

            // A COPY whose rows fail part-way stores none of them; the connection goes on.
            let refusal = PostgresError(.invalidValue, location: "test", message: "bad row")
            #expect(throws: refusal) {
                try connection.copy("COPY bulk (id, name, note) FROM STDIN") { (rows) throws(PostgresError) in
                    for id in count ..< count + 1000 { try rows.row(String(id), "late", nil) }
                    throw refusal
                }
            }
            #expect(try connection.integer("SELECT count(*) FROM bulk") == Int64(count))
        }
    }
}
