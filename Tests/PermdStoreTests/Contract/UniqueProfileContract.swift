import PermdCore
import PermdStore
import Testing
import PermdTestSupport

extension StoreContract {
    /// A username and a phone number belong to at most one user, like an email (SPEC §1).
    @Suite struct UniqueProfileValues {
        @Test(arguments: StoreBackend.all)
        func aWriteRefusesAUsernameOrPhoneAnotherUserHolds(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addUser(NewUser(id: "ana", profile: UserProfile(username: "jdoe", phone: "+15550100"))))
            try db.expectRefused(.addUser(NewUser(id: "bob", profile: UserProfile(username: "jdoe"))),
                                 .usernameTaken, naming: "jdoe", "ana")
            try db.expectRefused(.addUser(NewUser(id: "bob", profile: UserProfile(phone: "+15550100"))),
                                 .phoneTaken, naming: "+15550100", "ana")
            #expect(try db.store.userIDs(inOrganization: nil) == ["ana"])
            // The holder itself, given again, is the no-op; other values are anybody's.
            let revision = try db.store.currentRevision()
            #expect(try db.write(.addUser(NewUser(id: "ana", profile: UserProfile(username: "jdoe")))).get()
                == .userAdded(id: "ana", revision: revision))
            try db.ok(.addUser(NewUser(id: "bob", profile: UserProfile(username: "jdoe2", phone: "+15550101"))))
        }

        @Test(arguments: StoreBackend.all)
        func aSignInRefusesAUsernameOrPhoneAnotherUserHolds(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addUser(NewUser(id: "ana", profile: UserProfile(username: "jdoe", phone: "+15550100"))))
            // A sign-up with them creates nobody.
            try db.expectRefused(.signIn(SignInRequest(provider: "google", providerUserID: "1",
                                                       profile: UserProfile(username: "jdoe"))),
                                 .usernameTaken, naming: "jdoe", "ana")
            #expect(try db.store.userIDs(inOrganization: nil) == ["ana"])
            // A profile sync to them is refused.
            try db.ok(.signIn(SignInRequest(provider: "google", providerUserID: "2")))
            try db.expectRefused(.signIn(SignInRequest(provider: "google", providerUserID: "2",
                                                       profile: UserProfile(phone: "+15550100"))),
                                 .phoneTaken, naming: "+15550100", "ana")
        }

        @Test(arguments: StoreBackend.all)
        func anImportRefusesAUsernameOrPhoneAnotherUserHolds(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addUser(NewUser(id: "ana", profile: UserProfile(username: "jdoe", phone: "+15550100"))))
            try db.addUser("bob")
            do {
                _ = try db.store.applyImport([
                    UserRecord(id: "cy", profile: UserProfile(username: "jdoe"), line: 2),
                    UserRecord(id: "bob", profile: UserProfile(phone: "+15550100"), line: 3),
                ], dryRun: false)
                Issue.record("the import gave a second user a held username and phone")
            } catch {
                guard case .importRefused(let refusals) = error.kind else { throw error }
                #expect(refusals.map(\.line) == [2, 3])
                expectRefusal(refusals[0].error, .usernameTaken, naming: ["jdoe", "ana"])
                expectRefusal(refusals[1].error, .phoneTaken, naming: ["+15550100", "ana"])
            }
            #expect(try db.store.userIDs(inOrganization: nil) == ["ana", "bob"])
        }

        /// Records apply in order, so two users can end up with each other's values; the
        /// import writes the end state, which must not hold one value twice on the way.
        @Test(arguments: StoreBackend.all)
        func anImportCanSwapValuesBetweenUsers(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addUser(NewUser(id: "ana", profile: UserProfile(email: "a@x.io", username: "a1", phone: "+1555"))))
            try db.ok(.addUser(NewUser(id: "bob", profile: UserProfile(email: "b@x.io", username: "b1", phone: "+1666"))))
            let summary = try db.store.applyImport([
                UserRecord(id: "ana", profile: UserProfile(email: "t@x.io", username: "t1", phone: "+1777"), line: 2),
                UserRecord(id: "bob", profile: UserProfile(email: "a@x.io", username: "a1", phone: "+1555"), line: 3),
                UserRecord(id: "ana", profile: UserProfile(email: "b@x.io", username: "b1", phone: "+1666"), line: 4),
            ], dryRun: false)
            #expect(summary.usersUpdated == 3)
            let ana = try #require(try db.store.user("ana")).profile
            let bob = try #require(try db.store.user("bob")).profile
            #expect([ana.email, ana.username, ana.phone] == ["b@x.io", "b1", "+1666"])
            #expect([bob.email, bob.username, bob.phone] == ["a@x.io", "a1", "+1555"])
        }
    }
}
