import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PermdTestSupport
import Testing

/// Every `--db` command on PostgreSQL (SPEC §8), run as a user runs them: the same commands
/// on an SQLite file and on a fresh database of the throwaway cluster print the same, and the
/// same CSV imported into both exports byte for byte the same.
@Suite(.enabled(if: PostgresCluster.isEnabled, Comment(rawValue: PostgresCluster.skipReason)))
struct PostgresCLITests {
    static let policy = """
        {"permissions": [{"key": "read:invoices"}, {"key": "refund:payments"}],
         "roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true},
                   {"key": "billing-admin", "permissions": ["refund:payments"], "includes": ["viewer"]},
                   {"key": "admin", "permissions": ["*"]}],
         "organizations": [{"code": "org_default", "name": "Default"},
                           {"code": "org_acme", "name": "Acme Ltd", "external_id": "acme-123"}],
         "settings": {"default_organization": "org_default"}}
        """

    /// Rows merged by id, an organization by external id, a quoted comma, an explicit empty
    /// role list, a password column (ignored with a notice); every user has an id, so that
    /// no id is generated (a generated id differs from one database to the other).
    static let users = """
        id,email,first_name,last_name,external_organization_id,role_key,permission_key,hashed_password
        u1,ana@acme.io,Ana,"Ruiz, López","acme-123,org_beta",billing-admin,,$2a$10$x
        u1,,,,,,refund:payments,
        u2,bo@beta.io,Bo,Li,org_beta,(none),,
        u3,cy@acme.io,Cy,,,,,

        """

    /// The commands, in order; each prints the same on both backends once the location is
    /// replaced by `DB`.
    static let commands: [[String]] = [
        ["org", "add", "org_beta", "--name", "Beta, Inc.", "--external-id", "crm-9"],
        ["import", "--dry-run", "users.csv"],
        ["import", "users.csv"],
        ["import", "users.csv"],
        ["user", "add", "--id", "dan", "--email", "dan@x.io", "--org", "org_beta"],
        ["user", "add", "--id", "eve", "--email", "ANA@acme.io"],
        ["member", "add", "dan", "org_default"],
        ["role", "assign", "dan", "org_default", "admin"],
        ["permission", "grant", "dan", "org_beta", "read:invoices"],
        ["member", "remove", "u2", "org_beta"],
        ["org", "list"],
        ["user", "list"],
        ["user", "list", "--org", "org_beta"],
        ["check", "u1", "org_acme", "read:invoices", "refund:payments", "delete:org"],
        ["explain", "dan", "org_default", "refund:payments"],
        ["diff", "policies", "policies"],
        ["validate", "policies"],
        ["export"],
        ["export", "--format", "kinde-ndjson"],
        ["export", "--organizations"],
        ["user", "remove", "u3"],
        ["org", "remove", "org_beta"],
        ["export"],
    ]

    @Test func everyDatabaseCommandPrintsTheSameOnSQLiteAndPostgreSQL() throws {
        let directory = try PermdProcess.temporaryDirectory(["policies/p.json": Self.policy, "users.csv": Self.users])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try PostgresCluster.shared().makeDatabase()
        let places = ["permd.db", database.uri]
        var transcripts: [[String]] = [[], []]
        for (index, db) in places.enumerated() {
            for command in Self.commands {
                let policies = ["validate", "diff"].contains(command[0]) ? [] : ["--policies", "policies"]
                let outcome = try PermdProcess.run(command + policies + ["--db", db], in: directory)
                let shown = index == 0 ? db : db.replacingOccurrences(of: ":\(passwordOf(db))@", with: "@")
                // Log lines (time-stamped, and each backend logs its own work) are left out.
                func normalised(_ text: String) -> String {
                    text.replacingOccurrences(of: shown, with: "DB").split(separator: "\n", omittingEmptySubsequences: false)
                        .filter { $0.firstMatch(of: /^\d{4}-\d\d-\d\dT\S+ \w+ permd:/) == nil }.joined(separator: "\n")
                }
                transcripts[index].append("$ permd \(command.joined(separator: " ")) → \(outcome.status)\n"
                    + normalised(outcome.standardOutput) + normalised(outcome.standardError))
                #expect(!outcome.standardError.contains(passwordOf(database.uri)), "the password is never shown: \(outcome)")
            }
        }
        for (sqlite, postgres) in zip(transcripts[0], transcripts[1]) {
            #expect(sqlite == postgres)
        }
        let export = try #require(transcripts[0].first { $0.hasPrefix("$ permd export → 0") })
        #expect(export.contains("u1,ana@acme.io"), "the import went through: \(export)")
        let failed = transcripts[1].filter { !$0.contains(" → 0\n") }.map { $0.prefix { $0 != "\n" } }
        #expect(failed == ["$ permd user add --id eve --email ANA@acme.io → 1", "$ permd member remove u2 org_beta → 1",
                           "$ permd org remove org_beta → 1"],
                "refused: the email taken, u2's last organization, org_beta that is u2's last: \(failed)")
    }

    /// The password part of a URI's user part.
    func passwordOf(_ uri: String) -> String {
        guard let at = uri.firstIndex(of: "@"), let colon = uri[uri.index(uri.startIndex, offsetBy: 13)..<at].firstIndex(of: ":")
        else { return "\u{0}" }
        return String(uri[uri.index(after: colon)..<at])
    }
}

extension PostgresCLITests {
    /// `permd serve` on PostgreSQL: builds its index from the database, answers queries, and
    /// sees a write another process (the CLI) committed there.
    @Test func serveAnswersFromPostgreSQLAndSeesAnotherProcesssWrite() throws {
        let directory = try PermdProcess.temporaryDirectory(["policies/p.json": Self.policy])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try PostgresCluster.shared().makeDatabase()
        let db = ["--policies", "policies", "--db", database.uri]
        #expect(try PermdProcess.run(["user", "add", "--id", "ana", "--org", "org_acme"] + db, in: directory).status == 0)
        let socketPath = directory + "/permd.sock"
        let server = Process()
        server.executableURL = try PermdProcess.executable()
        server.arguments = ["serve", "--listen", "127.0.0.1:0", "--unix", socketPath] + db
        server.currentDirectoryURL = URL(fileURLWithPath: directory)
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        var client: LocalLineClient?
        for _ in 0..<200 where client == nil {
            client = try? LocalLineClient(path: socketPath)
            if client == nil { usleep(50_000) }
        }
        let connection = try #require(client, "serve did not start")
        #expect(try connection.request("CHECK ana org_acme read:invoices") == "ALLOW")
        let added = try PermdProcess.run(["member", "add", "ana", "org_default"] + db, in: directory)
        let revision = try #require(added.standardOutput.split(separator: " ").last.flatMap { UInt64($0.dropLast()) })
        #expect(try connection.request("SYNC \(revision) 10000") == "OK \(revision)")
        #expect(try connection.request("CHECK ana org_default read:invoices") == "ALLOW")
    }
}

/// A blocking line client on a Unix socket (or TCP on 127.0.0.1), with a 10 s read timeout.
final class LocalLineClient {
    private let descriptor: Int32
    private var buffer: [UInt8] = []

    /// Connects over TCP to 127.0.0.1:`port`.
    init(port: Int) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        descriptor = try Self.connected(AF_INET, to: &address, naming: "127.0.0.1:\(port)")
    }

    /// The local TCP port of the connection (what the server sees as the peer's).
    var localPort: Int { localTCPPort(descriptor) }

    init(path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.prefix(bytes.count - 1).enumerated() { bytes[index] = byte }
        }
        descriptor = try Self.connected(AF_UNIX, to: &address, naming: path)
    }

    /// A stream socket of `family` connected to `address`, with the read timeout set.
    private static func connected<Address>(_ family: Int32, to address: inout Address, naming name: String) throws -> Int32 {
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw PermdProcess.HarnessError(description: "cannot connect to \(name)")
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return descriptor
    }

    deinit { close(descriptor) }

    /// Sends one line and reads the answer's first line.
    func request(_ line: String) throws -> String {
        let bytes = Array((line + "\n").utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else {
            throw PermdProcess.HarnessError(description: "cannot send \(line)")
        }
        while true {
            if let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                defer { buffer.removeFirst(end + 1) }
                return String(decoding: buffer[..<end], as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else { throw PermdProcess.HarnessError(description: "no answer to \(line)") }
            buffer += chunk[..<count]
        }
    }
}
