import CSQLite
import Foundation
import PermdCore

/// A store opened read-only (`init(readingOnly:policy:logger:)`, SPEC §3): `SQLITE_OPEN_READONLY`,
/// so the file is never created and SQLite itself refuses any write; no `journal_mode` pragma,
/// no migration, no declared-organization sync. `writeTransaction` refuses every write first.
///
/// SQLite still keeps its `-wal` and `-shm` files beside a WAL database while any connection,
/// a reader too, has it open; a reader may leave them behind empty. They hold no data, and
/// the next writer to open the file removes them. The database file itself is never written.
extension SQLiteStore {
    /// Refuses a schema this permd cannot read as it is: a newer one (as every open does) or
    /// an older one, which only a writer migrates. Reading an older schema would need every
    /// query in both forms; pointing at the command that migrates it costs the user one step.
    func requireCurrentSchema() throws(StoreError) {
        let found = Int(try connection.integer("PRAGMA user_version") ?? 0)
        try refuseNewer(found)
        guard found < Schema.version else { return }
        let what = found == 0
            ? "holds no permd data (an empty file, or another program's database)"
            : "has schema version \(found), older than this permd's (\(Schema.version))"
        throw StoreError(
            .olderSchema(found: found, supported: Schema.version), path: connection.path,
            message: "the database \(what); this command only reads it, and a command that writes "
                + "(or `permd serve`) migrates it")
    }

    /// A dry-run import on a read-only store: the import runs, and is rolled back, on a private
    /// copy of the database (`VACUUM INTO` a temporary file — one consistent snapshot, and no
    /// write lock that the server's writes would wait for). The copy is opened as a writer
    /// opens the database, declared organizations synced, so the summary is the one the real
    /// import would give. It costs a copy of the file on disk, removed at once.
    func dryRunOnPrivateCopy(_ users: [ImportedUser], actor: ChangeActor) throws(StoreError) -> ImportSummary {
        let copy = FileManager.default.temporaryDirectory
            .appendingPathComponent("permd-dry-run-\(UUID().uuidString).db").path
        defer {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: copy + suffix) }
        }
        try connection.run("VACUUM INTO ?", .text(copy))
        do {
            let store = try SQLiteStore(path: copy, policy: policy, logger: logger)
            return try store.applyImport(users, dryRun: true, actor: actor)
        } catch {
            // Name the database the user gave, not the copy.
            throw StoreError(error.kind, path: connection.path, message: error.message)
        }
    }
}
