import Foundation
import PermdStore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway PostgreSQL server for the tests, one per test process, started by the first
/// test that asks for it and stopped when the process exits.
///
/// `initdb` makes it in a fresh temporary folder, run as the unprivileged `postgres` user when
/// the tests run as root (PostgreSQL refuses root); it listens on 127.0.0.1 on a free port,
/// with its unix socket in the same folder, fsync on, and password (SCRAM) authentication on
/// TCP. Each test takes its own database (`makeDatabase()`), dropped when the test lets go.
/// A cluster left running by a killed test process is stopped by the next one that starts.
///
/// Tests that need it are skipped only when `PERMD_TEST_POSTGRES=0`; otherwise a machine
/// without PostgreSQL fails them with the way to install it (`make deps`).
public final class PostgresCluster: Sendable {
    /// The port the server listens on, on 127.0.0.1.
    public let port: Int
    /// The folder that holds the cluster (data, socket, log); removed when it stops.
    public let directory: String
    /// The superuser's password (random for each cluster).
    let password: String
    private let programs: Programs
    private let stopped = Atomic<Bool>(false)
    private let databasesMade = Atomic<Int>(0)

    /// Whether the tests that need PostgreSQL run (`PERMD_TEST_POSTGRES` is anything but `0`).
    public static let isEnabled = ProcessInfo.processInfo.environment["PERMD_TEST_POSTGRES"] != "0"

    /// Why those tests are skipped, shown by the test runner.
    public static let skipReason = "PERMD_TEST_POSTGRES=0: the tests that need PostgreSQL are skipped"

    /// The folder names of clusters, under the temporary folder.
    static let folderPrefix = "permd-pg-"

    /// The cluster of this test process; started on the first call.
    /// - Throws: `PostgresClusterError` saying what is missing or what failed (the same error
    ///   for every later call).
    public static func shared() throws(PostgresClusterError) -> PostgresCluster {
        try sharedCluster.get()
    }

    private static let sharedCluster: Result<PostgresCluster, PostgresClusterError> = {
        let started = Result { () throws(PostgresClusterError) in try PostgresCluster.start() }
        if case .success = started {
            // Statics are never deinitialised: the process's exit is the one moment left.
            atexit { PostgresCluster.stopShared() }
        }
        return started
    }()

    private static func stopShared() {
        if case .success(let cluster) = sharedCluster { cluster.stop() }
    }

    /// A cluster of the caller's own, for a test that stops and starts PostgreSQL (an outage)
    /// without disturbing the tests on the shared one; stopped when released.
    public static func startPrivate() throws(PostgresClusterError) -> PostgresCluster {
        try start()
    }

    deinit { stop() }

    /// Stops the server (fast shutdown: sessions are ended), keeping its data for `resume()`.
    public func pause() {
        Self.stopServer(in: directory, programs: programs)
    }

    /// Starts the server paused by `pause()` again, on the same port.
    public func resume() throws(PostgresClusterError) {
        try Self.startServer(in: directory, port: port, programs: programs)
    }

    private init(port: Int, directory: String, password: String, programs: Programs) {
        self.port = port
        self.directory = directory
        self.password = password
        self.programs = programs
    }

    /// A connection URI on this cluster (TCP to 127.0.0.1), as the superuser by default.
    /// - Parameters:
    ///   - database: the database name.
    ///   - user: the role.
    ///   - password: its password; the superuser's when nil and `user` is the superuser.
    public func uri(database: String, user: String = "postgres", password: String? = nil) -> String {
        let secret = password ?? (user == "postgres" ? self.password : nil)
        let credentials = secret.map { "\(user):\(percentEncoded($0))" } ?? user
        return "postgresql://\(credentials)@127.0.0.1:\(port)/\(database)"
    }

    /// A fresh, empty database for one test, dropped when the returned value is released.
    public func makeDatabase() throws -> PostgresTestDatabase {
        let number = databasesMade.add(1, ordering: .relaxed).newValue
        let name = "permd_test_\(number)_\(UUID().uuidString.prefix(8).lowercased())"
        try administer("CREATE DATABASE \(name) TEMPLATE template0 ENCODING 'UTF8'")
        return PostgresTestDatabase(name: name, uri: uri(database: name), cluster: self)
    }

    /// Runs `sql` as the superuser in the `postgres` database.
    func administer(_ sql: String) throws {
        let connection = try PostgresConnection(PostgresLocation(uri: uri(database: "postgres")))
        try connection.execute(sql)
    }

    /// Stops the server (fast shutdown: sessions are ended) and removes its folder. Runs once.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        Self.stopServer(in: directory, programs: programs)
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Starting

    private static func start() throws(PostgresClusterError) -> PostgresCluster {
        let programs = try Programs.find()
        removeStaleClusters(programs: programs)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(folderPrefix)\(getpid())-\(UUID().uuidString.prefix(8))").path
        let data = directory + "/data"
        let socket = directory + "/socket"
        let password = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
        do {
            try FileManager.default.createDirectory(atPath: socket, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            // Who started this cluster: a later run stops it when that process is gone.
            try String(getpid()).write(toFile: directory + "/owner", atomically: true, encoding: .utf8)
            try password.write(toFile: directory + "/pwfile", atomically: true, encoding: .utf8)
            try programs.giveAway(directory, socket, directory + "/pwfile")
            try programs.run(programs.initdb, "-D", data, "-U", "postgres", "--pwfile", directory + "/pwfile",
                             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
                             in: directory)
            try? FileManager.default.removeItem(atPath: directory + "/pwfile")
            var attempt = 0
            while true {
                // The port is free when chosen, but another process may take it first: try again.
                attempt += 1
                let port = try freePort()
                do {
                    try startServer(in: directory, port: port, programs: programs)
                    let cluster = PostgresCluster(port: port, directory: directory, password: password, programs: programs)
                    _ = try PostgresConnection(PostgresLocation(uri: cluster.uri(database: "postgres")))
                    return cluster
                } catch where attempt < 3 {
                    stopServer(in: directory, programs: programs)
                }
            }
        } catch {
            stopServer(in: directory, programs: programs)
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: directory)
            throw PostgresClusterError("cannot start the test PostgreSQL cluster: \(error)"
                + (log.isEmpty ? "" : "\nserver log:\n\(log.suffix(2000))"))
        }
    }

    /// Starts the server of the cluster in `directory` on `port` and waits until it accepts.
    private static func startServer(in directory: String, port: Int, programs: Programs) throws(PostgresClusterError) {
        try programs.run(
            programs.pgCtl, "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60",
            "-o", "-c listen_addresses=127.0.0.1 -c port=\(port) -c unix_socket_directories='\(directory)/socket'"
                + " -c fsync=on -c max_connections=200 -c shared_buffers=32MB",
            "start", in: directory)
    }

    /// Stops a server in `directory` (if one runs there) and waits for it.
    private static func stopServer(in directory: String, programs: Programs, mode: String = "fast") {
        guard FileManager.default.fileExists(atPath: directory + "/data/postmaster.pid") else { return }
        do {
            try programs.run(programs.pgCtl, "-D", directory + "/data", "-m", mode, "-w", "-t", "30", "stop", in: directory)
        } catch {
            // pg_ctl could not stop it: end the postmaster itself (its first line is the pid).
            if let text = try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8),
               let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }), pid > 0
            {
                kill(pid, SIGKILL)
            }
        }
    }

    /// Stops and removes the clusters whose test process is gone (killed before its exit).
    private static func removeStaleClusters(programs: Programs) {
        let temporary = FileManager.default.temporaryDirectory.path
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: temporary) else { return }
        for name in names where name.hasPrefix(folderPrefix) {
            let directory = temporary + "/" + name
            guard let owner = (try? String(contentsOfFile: directory + "/owner", encoding: .utf8)).flatMap({ pid_t($0) }),
                  kill(owner, 0) == -1, errno == ESRCH
            else { continue }
            stopServer(in: directory, programs: programs, mode: "immediate")
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// A port on 127.0.0.1 that nothing listens on now (bound with port 0, then released).
    private static func freePort() throws(PostgresClusterError) -> Int {
        #if canImport(Glibc)
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw PostgresClusterError("cannot open a socket to find a free port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else { throw PostgresClusterError("cannot bind 127.0.0.1 to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}

/// A database made for one test on the shared cluster; dropped (its sessions ended) when released.
public final class PostgresTestDatabase: Sendable {
    /// Its name.
    public let name: String
    /// A connection URI for it, as the superuser, password included.
    public let uri: String
    /// The cluster it lives on.
    public let cluster: PostgresCluster

    init(name: String, uri: String, cluster: PostgresCluster) {
        self.name = name
        self.uri = uri
        self.cluster = cluster
    }

    deinit { try? cluster.administer("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
}

/// Why the test cluster could not start; says how to fix it.
public struct PostgresClusterError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to do.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// PostgreSQL's server programs and how to run them as an unprivileged user.
private struct Programs: Sendable {
    let initdb: String
    let pgCtl: String
    /// The command that runs a program as `postgres` (empty when not root).
    let runAs: [String]
    /// The `postgres` user's ids, when running as root.
    let owner: (uid: uid_t, gid: gid_t)?

    static let advice = "run `make deps` to install PostgreSQL (or set PERMD_TEST_POSTGRES=0 to skip the tests that need it)"

    /// Finds `initdb` and `pg_ctl`: in Debian's `/usr/lib/postgresql/<version>/bin` (the newest
    /// version), else on `PATH`.
    static func find() throws(PostgresClusterError) -> Programs {
        let manager = FileManager.default
        var folders: [String] = []
        let versions = (try? manager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        folders += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        folders += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        guard let folder = folders.first(where: {
            manager.isExecutableFile(atPath: $0 + "/initdb") && manager.isExecutableFile(atPath: $0 + "/pg_ctl")
        }) else {
            throw PostgresClusterError("PostgreSQL's server programs (initdb, pg_ctl) are not installed "
                + "(looked in /usr/lib/postgresql/*/bin and on PATH): \(advice)")
        }
        guard geteuid() == 0 else { return Programs(initdb: folder + "/initdb", pgCtl: folder + "/pg_ctl", runAs: [], owner: nil) }
        guard let user = getpwnam("postgres") else {
            throw PostgresClusterError("the tests run as root, which PostgreSQL refuses, and there is no `postgres` "
                + "user to run it as (Debian's postgresql package creates it): \(advice)")
        }
        guard let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first(where: manager.isExecutableFile) else {
            throw PostgresClusterError("the tests run as root and `runuser` (util-linux) is missing to run PostgreSQL as `postgres`")
        }
        return Programs(initdb: folder + "/initdb", pgCtl: folder + "/pg_ctl", runAs: [runuser, "-u", "postgres", "--"],
                        owner: (user.pointee.pw_uid, user.pointee.pw_gid))
    }

    /// Hands `paths` to the `postgres` user (when running as root).
    func giveAway(_ paths: String...) throws(PostgresClusterError) {
        guard let owner else { return }
        for path in paths where chown(path, owner.uid, owner.gid) != 0 {
            throw PostgresClusterError("cannot give \(path) to the postgres user: \(String(cString: strerror(errno)))")
        }
    }

    /// Runs a program (as `postgres` when root) in `folder` and waits for it; throws with
    /// its output when it fails.
    ///
    /// `posix_spawn` and `waitpid`, not Foundation's `Process`: `Process` learns that a child
    /// ended when a socket the child inherited closes, and the server `pg_ctl` starts keeps
    /// it open for its whole life. For the same reason the child gets none of this process's
    /// descriptors, only /dev/null as input and a file for its output.
    func run(_ program: String, _ arguments: String..., in folder: String) throws(PostgresClusterError) {
        let outputPath = folder + "/\(URL(fileURLWithPath: program).lastPathComponent).out"
        let command = runAs + ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", folder, program] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        for descriptor in Self.openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw PostgresClusterError("cannot run \(program): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status != 0 else { return }  // exited with 0 (WIFEXITED and WEXITSTATUS are macros)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        throw PostgresClusterError("\(([program] + arguments).joined(separator: " ")) failed (wait status \(status)): \(output)")
    }

    /// The descriptors open in this process (Linux's /proc; none elsewhere).
    private static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
    }
}
