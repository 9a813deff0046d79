@testable import PermdStore
import Testing

/// A `--db` URI shows itself, and fails, without its password (SPEC §8: never logged).
@Suite struct PostgresLocationTests {
    @Test func aPasswordInTheUserPartIsLeftOutOfEveryDescription() throws {
        let location = try PostgresLocation(uri: "postgresql://permd:s3cr%40tPw@db.internal:5432/permd?sslmode=require")
        #expect(location.description == "postgresql://permd@db.internal:5432/permd?sslmode=require")
        #expect(location.host == "db.internal")
        #expect(location.port == "5432")
        #expect(location.database == "permd")
        #expect(location.user == "permd")
        var dumped = ""
        dump(location, to: &dumped)
        for shown in ["\(location)", String(reflecting: location), dumped] {
            #expect(!shown.contains("s3cr"), "shown: \(shown)")
        }
        // Both the written and the decoded form are taken out of a message.
        #expect(location.redacting("bad: s3cr%40tPw and s3cr@tPw") == "bad: [password] and [password]")
    }

    @Test func aPasswordParameterIsLeftOut() throws {
        let location = try PostgresLocation(uri: "postgres://permd@db/permd?password=hunter2&application_name=sidecar")
        #expect(location.description == "postgres://permd@db/permd?application_name=sidecar")
        #expect(location.redacting("password hunter2 rejected") == "password [password] rejected")
        let only = try PostgresLocation(uri: "postgres://db/permd?sslpassword=keypass")
        #expect(only.description == "postgres://db/permd")
    }

    @Test func aURIWithoutPasswordIsShownAsWritten() throws {
        for uri in ["postgres://permd@db.internal:5432/permd", "postgresql://localhost/permd", "postgresql://"] {
            #expect(try PostgresLocation(uri: uri).description == uri)
        }
    }

    @Test func aMalformedURIIsRefusedWithoutItsPassword() {
        // libpq's message quotes the bad token, which here is the password.
        let error = #expect(throws: PostgresError.self) {
            try PostgresLocation(uri: "postgresql://permd:hunter%ZZ2@db/permd")
        }
        #expect(error?.kind == .invalidLocation)
        #expect(error.map { !"\($0)".contains("hunter") } == true, "error: \(String(describing: error))")
        #expect(error.map { "\($0)".contains("postgresql://permd@db/permd") } == true)
    }

    @Test func onlyPostgresSchemesNameADatabaseServer() {
        #expect(PostgresLocation.isURI("postgres://db/permd"))
        #expect(PostgresLocation.isURI("postgresql://db/permd"))
        #expect(!PostgresLocation.isURI("permd.db"))
        #expect(!PostgresLocation.isURI("/var/lib/postgres://x"))
        #expect(throws: PostgresError.self) { try PostgresLocation(uri: "permd.db") }
    }

    @Test func aRefusedConnectionNamesTheServerButNotThePassword() throws {
        // Port 1 on 127.0.0.1: nothing listens, the connection is refused at once.
        let location = try PostgresLocation(uri: "postgresql://permd:Sup3rS3cretPw@127.0.0.1:1/permd?connect_timeout=5")
        let error = #expect(throws: PostgresError.self) { try PostgresConnection(location) }
        let text = error.map { "\($0)" } ?? ""
        #expect(error?.kind == .connection)
        #expect(text.contains("127.0.0.1"), "error: \(text)")
        #expect(!text.contains("Sup3rS3cret"), "error: \(text)")
    }
}
