import PermdCore
import PermdStore
import Testing
import PermdTestSupport

extension StoreContract {
    /// The user ids `-` and `MORE` are markers in `WHO` and belong to nobody (SPEC §1).
    @Suite struct ReservedUserIDs {
        @Test(arguments: StoreBackend.all, ["-", "MORE"])
        func noWriteOrImportCreatesThem(_ backend: StoreBackend, _ id: String) throws {
            let db = try StoreUnderTest(backend)
            try db.expectRefused(.addUser(NewUser(id: id)), .invalidValue, naming: id)
            do {
                _ = try db.store.applyImport([UserRecord(id: id, line: 4)], dryRun: false)
                Issue.record("the import created user \(id)")
            } catch {
                guard case .importRefused(let refusals) = error.kind else { throw error }
                #expect(refusals.map(\.line) == [4])
                expectRefusal(refusals[0].error, .invalidValue, naming: [id])
            }
            #expect(try db.store.userIDs(inOrganization: nil) == [])
        }

        @Test(arguments: StoreBackend.all)
        func idsThatOnlyLookLikeThemAreUsers(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            for id in ["more", "MORE2", "--", "-x"] { try db.addUser(id) }
            #expect(try db.store.userIDs(inOrganization: nil).count == 4)
        }
    }
}
