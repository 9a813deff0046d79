import Foundation
import Logging
import PermdPolicy
import PermdServer
import PermdStore
import PermdTestSupport
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh store of one backend and `TestServer`'s policies in a temporary folder, for tests
/// that drive a `StoreEngine` without a server; removed (the PostgreSQL database dropped)
/// when `body` returns.
struct StoreFixture {
    /// The backends to run on: an SQLite file, and PostgreSQL unless `PERMD_TEST_POSTGRES=0`.
    static let backends = PostgresCluster.isEnabled ? ["sqlite", "postgres"] : ["sqlite"]

    let location: StoreLocation
    let policiesPath: String
    let policy: PolicySet

    static func with(_ backend: String, _ body: (StoreFixture) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("permd-fixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = directory.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try TestServer.policyJSON.write(to: folder.appendingPathComponent("policy.json"), atomically: true, encoding: .utf8)
        let policy = try #require(PolicyLoader.load(directory: folder.path).policy)
        if backend == "sqlite" {
            let location = StoreLocation.sqliteFile(path: directory.appendingPathComponent("permd.db").path)
            return try body(StoreFixture(location: location, policiesPath: folder.path, policy: policy))
        }
        let database = try PostgresCluster.shared().makeDatabase()
        try withExtendedLifetime(database) {
            try body(StoreFixture(location: StoreLocation(db: database.uri), policiesPath: folder.path, policy: policy))
        }
    }
}

/// A policy directory, a database and a running server on 127.0.0.1 (port picked by the OS).
final class TestServer: Sendable {
    let directory: URL
    let server: PermdServer
    let port: Int
    var databasePath: String { directory.appendingPathComponent("permd.db").path }
    var policiesPath: String { directory.appendingPathComponent("policies").path }

    static let policyJSON = """
    {"permissions": [{"key": "read:invoices"}, {"key": "write:invoices"}, {"key": "delete:org"}],
     "roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true},
               {"key": "admin", "includes": ["viewer"], "permissions": ["write:invoices", "delete:org"]}],
     "organizations": [{"code": "org_default"}, {"code": "org_acme"}],
     "settings": {"default_organization": "org_default"}}
    """

    /// - Parameters:
    ///   - writeTimeout: how long a write waits for another process's lock (`--write-timeout`).
    ///   - configure: changes to the test configuration (port 0, two threads, admin token `s3cret`).
    ///   - logs: where the server logs (nothing below critical when nil).
    init(writeTimeout: Duration = StoreLocation.defaultWriteTimeout,
         configure: (inout ServerConfiguration) -> Void = { _ in }, logs: LogCapture? = nil) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("permd-server-\(UUID().uuidString)")
        let policies = directory.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try Self.policyJSON.write(to: policies.appendingPathComponent("policy.json"), atomically: true, encoding: .utf8)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        configuration.adminToken = "s3cret"
        configure(&configuration)
        var logger = logs.map { capture in Logger(label: "permd-test") { _ in capture } } ?? Logger(label: "permd-test")
        logger.logLevel = logs == nil ? .critical : .info
        let policy = try #require(PolicyLoader.load(directory: policies.path).policy)
        let store = try SQLiteStore(path: directory.appendingPathComponent("permd.db").path, policy: policy, logger: logger,
                                    writeTimeout: writeTimeout)
        let engine = try StoreEngine(store: store, policiesDirectory: policies.path, logger: logger)
        server = PermdServer(configuration: configuration, engine: engine, logger: logger)
        try await server.start()
        port = server.tcpAddress?.port ?? 0
    }

    func client() throws -> LineClient { try LineClient(port: port) }

    /// A client that has given the admin token.
    func admin() throws -> LineClient {
        let client = try LineClient(port: port)
        _ = try client.request("AUTH s3cret")
        return client
    }

    func stop() async {
        await server.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs `body` against a fresh server, then shuts the server down and waits for it (also
/// when `body` throws), so that no server outlives its test.
func withTestServer(writeTimeout: Duration = StoreLocation.defaultWriteTimeout,
                    configure: (inout ServerConfiguration) -> Void = { _ in }, logs: LogCapture? = nil,
                    _ body: (TestServer) async throws -> Void) async throws {
    let server = try await TestServer(writeTimeout: writeTimeout, configure: configure, logs: logs)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

/// A log handler that keeps every message (with its metadata) for the test to read.
final class LogCapture: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(time: ContinuousClock.Instant, text: String)] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let line = "\(event.level) \(event.message)" + (fields.isEmpty ? "" : " " + fields.joined(separator: " "))
        let now = ContinuousClock.now
        lock.withLock { lines.append((now, line)) }
    }

    /// The messages logged so far, each with its level and metadata (`key=value`, sorted).
    var messages: [String] { lock.withLock { lines.map(\.text) } }

    /// The messages that contain `text`, with the time each was logged.
    func lines(containing text: String) -> [(time: ContinuousClock.Instant, text: String)] {
        lock.withLock { lines.filter { $0.text.contains(text) } }
    }
}

struct ClientError: Error, CustomStringConvertible {
    var description: String
}

/// A blocking line client over a plain socket (TCP on 127.0.0.1, or a Unix socket).
final class LineClient {
    let fd: Int32
    private var pending: [UInt8] = []

    /// - Parameters:
    ///   - port: the server's port on 127.0.0.1.
    ///   - socketBuffer: the kernel send and receive buffer sizes to ask for (before
    ///     connecting), or nil for the system's.
    init(port: Int, socketBuffer: Int? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = socketBuffer.map(Int32.init) {
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw ClientError(description: "connect failed: \(errno)") }
        setTimeout(seconds: 5)
    }

    init(unixPath: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in unixPath.utf8.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw ClientError(description: "connect failed: \(errno)") }
        setTimeout(seconds: 5)
    }

    deinit { close(fd) }

    func setTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw ClientError(description: "send failed: \(errno)") }
            offset += sent
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// The next reply line (without `\n`); nil at end of stream.
    func readLine() throws -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return nil }
            guard count > 0 else { throw ClientError(description: "recv failed or timed out: \(errno)") }
            pending.append(contentsOf: chunk[..<count])
        }
    }

    func readLines(_ count: Int) throws -> [String] {
        var lines: [String] = []
        for _ in 0..<count {
            guard let line = try readLine() else { throw ClientError(description: "closed after \(lines.count) lines") }
            lines.append(line)
        }
        return lines
    }

    func request(_ line: String) throws -> String {
        try send(line + "\n")
        guard let reply = try readLine() else { throw ClientError(description: "closed") }
        return reply
    }
}
