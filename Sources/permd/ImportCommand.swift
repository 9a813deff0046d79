import ArgumentParser
import Foundation
import Logging
import PermdCore
import PermdPolicy
import PermdStore

/// `permd import FILE`: checks the whole file, then imports it all or nothing, holding the
/// write lock only for the merge (SPEC §3, §4).
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import users from a Kinde CSV, Kinde NDJSON or Auth0 export.",
        discussion: """
            The whole file is checked first; with any error, every error is printed \
            (FILE:LINE: error: ...) and nothing is written. Importing the same file twice \
            changes nothing the second time. In kinde-csv, role_key "\(KindeCSVFormat.noRoles)" \
            gives a membership no roles (an empty role_key gives the default roles).
            """)

    @Argument(help: "The file to import (users, or organizations: a CSV with the header code,name,external_id or name,id).")
    var file: String

    @Option(help: "kinde-csv, kinde-ndjson or auth0 (default: guessed from the content).",
            transform: formatArgument(ImportFormat.self))
    var format: ImportFormat?

    @Flag(help: "Check the file and report what would change; write nothing.")
    var dryRun = false

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        if let problem = readProblem(file) {
            printError("\(file): error: cannot read the file: \(problem)")
            throw ExitCode(1)
        }
        // Info: the import logs how long it held the write lock (every other writer waits that long).
        var logger = commandLogger()
        logger.logLevel = .info
        // A dry run only reads: it never creates the database nor changes it (SPEC §3).
        let store = try storeOptions.open(dryRun ? .readOnly : .readWrite, logger: logger)
        let policy = store.policy
        let organizations: [OrganizationRecord]
        do {
            organizations = try store.organizations()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let progress = ImportProgressReport(file: file)
        // The file's bytes and the parsed rows live only inside this call: a big import
        // holds just the merged users while it writes.
        switch try readAndPlan(policy: policy, organizations: organizations, progress: progress) {
        case .users(let format, let plan):
            try importUsers(plan, format: format, into: store, progress: progress)
        case .organizations(let plan):
            try importOrganizations(plan, into: store)
        }
    }

    /// Who the audit log names for this import: the file's base name (`-`: standard input).
    private var actor: ChangeActor {
        .importFile(name: file == "-" ? "-" : URL(fileURLWithPath: file).lastPathComponent)
    }

    private func importUsers(_ plan: ImportPlan, format: ImportFormat, into store: any StateStore,
                             progress: ImportProgressReport) throws {
        try report(plan.diagnostics, valid: plan.isValid)
        progress.writing(users: plan.users.count)
        let summary: ImportSummary
        do {
            summary = try store.applyImport(plan.users, dryRun: dryRun, actor: actor)
        } catch {
            try report(error)
        }
        progress.finishWriting()
        let what = "\(file) (\(format.rawValue)): \(plan.recordCount) records, \(plan.users.count) users"
        print(dryRun ? "dry run of \(what); nothing was written" : "imported \(what)")
        print(summary)
    }

    private func importOrganizations(_ plan: OrganizationImportPlan, into store: any StateStore) throws {
        try report(plan.diagnostics, valid: plan.isValid)
        let summary: OrganizationImportSummary
        do {
            summary = try store.applyOrganizationImport(plan.organizations, dryRun: dryRun, actor: actor)
        } catch {
            try report(error)
        }
        let what = "\(file) (organizations): \(plan.organizations.count) organizations"
        print(dryRun ? "dry run of \(what); nothing was written" : "imported \(what)")
        print(summary)
    }

    /// Prints the file's diagnostics; exits 1 (nothing imported) when one is an error.
    private func report(_ diagnostics: [Diagnostic], valid: Bool) throws {
        for diagnostic in diagnostics {
            printError(diagnostic.description)
        }
        guard valid else {
            printError("\(file): \(diagnostics.summary); nothing was imported")
            throw ExitCode(1)
        }
    }

    /// Prints why the store did not import (each refused record at its line) and exits 1.
    private func report(_ error: StoreError) throws -> Never {
        if case .importRefused(let refusals) = error.kind {
            for refusal in refusals {
                printError(Diagnostic(file: file, line: refusal.line, severity: .error,
                                      message: refusal.error.message).description)
            }
            printError("\(file): \(refusals.count) error\(refusals.count == 1 ? "" : "s"); nothing was imported")
        } else {
            storeOptions.printFailure(error)
        }
        throw ExitCode(1)
    }
}

extension ImportCommand {
    /// What a file holds, read and planned.
    private enum PlannedFile {
        case users(ImportFormat, ImportPlan)
        case organizations(OrganizationImportPlan)
    }

    /// Reads the file, parses it (in the given or guessed format; a CSV whose header is an
    /// organizations header holds organizations) and plans the import.
    private func readAndPlan(
        policy: PolicySet, organizations: [OrganizationRecord], progress: ImportProgressReport
    ) throws -> PlannedFile {
        let bytes: [UInt8]
        do {
            // An empty file is not handed to Foundation: on Linux, Data(contentsOf:) of an
            // empty file leaks a 4 KiB read buffer (swift-foundation's readDataFromFile drops
            // a zero-length result without freeing it; AddressSanitizer's leak check reports it).
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
            bytes = size == 0 ? [] : try [UInt8](Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped))
        } catch {
            printError("\(file): error: cannot read the file: \(error.localizedDescription)")
            throw ExitCode(1)
        }
        let format = self.format ?? ImportFormat.guess(bytes)
        if format == .kindeCSV && OrganizationsCSVFormat.recognizes(bytes) {
            let rows = OrganizationsCSVFormat.parse(bytes, file: file)
            return .organizations(OrganizationImportPlanner(organizations: organizations, file: file).plan(rows))
        }
        let rows = format.parse(bytes, file: file, progress: progress.reading)
        progress.finishReading(records: rows.records.count)
        return .users(format, ImportPlanner(policy: policy, organizations: organizations, file: file).plan(rows))
    }
}

/// Parses a `--format` value into one of `Format`'s cases, naming them when it is not one.
func formatArgument<Format: RawRepresentable & CaseIterable & SendableMetatype>(
    _: Format.Type
) -> @Sendable (String) throws -> Format where Format.RawValue == String {
    { text in
        guard let format = Format(rawValue: text) else {
            let names = Format.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("unknown format \"\(text)\" (expected one of: \(names))")
        }
        return format
    }
}

/// Progress of a large import on standard error: a bar when stderr is a terminal,
/// otherwise one line every 100,000 records (so logs stay short).
final class ImportProgressReport {
    private let file: String
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var reported = false
    private var phaseStart = Date()
    static let lineInterval = 100_000

    init(file: String) {
        self.file = file
    }

    /// The parser's progress callback.
    func reading(records: Int, bytesRead: Int, totalBytes: Int) {
        reported = true
        if isTerminal {
            let fraction = totalBytes == 0 ? 1 : Double(bytesRead) / Double(totalBytes)
            let width = 30
            let filled = min(width, Int(fraction * Double(width)))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\rreading \(file) [\(bar)] \(Int(fraction * 100))% \(records) records".utf8))
        } else if records % Self.lineInterval == 0 {
            printError("import: \(records) records read")
        }
    }

    /// Ends the reading phase (clears the bar).
    func finishReading(records: Int) {
        guard reported else { return }
        if isTerminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        }
        printError("import: \(records) records read from \(file) in \(elapsed()); checking")
    }

    /// Announces the write phase of a large import.
    func writing(users: Int) {
        guard reported else { return }
        printError("import: checked in \(elapsed()); importing \(users) users")
    }

    /// Ends a large import's write phase.
    func finishWriting() {
        guard reported else { return }
        printError("import: imported in \(elapsed())")
    }

    /// The time since the last phase began, as "1.2 s"; starts the next phase.
    private func elapsed() -> String {
        let now = Date()
        defer { phaseStart = now }
        return String(format: "%.1f s", now.timeIntervalSince(phaseStart))
    }
}
