import Foundation
import Logging
import PermdCore
import PermdIndex
import PermdStore

/// The index dataset as a real SQLite database, for the full build "reading from SQLite
/// included": written once through `permd import`'s own path (`applyImport`, about a
/// minute) and kept in the temporary folder for later runs, under a name that carries
/// the dataset's version. It is written to a side file and renamed when complete, so a
/// run stopped half-way never leaves a partial database behind.
enum IndexDatabase {
    static let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("permd-index-benchmark-v1.db").path

    /// The database's path, written first when missing.
    static func prepare() throws -> String {
        if FileManager.default.fileExists(atPath: path) { return path }
        let partial = path + ".partial"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: partial + suffix) }
        var logger = Logger(label: "permd.benchmark")
        logger.logLevel = .warning
        do {
            // Closing the store (at the end of this scope) folds the write-ahead log into the file.
            let store = try SQLiteStore(path: partial, policy: IndexDataset.policy, logger: logger)
            // In batches of 100,000 users, so that each import's plan stays small.
            let batch = 100_000
            for start in stride(from: 0, to: IndexDataset.userCount, by: batch) {
                let records = (start..<min(start + batch, IndexDataset.userCount)).map(IndexDataset.record)
                _ = try store.applyImport(records, dryRun: false, actor: .importFile(name: "benchmark.csv"))
                print("benchmark database: \(start + records.count) of \(IndexDataset.userCount) users written")
            }
        }
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: partial + suffix) }
        return path
    }
}

extension IndexDataset {
    /// User `number` as an import record: the memberships, roles and direct grants the
    /// generated reader feeds for it.
    static func record(_ number: Int) -> UserRecord {
        let (first, second) = organizations(ofUser: number)
        let memberships = [first, second].enumerated().map { index, code in
            var roles: Set<String> = ["role-" + pad((number + index) % roleCount, 2)]
            if number % 3 == 0 { roles.insert("role-" + pad((number / 3) % roleCount, 2)) }
            let permissions = (number + index) % 10 == 0 ? [permissionKeys[number % permissionCount]] : []
            return MembershipRecord(organization: organization(code), roles: roles.sorted(), permissions: permissions)
        }
        return UserRecord(id: user(number), memberships: memberships)
    }
}
