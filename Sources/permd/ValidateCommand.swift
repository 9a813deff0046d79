import ArgumentParser
import Foundation
import PermdCore
import PermdJSON
import PermdPolicy
import PermdStore

/// `permd validate [DIR]`: checks the policy files and prints every diagnostic.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the policy files and report every error and warning.",
        discussion: """
            Exits 0 when there is no error (warnings allowed unless --strict), 1 when there is one.
            With --db, also reports the roles and permissions the database still grants but the
            policies no longer define (warnings: they grant nothing).
            """)

    /// How the diagnostics are printed.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "The policy directory (default: --policies, env PERMD_POLICIES, else policies).")
    var directory: String?

    @OptionGroup var policyOptions: PolicyOptions

    @Option(name: .long, help: "Output format: text (one diagnostic per line and a summary) or json (an array).")
    var format: Format = .text

    @Flag(name: .long, help: "Treat warnings as errors for the exit status.")
    var strict = false

    @Option(name: .long, help: "Also check this database's grants against the policies (env PERMD_DB).")
    var db: String?

    func run() throws {
        let result = PolicyLoader.load(directory: directory ?? policyOptions.policies)
        var diagnostics = result.diagnostics
        if let db = db ?? ProcessInfo.processInfo.environment["PERMD_DB"], let policy = result.policy {
            diagnostics += databaseDiagnostics(db, policy: policy)
        }
        switch format {
        case .text:
            for diagnostic in diagnostics {
                print(diagnostic.description)
            }
            print(diagnostics.summary)
        case .json:
            print(JSONValue.array(diagnostics.map(\.jsonValue)).serialized())
        }
        let failed = diagnostics.hasErrors || (strict && diagnostics.contains { $0.severity == .warning })
        if failed {
            throw ExitCode(1)
        }
    }
}

/// The grants in `path` that `policy` no longer defines, or the reason the database
/// could not be read. The database is opened read-only (SPEC §3): it must exist, and
/// nothing in it changes.
private func databaseDiagnostics(_ path: String, policy: PolicySet) -> [Diagnostic] {
    do {
        let store = try StoreLocation(db: path).open(policy: policy, logger: commandLogger(), access: .readOnly)
        var finder = StaleGrantFinder(policy: policy, file: path)
        _ = try store.readState(into: &finder)
        return finder.diagnostics
    } catch let error as StoreError {
        // Its message is the diagnostic's; its path is the diagnostic's file (named once).
        return [Diagnostic(file: error.path, severity: .error, message: error.message)]
    } catch {
        return [Diagnostic(file: path, severity: .error, message: "cannot read the database: \(error)")]
    }
}

extension Diagnostic {
    /// `{file, pointer, line, column, severity, message}`; line and column are null when unknown.
    var jsonValue: JSONValue {
        .object([
            JSONMember("file", .string(file)),
            JSONMember("pointer", .string(pointer)),
            JSONMember("line", line.map { .integer(Int64($0)) } ?? .null),
            JSONMember("column", column.map { .integer(Int64($0)) } ?? .null),
            JSONMember("severity", .string(severity.rawValue)),
            JSONMember("message", .string(message)),
        ])
    }
}
