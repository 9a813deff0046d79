import PermdCore
import PermdStore
import Testing
import PermdTestSupport

extension StoreContract {
    /// How an import finds the users its records are for (SPEC §4): by id; a record without
    /// one by email, else username, else phone — so importing a file again creates nobody,
    /// even for records that give only a username or a phone.
    @Suite struct ImportMatching {
        static let unkeyed = [
            UserRecord(id: nil, profile: UserProfile(username: "jdoe"), line: 2),
            UserRecord(id: nil, profile: UserProfile(phone: "+15550100"), line: 3),
        ]

        @Test(arguments: StoreBackend.all)
        func recordsWithOnlyAUsernameOrAPhoneAreFoundAgainOnTheNextImport(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let first = try db.store.applyImport(Self.unkeyed, dryRun: false)
            #expect(first.usersCreated == 2)
            let revision = try db.store.currentRevision()
            let second = try db.store.applyImport(Self.unkeyed, dryRun: false)
            #expect(second.usersCreated == 0 && second.usersUnchanged == 2, "\(second)")
            #expect(try db.store.userIDs(inOrganization: nil).count == 2)
            #expect(try db.store.currentRevision() == revision)
        }

        @Test(arguments: StoreBackend.all)
        func aRecordWithoutAnIDFindsItsUserByEmailElseUsernameElsePhone(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addUser(NewUser(id: "ana", profile: UserProfile(email: "ana@acme.io"))))
            try db.ok(.addUser(NewUser(id: "bo", profile: UserProfile(username: "bo"))))
            try db.ok(.addUser(NewUser(id: "cy", profile: UserProfile(phone: "+34600"))))
            let acme = [MembershipRecord(organization: "org_acme", roles: ["auditor"])]
            let summary = try db.store.applyImport([
                UserRecord(id: nil, profile: UserProfile(email: "ANA@acme.io"), memberships: acme, line: 2),
                UserRecord(id: nil, profile: UserProfile(email: "bo@beta.io", username: "bo"), memberships: acme, line: 3),
                UserRecord(id: nil, profile: UserProfile(phone: "+34600", firstName: "Cy"), memberships: acme, line: 4),
            ], dryRun: false)
            #expect(summary.usersCreated == 0 && summary.usersUpdated == 3, "\(summary)")
            #expect(try db.store.userIDs(inOrganization: "org_acme") == ["ana", "bo", "cy"])
            #expect(try db.store.user("ana")?.profile == UserProfile(email: "ANA@acme.io"),
                    "emails match in any case (the record's spelling is stored)")
            #expect(try db.store.user("bo")?.profile == UserProfile(email: "bo@beta.io", username: "bo"),
                    "no user has the email: the username finds bo, who gets it")
            #expect(try db.store.user("cy")?.profile == UserProfile(phone: "+34600", firstName: "Cy"))
        }

        @Test(arguments: StoreBackend.all)
        func aUsernameOrPhoneAnotherUserHoldsIsRefused(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addUser(NewUser(id: "bo", profile: UserProfile(username: "bo", phone: "+34600"))))
            let revision = try db.store.currentRevision()
            let refusals = try refusalsOfImport(db.store, [
                UserRecord(id: "dan", profile: UserProfile(username: "bo"), line: 2),
                UserRecord(id: "eve", profile: UserProfile(phone: "+34600"), line: 3),
                UserRecord(id: nil, profile: UserProfile(username: "gus"), line: 4),
                UserRecord(id: "hal", profile: UserProfile(username: "gus"), line: 5),
            ])
            #expect(refusals.map(\.line) == [2, 3, 5])
            if refusals.count == 3 {
                expectRefusal(refusals[0].error, .usernameTaken, naming: ["bo", "bo"])
                expectRefusal(refusals[1].error, .phoneTaken, naming: ["+34600", "bo"])
                #expect(refusals[2].error.reason == .usernameTaken, "gus, given to line 4's new user")
            }
            #expect(try db.store.userIDs(inOrganization: nil) == ["bo"])
            #expect(try db.store.currentRevision() == revision)
        }
    }
}

/// The records an import refused (failing the test when it was not refused).
func refusalsOfImport(_ store: any StateStore, _ records: [UserRecord]) throws -> [ImportRefusal] {
    do {
        _ = try store.applyImport(records, dryRun: false)
        Issue.record("the import was not refused")
        return []
    } catch {
        guard case .importRefused(let refusals) = error.kind else { throw error }
        return refusals
    }
}
