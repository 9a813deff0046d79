import Foundation
import PermdCore
@testable import PermdStore
import Testing

/// How the SQLite store logs an import: past `largeImportChangeCount` changes the log is
/// trimmed rather than written change by change (the import rules themselves are in
/// `StoreContract.ImportExport`).
@Suite struct ImportStoreTests {
    @Test func aLargeImportTrimsTheLog() throws {
        let db = try StoreFixture()
        let start = try db.store.currentRevision()
        let many = (0..<4000).map { UserRecord(id: String(format: "u%05d", $0)) }
        let summary = try db.store.applyImport(many, dryRun: false)
        #expect(summary.usersCreated == 4000)
        #expect(try db.store.changes(after: start) == nil, "readers behind a large import rebuild")
        #expect(try db.store.changes(after: summary.revision) == [])
        #expect(try db.store.userIDs(inOrganization: "org_default").count == 4000)
    }
}
