import ArgumentParser
import PermdCore
import PermdJSON
import PermdPolicy

/// `permd validate [DIR]`: checks the policy files and prints every diagnostic.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the policy files and report every error and warning.",
        discussion: """
            Exits 0 when there is no error (warnings allowed unless --strict), 1 when there is one.
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

    func run() throws {
        let result = PolicyLoader.load(directory: directory ?? policyOptions.policies)
        let diagnostics = result.diagnostics
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
