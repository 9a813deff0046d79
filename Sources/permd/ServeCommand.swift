import ArgumentParser
import Foundation
import Logging
import PermdPolicy
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

    @Option(help: "The Unix socket's permission bits in octal, e.g. 0660 (env PERMD_UNIX_MODE; default 0600: the owner only).")
    var unixMode: String = environmentDefault("UNIX_MODE", "0600")

    @Option(help: "File holding an admin token that writes need; repeat it for several (one per application, or two during a rotation); RELOAD and SIGHUP read them again (env PERMD_ADMIN_TOKEN_FILE, paths separated by ':').")
    var adminTokenFile: [String] = environmentDefault("ADMIN_TOKEN_FILE", "").split(separator: ":").map(String.init)

    @Option(help: "File holding a token every command needs (env PERMD_QUERY_TOKEN_FILE).")
    var queryTokenFile: String = environmentDefault("QUERY_TOKEN_FILE", "")

    @Option(help: "HOST:PORT for HTTP metrics and health (/metrics, /healthz, /readyz); loopback expected (env PERMD_METRICS_LISTEN; off by default).")
    var metricsListen: String = environmentDefault("METRICS_LISTEN", "")

    @Option(help: "Longest request line in bytes (env PERMD_MAX_LINE).")
    var maxLine: Int = environmentNumber("MAX_LINE") ?? defaults.maxLineLength

    @Option(help: "Seconds without input before a connection is closed (env PERMD_IDLE_TIMEOUT).")
    var idleTimeout: Int = environmentNumber("IDLE_TIMEOUT") ?? Int(defaults.idleTimeoutSeconds)

    @Option(help: "Connections served at once (env PERMD_MAX_CONNECTIONS).")
    var maxConnections: Int = environmentNumber("MAX_CONNECTIONS") ?? defaults.maxConnections

    @Option(help: ArgumentHelp("How long the audit log keeps a change: 30d, 12h, 90m, or seconds; 0 keeps it forever (env PERMD_LOG_RETENTION).", valueName: "duration"))
    var logRetention: String = environmentDefault("LOG_RETENTION", "30d")

    @Option(help: ArgumentHelp("On PostgreSQL: how long to keep trying to reach the database at start before giving up with exit 1 (env PERMD_DB_WAIT).", valueName: "seconds"))
    var dbWait: Int = environmentNumber("DB_WAIT") ?? 30

    func validate() throws {
        for name in ["MAX_LINE", "IDLE_TIMEOUT", "MAX_CONNECTIONS", "DB_WAIT"] {
            if let raw = ProcessInfo.processInfo.environment["PERMD_" + name], Int(raw) == nil {
                throw ValidationError("PERMD_\(name) must be a whole number, not \"\(raw)\"")
            }
        }
        var names: [String: String] = [:]
        for path in adminTokenFile {
            let name = NamedToken.baseName(path)
            if let other = names[name] {
                throw ValidationError("--admin-token-file \(other) and \(path) have the same base name \"\(name)\", which names the token in the audit log; rename one")
            }
            names[name] = path
        }
        guard Self.hostAndPort(listen) != nil else {
            throw ValidationError("\(optionName("--listen", variable: "LISTEN")) must be HOST:PORT (e.g. 127.0.0.1:7468), not \"\(listen)\"")
        }
        guard metricsListen.isEmpty || Self.hostAndPort(metricsListen) != nil else {
            throw ValidationError("\(optionName("--metrics-listen", variable: "METRICS_LISTEN")) must be HOST:PORT (e.g. 127.0.0.1:9468), not \"\(metricsListen)\"")
        }
        guard maxLine > 0 else {
            throw ValidationError("\(optionName("--max-line", variable: "MAX_LINE")) must be at least 1, not \(maxLine)")
        }
        guard idleTimeout > 0 else {
            throw ValidationError("\(optionName("--idle-timeout", variable: "IDLE_TIMEOUT")) must be at least 1 second, not \(idleTimeout)")
        }
        guard maxConnections > 0 else {
            throw ValidationError("\(optionName("--max-connections", variable: "MAX_CONNECTIONS")) must be at least 1, not \(maxConnections)")
        }
        guard dbWait >= 0 else {
            throw ValidationError("\(optionName("--db-wait", variable: "DB_WAIT")) must be 0 or more seconds, not \(dbWait)")
        }
        guard parseDuration(logRetention) != nil else {
            throw ValidationError("\(optionName("--log-retention", variable: "LOG_RETENTION")) must be a duration such as 30d, 12h or 90m (0 keeps the log forever), not \"\(logRetention)\"")
        }
        guard Self.permissionBits(unixMode) != nil else {
            throw ValidationError("\(optionName("--unix-mode", variable: "UNIX_MODE")) must be permission bits in octal (e.g. 0660), not \"\(unixMode)\"")
        }
    }

    func run() async throws {
        let logger = Logger(label: "permd")
        var configuration = Self.defaults
        configuration.adminTokens = try adminTokenFile.compactMap {
            try Self.token($0, flag: "--admin-token-file", variable: "ADMIN_TOKEN_FILE")
        }
        configuration.queryToken = try Self.token(queryTokenFile, flag: "--query-token-file", variable: "QUERY_TOKEN_FILE")?.token
        configuration.queryTokenFile = queryTokenFile.isEmpty ? nil : queryTokenFile
        let policy = try policyOptions.load()
        let (host, port) = Self.hostAndPort(listen)!
        configuration.host = host
        configuration.port = port
        configuration.unixPath = unix.isEmpty ? nil : unix
        configuration.unixMode = Self.permissionBits(unixMode)!
        configuration.maxLineLength = maxLine
        configuration.idleTimeoutSeconds = Int64(idleTimeout)
        configuration.maxConnections = maxConnections
        let retention = parseDuration(logRetention)!
        configuration.logRetention = retention == .zero ? nil : retention
        // Before the index is built, so that /readyz answers 503 while it is.
        let status = ServingStatus()
        let metrics = try await startMetrics(status: status, logger: logger)
        let engine = try openEngine(policy: policy, logger: logger)
        if let link = engine.link { status.watchReplication(link) }
        // After the database is open, so that its descriptors are counted.
        configuration.maxConnections = try Self.connections(allowing: configuration, logger: logger)
        let server = PermdServer(configuration: configuration, engine: engine, logger: logger)
        status.serving(server)
        do {
            try await server.runUntilTerminated(logger: logger)
            await metrics?.shutdown()
        } catch let error as ListenError {
            await metrics?.shutdown()
            let option = error.address == configuration.unixPath ? optionName("--unix", variable: "UNIX")
                : optionName("--listen", variable: "LISTEN")
            printError("permd: \(error)" + (option.hasPrefix("PERMD_") ? " (\(option))" : ""))
            throw ExitCode(1)
        }
    }

    /// The store and the index built from it. A database out of reach (PostgreSQL) is tried
    /// again with backoff for `--db-wait` seconds, logged once; then exit 1 naming the host
    /// and the error (never the password).
    private func openEngine(policy: PolicySet, logger: Logger) throws -> StoreEngine {
        let location = StoreLocation(db: databaseOptions.db)
        let writeTimeout = writeTimeoutOptions.duration
        let opener: StoreOpener = { policy in
            try location.open(policy: policy, logger: logger, writeTimeout: writeTimeout)
        }
        let deadline = ContinuousClock.now + .seconds(dbWait)
        var pause = Duration.milliseconds(100)
        var waiting = false
        while true {
            do {
                let engine = try StoreEngine(store: opener(policy), policiesDirectory: policyOptions.policies,
                                             logger: logger, opener: opener)
                if waiting { logger.notice("the database is reachable", metadata: ["db": "\(location)"]) }
                return engine
            } catch let error as StoreError where error.isUnreachable && ContinuousClock.now < deadline {
                if !waiting {
                    logger.warning("the database is out of reach; trying again for up to \(dbWait) s (--db-wait)",
                                   metadata: ["error": "\(error)"])
                    waiting = true
                }
                Thread.sleep(forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
                pause = min(pause * 2, .seconds(2))
            } catch let error as StoreError where error.isUnreachable {
                printError("error: cannot reach the database\(location.hostDescription) within --db-wait \(dbWait) s: \(error)")
                throw ExitCode(1)
            } catch let error as StoreError {
                printError("error: \(error)")  // names the database itself
                throw ExitCode(1)
            } catch {
                printError("error: \(location): \(error)")
                throw ExitCode(1)
            }
        }
    }

    /// The metrics listener when `--metrics-listen` is given; one that cannot listen stops
    /// the server (exit 1) naming the option.
    private func startMetrics(status: ServingStatus, logger: Logger) async throws -> MetricsServer? {
        guard !metricsListen.isEmpty, let (host, port) = Self.hostAndPort(metricsListen) else { return nil }
        let metrics = MetricsServer(host: host, port: port, status: status, logger: logger)
        do {
            try await metrics.start()
        } catch {
            let option = optionName("--metrics-listen", variable: "METRICS_LISTEN")
            printError("permd: \(error) (\(option))")
            throw ExitCode(1)
        }
        return metrics
    }

    /// `--max-connections`, lowered (with a warning naming both numbers) to what the
    /// open-file limit allows once it is raised to the hard limit (SPEC §5 Limits).
    private static func connections(allowing configuration: ServerConfiguration, logger: Logger) throws -> Int {
        let budget = DescriptorBudget.raisingTheLimit(threads: configuration.threads)
        guard budget.connections > 0 else {
            printError("""
                permd: the open-file limit of \(budget.openFileLimit) descriptors leaves none for connections \
                (\(budget.reserve) are kept for the database, policy files, listeners and logs); raise it (ulimit -n)
                """)
            throw ExitCode(1)
        }
        guard configuration.maxConnections > budget.connections else { return configuration.maxConnections }
        logger.warning("""
            \(optionName("--max-connections", variable: "MAX_CONNECTIONS")) \(configuration.maxConnections) lowered \
            to \(budget.connections): the open-file limit is \(budget.openFileLimit) descriptors (ulimit -n), \
            \(budget.reserve) of them kept for the database, policy files, listeners and logs
            """)
        return budget.connections
    }

    /// The token in a token file, or nil when no file is given; a file that cannot be used
    /// stops the server (exit 1) with a sentence naming it and the fix.
    private static func token(_ path: String, flag: String, variable: String) throws -> NamedToken? {
        guard !path.isEmpty else { return nil }
        do {
            return try NamedToken.read(path)
        } catch {
            // `--admin-token-file FILE: ...` or `PERMD_ADMIN_TOKEN_FILE=FILE: ...`, as it was given.
            let option = optionName(flag, variable: variable)
            printError("permd: \(option)\(option.hasPrefix("PERMD_") ? "=" : " ")\(error)")
            throw ExitCode(1)
        }
    }

    /// Permission bits written in octal (`600`, `0660`), at most `0777`.
    static func permissionBits(_ text: String) -> UInt32? {
        guard (3...4).contains(text.utf8.count), text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "7")).contains($0) }),
              let bits = UInt32(text, radix: 8), bits <= 0o777 else { return nil }
        return bits
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
}
