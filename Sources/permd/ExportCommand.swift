import ArgumentParser
import Foundation
import PermdCore
import PermdStore

/// `permd export`: every user, in a form `permd import` reads back to the same state (SPEC §4).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export every user with their organizations, roles and direct permissions (or every organization).",
        discussion: """
            Users are sorted by id, memberships by organization code. kinde-csv writes one \
            row per membership (no identities); kinde-ndjson one object per user, with \
            identities. A membership without roles is written as role_key \
            "\(KindeCSVFormat.noRoles)" (NDJSON: "roles": []), so that importing the export \
            does not give it the default roles. Grants of roles or permissions the policies \
            no longer define are left out, with a notice that counts them. \
            --organizations writes every organization instead (code,name,external_id), which \
            permd import reads back: import it first when moving to another database.
            """)

    @Option(help: "kinde-csv or kinde-ndjson.", transform: formatArgument(ExportFormat.self))
    var format: ExportFormat?

    @Flag(help: "Write every organization as CSV (code,name,external_id) instead of the users.")
    var organizations = false

    @Option(help: "Write to this file (replaced only when the export succeeds) instead of standard output.")
    var output: String?

    @OptionGroup var storeOptions: StoreOptions

    /// Text is written in chunks of about this size.
    static let chunkSize = 1 << 20

    func validate() throws {
        if organizations, let format {
            throw ValidationError("--organizations writes CSV (code,name,external_id); leave out --format \(format.rawValue)")
        }
    }

    func run() throws {
        let temporary = output.map { $0 + ".partial" }
        try refuseToOverwriteTheDatabase(temporary: temporary)
        let store = try storeOptions.open(.readOnly)
        do {
            let handle: FileHandle
            if let temporary {
                // The owner's only, whatever the umask: an export holds emails and phone numbers
                // (like the database file, SPEC's closed defaults).
                let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR)
                guard descriptor >= 0, fchmod(descriptor, S_IRUSR | S_IWUSR) == 0 else {
                    printError("\(output ?? ""): error: cannot create the file: \(String(cString: strerror(errno)))")
                    throw ExitCode(1)
                }
                handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            } else {
                handle = FileHandle.standardOutput
            }
            if organizations {
                try handle.write(contentsOf: Data(OrganizationsCSVFormat.export(try store.organizations()).utf8))
            } else {
                try writeUsers(of: store, to: handle)
            }
            if let temporary, let output {
                // On disk before it takes the name: a crash never leaves an empty export there.
                try handle.synchronize()
                try handle.close()
                // rename(2) replaces the file in one step: readers never see half an export.
                guard rename(temporary, output) == 0 else {
                    throw ExportError(description: "cannot write \(output): \(String(cString: strerror(errno)))")
                }
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            if let temporary { try? FileManager.default.removeItem(atPath: temporary) }
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }

    /// Writes every user in `format`, then the notice about grants left out (on standard error).
    private func writeUsers(of store: any StateStore, to handle: FileHandle) throws {
        let writer = try ExportWriter(format: format ?? .kindeCSV, organizations: try store.organizations(),
                                      policy: store.policy)
        var chunk = writer.header ?? ""
        var stale = StaleGrants()
        try store.forEachUser { user in
            chunk += writer.lines(for: user)
            stale += writer.staleGrants(in: user)
            if chunk.utf8.count >= Self.chunkSize {
                try handle.write(contentsOf: Data(chunk.utf8))
                chunk = ""
            }
        }
        try handle.write(contentsOf: Data(chunk.utf8))
        if let notice = stale.notice { printError("export: " + notice) }
    }
}

extension ExportCommand {
    /// SPEC §3: `--output` never overwrites the database — neither the file nor SQLite's
    /// `-wal`, `-shm` and `-journal` beside it, whatever path names them — and neither does
    /// the temporary file the export is written to first.
    private func refuseToOverwriteTheDatabase(temporary: String?) throws {
        guard let output, let temporary else { return }
        let database = StoreLocation(db: storeOptions.database.db)
        let how: String
        if database.isOverwritten(byWriting: output) {
            how = ""
        } else if database.isOverwritten(byWriting: temporary) {
            how = " (the export is written to \(temporary) first)"
        } else {
            return
        }
        printError("error: --output \(output) would overwrite the database \(database)\(how); refused, nothing was written")
        throw ExitCode(1)
    }
}
