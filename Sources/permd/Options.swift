import ArgumentParser
import Foundation
import Logging
import PermdCore
import PermdPolicy
import PermdStore

/// Reads `PERMD_<NAME>` from the environment: each option's fallback (a flag wins).
func environmentDefault(_ name: String, _ fallback: String) -> String {
    ProcessInfo.processInfo.environment["PERMD_" + name] ?? fallback
}

/// The name a bad option value is reported under (SPEC §7): the flag when the command line
/// gives it (a flag wins over the variable), else `PERMD_<NAME>` when that variable is set.
func optionName(_ flag: String, variable name: String) -> String {
    let given = CommandLine.arguments.dropFirst().contains { $0 == flag || $0.hasPrefix(flag + "=") }
    if !given, ProcessInfo.processInfo.environment["PERMD_" + name] != nil { return "PERMD_" + name }
    return flag
}

/// `--policies DIR`, shared by every subcommand that reads policy files.
struct PolicyOptions: ParsableArguments {
    @Option(name: .long, help: "The policy directory (env PERMD_POLICIES).")
    var policies: String = environmentDefault("POLICIES", "policies")

    /// Loads and validates the policies; prints the diagnostics and exits 1 on errors.
    func load() throws -> PolicySet {
        let result = PolicyLoader.load(directory: policies)
        if let policy = result.policy {
            return policy
        }
        for diagnostic in result.diagnostics {
            printError(diagnostic.description)
        }
        throw ExitCode(1)
    }
}

/// `--db FILE`, shared by every subcommand that reads or writes the database.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The SQLite database file (env PERMD_DB).")
    var db: String = environmentDefault("DB", "permd.db")
}

/// Why the file at `path` cannot be read, in words ("it is a directory"), or nil when it can.
func readProblem(_ path: String) -> String? {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        return "it does not exist"
    }
    if isDirectory.boolValue { return "it is a directory" }
    let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
    if type != .typeRegular { return "it is not a regular file (a pipe or a device); save it to a file first" }
    return FileManager.default.isReadableFile(atPath: path) ? nil : "permission denied"
}

/// A length of time as options give it: a number of seconds (`30`, `0.5`), or a number with
/// a unit — `ms`, `s`, `m` (minutes), `h`, `d` (days): `250ms`, `90m`, `12h`, `30d`.
/// - Returns: the length, or nil for anything else (negative, not finite, another unit).
func parseDuration(_ text: String) -> Duration? {
    let units: [(suffix: String, milliseconds: Double)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
    let unit = units.first { text.hasSuffix($0.suffix) && Double(text.dropLast($0.suffix.count)) != nil }
    guard let number = Double(unit.map { String(text.dropLast($0.suffix.count)) } ?? text),
          number.isFinite, number >= 0 else { return nil }
    let milliseconds = (number * (unit?.milliseconds ?? 1000)).rounded()
    // Longer than a century is a mistake, and would overflow on the way to a cutoff.
    guard milliseconds <= 100 * 365 * 86_400_000 else { return nil }
    return .milliseconds(Int64(milliseconds))
}

/// `--write-timeout SECONDS`: how long a write waits for another process's lock (an import)
/// before it answers `ERR UNAVAILABLE` with nothing stored (SPEC §3); on `serve` and the writes.
struct WriteTimeoutOptions: ParsableArguments {
    private static let variable = "PERMD_WRITE_TIMEOUT"

    @Option(name: .long, help: ArgumentHelp(
        "Seconds a write waits for another process's lock before answering ERR UNAVAILABLE, or a duration such as 500ms (env \(variable)).",
        valueName: "seconds"))
    var writeTimeout: String = ProcessInfo.processInfo.environment[variable]
        ?? String(StoreLocation.defaultWriteTimeout.components.seconds)

    func validate() throws {
        if let raw = ProcessInfo.processInfo.environment[Self.variable], Self.timeout(raw) == nil {
            throw ValidationError("\(Self.variable) must be a number of seconds (0 or more), not \"\(raw)\"")
        }
        guard Self.timeout(writeTimeout) != nil else {
            throw ValidationError("--write-timeout must be a number of seconds (0 or more), not \"\(writeTimeout)\"")
        }
    }

    /// The timeout `text` gives, within what the stores accept (milliseconds in an `Int32`).
    private static func timeout(_ text: String) -> Duration? {
        guard let duration = parseDuration(text), duration <= .seconds(Int32.max / 1000) else { return nil }
        return duration
    }

    /// The timeout the store waits.
    var duration: Duration { Self.timeout(writeTimeout) ?? StoreLocation.defaultWriteTimeout }
}

/// Writes one line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// The logger of commands that print answers on standard output: warnings and worse only
/// (logs go to standard error, see `Permd.main`), so that logs never mix with answers.
func commandLogger() -> Logger {
    var logger = Logger(label: "permd")
    logger.logLevel = .warning
    return logger
}
