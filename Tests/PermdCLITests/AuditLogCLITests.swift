import CSQLite
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PermdTestSupport
import Testing

/// The audit log as an operator reads it (SPEC §9): `permd log` names who made each change —
/// an admin token with the TCP peer, the Unix socket's uid, the CLI's user, the imported
/// file, the sign-in's provider — with filters, a limit and JSON lines; `serve
/// --log-retention` trims it at start and raises the floor.
@Suite struct AuditLogCLITests {
    static let policy = """
        {"permissions": [{"key": "read:invoices"}, {"key": "refund:payments"}],
         "roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true},
                   {"key": "admin", "permissions": ["*"]}],
         "organizations": [{"code": "org_default"}, {"code": "org_acme"}],
         "settings": {"default_organization": "org_default"}}
        """

    /// The operating-system user running the tests, as the CLI names it.
    static var osUser: String {
        getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? String(getuid())
    }

    /// `permd serve` run in `directory` on a free port (and `--unix permd.sock`), stopped on release.
    final class Server {
        let process = Process()
        let port = freeLoopbackPort()
        let socketPath: String

        init(in directory: String, _ arguments: [String]) throws {
            socketPath = directory + "/permd.sock"
            process.executableURL = try PermdProcess.executable()
            process.arguments = ["serve", "--policies", "policies", "--listen", "127.0.0.1:\(port)", "--unix", socketPath]
                + arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PERMD_") }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Both listeners: the Unix socket is bound just after the TCP one.
            for _ in 0..<400 where process.isRunning {
                if (try? LocalLineClient(port: port)) != nil, (try? LocalLineClient(path: socketPath)) != nil { return }
                usleep(25_000)
            }
            stop()
            throw PermdProcess.HarnessError(description: "serve did not start on 127.0.0.1:\(port)")
        }

        func tcp() throws -> LocalLineClient { try LocalLineClient(port: port) }
        func unix() throws -> LocalLineClient { try LocalLineClient(path: socketPath) }

        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }

        deinit { stop() }
    }

    /// `permd log` in `directory` with `arguments`; must succeed.
    static func log(_ arguments: [String] = [], in directory: String, db: String = "permd.db") throws -> [String] {
        let outcome = try PermdProcess.run(["log", "--policies", "policies", "--db", db] + arguments, in: directory)
        try #require(outcome.status == 0, "\(outcome)")
        return outcome.standardOutput.split(separator: "\n").map(String.init)
    }

    /// A log line without its time: `REVISION  ACTOR  CHANGE`.
    static func untimed(_ line: String) -> String {
        String(line.dropFirst(24 + 2))
    }

    @Test func everyWriterIsNamedWithItsTokenPeerUidUserFileOrProvider() throws {
        let directory = try PermdProcess.temporaryDirectory([
            "policies/p.json": Self.policy, "app1": "tok-app1\n",
            "users.csv": "id,email,external_organization_id\ncy,cy@x.io,org_acme\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory + "/app1", 0o600)
        let uid = getuid()
        do {
            let server = try Server(in: directory, ["--admin-token-file", "app1"])
            let tcp = try server.tcp()
            #expect(try tcp.request("AUTH tok-app1") == "OK")
            #expect(try tcp.request("USER.ADD {\"id\": \"ana\", \"email\": \"ana@acme.io\", \"organizations\": [\"org_acme\"]}")
                == "OK ana 2")
            #expect(try tcp.request("SIGNIN {\"provider\": \"google\", \"provider_user_id\": \"g1\", \"email\": \"ana@acme.io\", \"email_verified\": true}")
                == "OK ana org_acme")
            let local = try server.unix()
            #expect(try local.request("AUTH tok-app1") == "OK")
            #expect(try local.request("ROLE.ADD ana org_acme admin") == "OK 4")
            let lines = try Self.log(["--since", "1"], in: directory)
            #expect(lines.map(Self.untimed) == [
                "2  token:app1 (127.0.0.1:\(tcp.localPort))  user_added user=ana",
                "2  token:app1 (127.0.0.1:\(tcp.localPort))  membership_added user=ana org=org_acme",
                "2  token:app1 (127.0.0.1:\(tcp.localPort))  role_assigned user=ana org=org_acme role=viewer",
                "3  signin (google)  profile_updated user=ana",
                "4  token:app1 (unix uid=\(uid))  role_assigned user=ana org=org_acme role=admin",
            ], "\(lines)")
            #expect(lines.allSatisfy { $0.firstMatch(of: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}/) != nil })
        }
        do {
            // Without an admin token, the Unix socket writes as the peer's uid.
            let server = try Server(in: directory, [])
            #expect(try server.unix().request("PERM.ADD ana org_acme refund:payments") == "OK 5")
        }
        #expect(try PermdProcess.run(["member", "add", "ana", "org_default", "--policies", "policies"], in: directory).status == 0)
        let imported = try PermdProcess.run(["import", "users.csv", "--policies", "policies"], in: directory)
        #expect(imported.status == 0, "\(imported)")

        let later = try Self.log(["--since", "4"], in: directory).map(Self.untimed)
        #expect(later == [
            "5  unix (uid=\(uid))  permission_granted user=ana org=org_acme permission=refund:payments",
            "6  cli:\(Self.osUser)  membership_added user=ana org=org_default",
            "6  cli:\(Self.osUser)  role_assigned user=ana org=org_default role=viewer",
            "7  import:users.csv  user_added user=cy",
            "7  import:users.csv  membership_added user=cy org=org_acme",
            "7  import:users.csv  role_assigned user=cy org=org_acme role=viewer",
        ], "\(later)")

        // Filters, and the newest N printed oldest first.
        #expect(try Self.log(["--user", "cy"], in: directory).map(Self.untimed) == Array(later.suffix(3)))
        #expect(try Self.log(["--org", "org_default", "--since", "1"], in: directory).map(Self.untimed) == Array(later[1...2]))
        #expect(try Self.log(["--user", "ana", "--limit", "2"], in: directory).map(Self.untimed) == Array(later[1...2]))
        #expect(try Self.log(["--limit", "1"], in: directory).map(Self.untimed) == [later.last!])

        // JSON lines: one object per change, the same facts.
        let json = try Self.log(["--format", "json", "--since", "2"], in: directory)
        let objects = try json.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.count == 8)
        #expect(objects.first?["revision"] as? Int == 3)
        #expect(objects.first?["actor"] as? String == "signin" && objects.first?["actor_detail"] as? String == "google")
        #expect(objects.first?["change"] as? String == "profile_updated" && objects.first?["user"] as? String == "ana")
        #expect(objects[1]["actor"] as? String == "token:app1" && objects[1]["actor_detail"] as? String == "unix uid=\(uid)")
        #expect(objects[1]["role"] as? String == "admin" && objects[1]["org"] as? String == "org_acme")
        #expect(objects[2]["actor"] as? String == "unix" && objects[2]["permission"] as? String == "refund:payments")
        #expect((objects[2]["time"] as? String)?.firstMatch(of: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) != nil)
    }

    /// A `RELOAD` is its connection's; SIGHUP's reload is the policy files' (SQLite logs each
    /// reload as a revision).
    @Test func aReloadIsLoggedAsWhoAskedForIt() throws {
        let directory = try PermdProcess.temporaryDirectory(["policies/p.json": Self.policy, "app1": "tok-app1\n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory + "/app1", 0o600)
        let server = try Server(in: directory, ["--admin-token-file", "app1"])
        let tcp = try server.tcp()
        #expect(try tcp.request("AUTH tok-app1") == "OK")
        #expect(try tcp.request("RELOAD") == "OK 2")
        #expect(try Self.log(["--since", "1"], in: directory).map(Self.untimed)
            == ["2  token:app1 (127.0.0.1:\(tcp.localPort))  policy_reloaded"])
        kill(server.process.processIdentifier, SIGHUP)
        // The reload is the writer's next job: a SYNC for its revision waits for it.
        #expect(try tcp.request("SYNC 3 10000") == "OK 3")
        #expect(try Self.log(["--since", "2"], in: directory).map(Self.untimed) == ["3  policy  policy_reloaded"])
    }

    @Test func badFlagsAreRefusedNamingTheFlag() throws {
        let directory = try PermdProcess.temporaryDirectory(["policies/p.json": Self.policy])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try PermdProcess.run(["user", "add", "--id", "ana", "--policies", "policies"], in: directory).status == 0)
        for (arguments, named) in [(["--limit", "0"], "--limit"), (["--since", "soon"], "--since"),
                                   (["--format", "xml"], "--format"), (["--limit", "-3"], "--limit")] {
            let outcome = try PermdProcess.run(["log", "--policies", "policies"] + arguments, in: directory)
            #expect(outcome.status == 2 && outcome.standardError.contains(named), "\(arguments): \(outcome)")
        }
        // Read-only (SPEC §3): a missing database is an error, never created.
        let missing = try PermdProcess.run(["log", "--policies", "policies", "--db", "none.db"], in: directory)
        #expect(missing.status == 1 && !FileManager.default.fileExists(atPath: directory + "/none.db"), "\(missing)")
        for (arguments, environment, named) in [
            (["--log-retention", "3x"], [String: String?](), "--log-retention"),
            ([], ["PERMD_LOG_RETENTION": "soon"], "PERMD_LOG_RETENTION"),
        ] {
            let outcome = try PermdProcess.run(["serve", "--policies", "policies", "--listen", "127.0.0.1:0"] + arguments,
                                               environment: environment, in: directory)
            #expect(outcome.status == 2 && outcome.standardError.contains(named), "\(outcome)")
        }
    }

    /// Sets the time of the revisions up to `revision` to `days` ago, as if they were that old.
    static func age(_ path: String, revisionsUpTo revision: Int, days: Int) throws {
        var db: OpaquePointer?
        try #require(sqlite3_open(path, &db) == SQLITE_OK)
        defer { sqlite3_close(db) }
        let then = Int64(Date().timeIntervalSince1970 * 1000) - Int64(days) * 86_400_000
        try #require(sqlite3_exec(db, "UPDATE revisions SET logged_at = \(then) WHERE revision <= \(revision)", nil, nil, nil)
            == SQLITE_OK)
    }

    static func logFloor(_ path: String) throws -> Int64 {
        var db: OpaquePointer?
        try #require(sqlite3_open(path, &db) == SQLITE_OK)
        defer { sqlite3_close(db) }
        var statement: OpaquePointer?
        try #require(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'log_floor'", -1, &statement, nil) == SQLITE_OK)
        defer { sqlite3_finalize(statement) }
        try #require(sqlite3_step(statement) == SQLITE_ROW)
        return sqlite3_column_int64(statement, 0)
    }

    @Test func serveTrimsTheLogPastItsRetentionAtStartAndRaisesTheFloor() throws {
        let directory = try PermdProcess.temporaryDirectory(["policies/p.json": Self.policy])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/permd.db"
        for user in ["ana", "bo", "cy"] {
            #expect(try PermdProcess.run(["user", "add", "--id", user, "--policies", "policies"], in: directory).status == 0)
        }
        // Revisions 1 (the declared organizations) to 3 are 40 days old; 4 is new.
        try Self.age(path, revisionsUpTo: 3, days: 40)
        do {
            // 0 keeps the log forever. A write answered means the writer has passed its start.
            let server = try Server(in: directory, ["--log-retention", "0"])
            #expect(try server.unix().request("ORG.ADD org_x") == "OK 5")
        }
        #expect(try Self.logFloor(path) == 0)
        #expect(try Self.log(in: directory).first.map(Self.untimed)?.hasPrefix("1  policy  organization_added") == true)
        do {
            // 50 days keeps them too.
            let server = try Server(in: directory, ["--log-retention", "50d"])
            #expect(try server.unix().request("ORG.ADD org_y") == "OK 6")
        }
        #expect(try Self.logFloor(path) == 0)
        do {
            // The default, 30 days, trims revisions 1 to 3.
            let server = try Server(in: directory, [])
            #expect(try server.unix().request("ORG.ADD org_z") == "OK 7")
        }
        #expect(try Self.logFloor(path) == 3)
        let kept = try Self.log(in: directory).map(Self.untimed)
        #expect(kept.first == "4  cli:\(Self.osUser)  user_added user=cy", "\(kept)")
        #expect(kept.last == "7  unix (uid=\(getuid()))  organization_added org=org_z")
        // The state is whole: the trim only shortened the log.
        #expect(try PermdProcess.run(["user", "show", "ana", "--policies", "policies"], in: directory).status == 0)
    }

    @Test(.enabled(if: PostgresCluster.isEnabled, Comment(rawValue: PostgresCluster.skipReason)))
    func theLogReadsTheSameFromPostgreSQL() throws {
        let directory = try PermdProcess.temporaryDirectory([
            "policies/p.json": Self.policy, "users.csv": "id,email\ncy,cy@x.io\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try PostgresCluster.shared().makeDatabase()
        let db = ["--policies", "policies", "--db", database.uri]
        #expect(try PermdProcess.run(["user", "add", "--id", "ana", "--org", "org_acme"] + db, in: directory).status == 0)
        #expect(try PermdProcess.run(["import", "users.csv"] + db, in: directory).status == 0)
        let lines = try Self.log(["--since", "1"], in: directory, db: database.uri).map(Self.untimed)
        #expect(lines == [
            "2  cli:\(Self.osUser)  user_added user=ana",
            "2  cli:\(Self.osUser)  membership_added user=ana org=org_acme",
            "2  cli:\(Self.osUser)  role_assigned user=ana org=org_acme role=viewer",
            "3  import:users.csv  user_added user=cy",
            "3  import:users.csv  membership_added user=cy org=org_default",
            "3  import:users.csv  role_assigned user=cy org=org_default role=viewer",
        ], "\(lines)")
        #expect(try Self.log(["--user", "cy", "--limit", "1", "--format", "json"], in: directory, db: database.uri).count == 1)
    }
}
