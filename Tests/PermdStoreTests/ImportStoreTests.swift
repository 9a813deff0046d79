import Foundation
import PermdCore
@testable import PermdStore
import Testing

/// How the SQLite store logs an import (the import rules themselves are in
/// `StoreContract.ImportExport`).
@Suite struct ImportStoreTests {
    /// Every change of a large import is logged, so that a running server applies it to its
    /// index instead of rebuilding (SPEC §3); permd once trimmed the log past 10,000 changes.
    @Test func aLargeImportIsLoggedChangeByChange() throws {
        let db = try StoreFixture()
        let start = try db.store.currentRevision()
        let ids = (0..<4000).map { String(format: "u%05d", $0) }
        let summary = try db.store.applyImport(ids.map { UserRecord(id: $0) }, dryRun: false)
        #expect(summary.usersCreated == 4000 && summary.revision == start + 1)
        let expected = ids.flatMap { id -> [StateChange] in
            [.userAdded(user: id), .membershipAdded(user: id, organization: "org_default"),
             .roleAssigned(user: id, organization: "org_default", role: "viewer")]
        }
        let log = try #require(try db.store.changes(after: start), "the log reaches back past a large import")
        #expect(log.count == 12_000)
        #expect(log == expected.map { ChangeRecord(revision: start + 1, change: $0) })
        #expect(try db.store.changes(after: summary.revision) == [])
    }
}
