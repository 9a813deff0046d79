import ArgumentParser
import Foundation
import PermdCore
import PermdIndex
import PermdPolicy
import PermdProtocol

/// `permd test [DIR]`: runs the policy tests (`*.test.json`) against the policies in DIR.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the policy tests (*.test.json) against the policies of a directory.",
        discussion: """
            Prints one line per failed expectation and a summary `N passed, N failed`.
            Exit status: 0 all pass; 1 a test file is malformed (every problem is printed,
            with file and JSON pointer, and no test runs) or the directory holds no test file;
            3 the policies do not validate; 4 an expectation fails.
            """)

    @Argument(help: "The policy directory holding the tests (default: --policies, env PERMD_POLICIES, else policies).")
    var directory: String?

    @OptionGroup var policyOptions: PolicyOptions

    func run() throws {
        let directory = self.directory ?? policyOptions.policies
        let loaded = PolicyLoader.load(directory: directory)
        guard let policy = loaded.policy else {
            for diagnostic in loaded.diagnostics { printError(diagnostic.description) }
            printError("permd: the policies in \(directory) do not validate: \(loaded.diagnostics.summary)")
            throw ExitCode(3)
        }
        let paths = testFiles(in: directory)
        guard !paths.isEmpty else {
            // A run that tests nothing must not pass: a CI job pointed at the wrong folder would.
            printError(Diagnostic(file: directory, severity: .error,
                                  message: "no test files (*.test.json) in the directory").description)
            throw ExitCode(1)
        }
        var files: [PolicyTestFile] = []
        var problems: [Diagnostic] = []
        for relative in paths {
            let path = (directory as NSString).appendingPathComponent(relative)
            guard let data = FileManager.default.contents(atPath: path) else {
                problems.append(Diagnostic(file: relative, severity: .error, message: "cannot read the file"))
                continue
            }
            let parsed = PolicyTestFile.parse(path: relative, bytes: Array(data), policy: policy)
            problems += parsed.problems
            if let file = parsed.file { files.append(file) }
        }
        guard problems.isEmpty else {
            for problem in problems { printError(problem.description) }
            throw ExitCode(1)
        }
        let outcomes = files.flatMap { $0.run(policy: policy) }
        let failed = outcomes.filter { !$0.passed }
        for failure in failed { print(Self.line(failure)) }
        print("\(outcomes.count - failed.count) passed, \(failed.count) failed")
        if !failed.isEmpty { throw ExitCode(4) }
    }

    /// `billing.test.json: alice org_a read:invoices: expected ALLOW, got DENY not-granted`.
    static func line(_ failure: PolicyTestOutcome) -> String {
        "\(failure.file): \(failure.user) \(failure.organization) \(failure.permission): "
            + "expected \(Reply.line(decisions: [failure.expectedAllow])), got \(Reply.line(failure.answer))"
    }

    /// Every `*.test.json` under `directory`, relative to it, sorted.
    private func testFiles(in directory: String) -> [String] {
        let entries = FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? []
        return entries.filter { $0.hasSuffix(".test.json") }.sorted()
    }
}
