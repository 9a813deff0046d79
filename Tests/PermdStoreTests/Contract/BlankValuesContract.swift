import PermdCore
import PermdStore
import Testing
import PermdTestSupport

extension StoreContract {
    /// A blank profile value is no value (SPEC §1): never stored, never matched, and given in
    /// a write, a sign-in or an import it changes nothing.
    @Suite struct BlankValues {
        static let blanks = ["", " ", "   ", "\t", "\n", "\u{00A0}", " \u{3000} "]

        static func blankProfile(_ blank: String) -> UserProfile {
            UserProfile(email: blank, username: blank, phone: blank, firstName: blank, lastName: blank, picture: blank)
        }

        @Test(arguments: StoreBackend.all, blanks)
        func aUserAddedWithBlankValuesHasNone(_ backend: StoreBackend, _ blank: String) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addUser(NewUser(id: "e1", profile: Self.blankProfile(blank))))
            let stored = try #require(try db.store.user("e1"))
            #expect(stored.profile == UserProfile(), "\(blank.debugDescription) was stored")
            #expect(stored.emailVerified == nil)
            // Two users with the same blank value: nothing is held, so nothing is shared.
            try db.ok(.addUser(NewUser(id: "e2", profile: Self.blankProfile(blank))))
            #expect(try db.store.user("e2")?.profile == UserProfile())
        }

        /// The takeover of issue 10: `--email ""` must not be a login key any provider can present.
        @Test(arguments: StoreBackend.all, blanks)
        func aBlankEmailSignsNobodyIn(_ backend: StoreBackend, _ blank: String) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addUser(NewUser(id: "e1", profile: UserProfile(email: blank))))
            let evil = SignInRequest(provider: "evil", providerUserID: "1", email: blank, emailVerified: true)
            let outcome = try db.write(.signIn(evil)).get()
            guard case .signedIn(.signedUp(let id, _), _) = outcome else {
                Issue.record("a blank email found a user: \(outcome)")
                return
            }
            #expect(id != "e1")
            #expect(try db.store.user("e1")?.identities == [], "the attacker's identity is linked to e1")
            #expect(try db.store.user(id)?.profile.email == nil)
        }

        @Test(arguments: StoreBackend.all)
        func blankValuesInAWriteOrSignInChangeNothing(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let full = UserProfile(email: "ana@acme.io", username: "ana", phone: "+15550100", firstName: "Ana",
                                   lastName: "Ruiz", picture: "https://p/ana")
            try db.ok(.addUser(NewUser(id: "ana", profile: full)))
            try db.ok(.signIn(SignInRequest(provider: "google", providerUserID: "1", email: "ana@acme.io",
                                            emailVerified: true)))
            let revision = try db.store.currentRevision()
            // The same user again with blanks: nothing new is given, so it is the no-op answer.
            #expect(try db.write(.addUser(NewUser(id: "ana", profile: Self.blankProfile(" ")))).get()
                == .userAdded(id: "ana", revision: revision))
            // A sign-in with profile sync on and every field blank overwrites nothing.
            let blankSignIn = SignInRequest(provider: "google", providerUserID: "1", email: "",
                                            emailVerified: true, profile: Self.blankProfile("  "))
            #expect(try db.write(.signIn(blankSignIn)).get()
                == .signedIn(.signedIn(user: "ana", organization: "org_default"), revision: revision))
            #expect(try db.store.user("ana")?.profile == full)
            #expect(try db.store.currentRevision() == revision)
        }

        @Test(arguments: StoreBackend.all)
        func blankValuesInAnImportAreNotStoredNorMatched(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addUser(NewUser(id: "ana", profile: UserProfile(firstName: "Ana"))))
            let summary = try db.store.applyImport([
                UserRecord(id: "u1", profile: Self.blankProfile(""), emailVerified: true, line: 2),
                UserRecord(id: "u2", profile: Self.blankProfile(" "), line: 3),
                UserRecord(id: "ana", profile: Self.blankProfile("\t"), line: 4),
            ], dryRun: false)
            #expect(summary.usersCreated == 2 && summary.usersUnchanged == 1, "\(summary)")
            #expect(try db.store.user("u1")?.profile == UserProfile())
            #expect(try db.store.user("u1")?.emailVerified == nil, "a verified flag without an email is no email")
            #expect(try db.store.user("u2")?.profile == UserProfile())
            #expect(try db.store.user("ana")?.profile == UserProfile(firstName: "Ana"))
            // A record keyed only by a blank email matches nobody: it is a new user.
            let unkeyed = try db.store.applyImport([UserRecord(id: nil, profile: UserProfile(email: " "), line: 2)],
                                                   dryRun: false)
            #expect(unkeyed.usersCreated == 1)
        }
    }
}
