import ArgumentParser
import Foundation
import Logging
import PermdServer
import PermdStore

/// `permd serve`: the line protocol server (SPEC §5).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the line protocol over TCP (and a Unix socket).")

    /// The server's defaults (SPEC §7), which the options below start from.
    private static let defaults = ServerConfiguration()

    @OptionGroup var policyOptions: PolicyOptions
    @OptionGroup var databaseOptions: DatabaseOptions
    @OptionGroup var writeTimeoutOptions: WriteTimeoutOptions

    @Option(help: "HOST:PORT to listen on (env PERMD_LISTEN).")
    var listen: String = environmentDefault("LISTEN", defaults.listenAddress)

    @Option(help: "Also listen on this Unix socket (env PERMD_UNIX).")
    var unix: String = environmentDefault("UNIX", "")

    @Option(help: "File holding the admin token that writes need (env PERMD_ADMIN_TOKEN_FILE).")
    var adminTokenFile: String = environmentDefault("ADMIN_TOKEN_FILE", "")

    @Option(help: "File holding a token every command needs (env PERMD_QUERY_TOKEN_FILE).")
    var queryTokenFile: String = environmentDefault("QUERY_TOKEN_FILE", "")

    @Option(help: "Longest request line in bytes (env PERMD_MAX_LINE).")
    var maxLine: Int = environmentNumber("MAX_LINE") ?? defaults.maxLineLength

    @Option(help: "Seconds without input before a connection is closed (env PERMD_IDLE_TIMEOUT).")
    var idleTimeout: Int = environmentNumber("IDLE_TIMEOUT") ?? Int(defaults.idleTimeoutSeconds)

    @Option(help: "Connections served at once (env PERMD_MAX_CONNECTIONS).")
    var maxConnections: Int = environmentNumber("MAX_CONNECTIONS") ?? defaults.maxConnections

    func validate() throws {
        for name in ["MAX_LINE", "IDLE_TIMEOUT", "MAX_CONNECTIONS"] {
            if let raw = ProcessInfo.processInfo.environment["PERMD_" + name], Int(raw) == nil {
                throw ValidationError("PERMD_\(name) must be a whole number, not \"\(raw)\"")
            }
        }
        guard Self.hostAndPort(listen) != nil else {
            throw ValidationError("--listen must be HOST:PORT (e.g. 127.0.0.1:7468), not \"\(listen)\"")
        }
        guard maxLine > 0 else { throw ValidationError("--max-line must be at least 1") }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be at least 1 second") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be at least 1") }
    }

    func run() async throws {
        let logger = Logger(label: "permd")
        let policy = try policyOptions.load()
        var configuration = Self.defaults
        let (host, port) = Self.hostAndPort(listen)!
        configuration.host = host
        configuration.port = port
        configuration.unixPath = unix.isEmpty ? nil : unix
        configuration.maxLineLength = maxLine
        configuration.idleTimeoutSeconds = Int64(idleTimeout)
        configuration.maxConnections = maxConnections
        configuration.adminToken = adminTokenFile.isEmpty ? nil : try Self.readToken(adminTokenFile)
        configuration.queryToken = queryTokenFile.isEmpty ? nil : try Self.readToken(queryTokenFile)
        let engine: StoreEngine
        do {
            let store = try StoreLocation(db: databaseOptions.db).open(
                policy: policy, logger: logger, writeTimeout: writeTimeoutOptions.duration)
            engine = try StoreEngine(store: store, policiesDirectory: policyOptions.policies, logger: logger)
        } catch {
            printError("\(databaseOptions.db): \(error)")
            throw ExitCode(1)
        }
        let server = PermdServer(configuration: configuration, engine: engine, logger: logger)
        try await server.runUntilTerminated(logger: logger)
    }

    /// `PERMD_<NAME>` as a whole number; nil when unset or not a number (`validate` reports that).
    private static func environmentNumber(_ name: String) -> Int? {
        ProcessInfo.processInfo.environment["PERMD_" + name].flatMap { Int($0) }
    }

    /// `HOST:PORT` (the host may be `[v6]`).
    static func hostAndPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65_535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    /// A token file's content without surrounding whitespace.
    static func readToken(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path),
              let token = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
              !token.isEmpty else {
            throw ValidationError("\(path): cannot read a token (the file is missing, unreadable or empty)")
        }
        return token
    }
}
