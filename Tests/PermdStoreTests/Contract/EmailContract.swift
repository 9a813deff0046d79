import PermdCore
import PermdStore
import Testing
import PermdTestSupport

extension StoreContract {
    /// Emails carry their verified state, and one rule says what an email is (SPEC §1); a
    /// sign-in finds a user by email only when both sides are verified (SPEC §5 step 1).
    @Suite struct Emails {
        static func signIn(_ provider: String, _ id: String, _ email: String?, verified: Bool,
                           profile: UserProfile = UserProfile()) -> Write {
            .signIn(SignInRequest(provider: provider, providerUserID: id, email: email, emailVerified: verified,
                                  profile: profile))
        }

        /// The user a sign-up created (failing the test for any other answer).
        func signedUp(_ db: StoreUnderTest, _ write: Write,
                      sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String? {
            let outcome = try db.write(write)
            guard case .success(.signedIn(.signedUp(let id, _), _)) = outcome else {
                Issue.record("expected a sign-up, got \(outcome)", sourceLocation: sourceLocation)
                return nil
            }
            return id
        }

        @Test(arguments: StoreBackend.all)
        func anOperatorsEmailIsVerifiedUnlessMarkedOtherwise(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("ana", email: "ana@acme.io")
            try db.ok(.addUser(NewUser(id: "bob", profile: UserProfile(email: "bob@acme.io"), emailVerified: false)))
            #expect(try db.store.user("ana")?.emailVerified == true)
            #expect(try db.store.user("bob")?.emailVerified == false)
            // Giving the user again as it is stored is the no-op; marking the email otherwise is not.
            let revision = try db.store.currentRevision()
            #expect(try db.write(.addUser(NewUser(id: "bob", profile: UserProfile(email: "bob@acme.io")))).get()
                == .userAdded(id: "bob", revision: revision))
            try db.expectRefused(.addUser(NewUser(id: "ana", profile: UserProfile(email: "ana@acme.io"),
                                                  emailVerified: false)), .userExists, naming: "ana")

            _ = try db.store.applyImport([
                UserRecord(id: "cy", profile: UserProfile(email: "cy@acme.io"), line: 2),
                UserRecord(id: "di", profile: UserProfile(email: "di@acme.io"), emailVerified: false, line: 3),
            ], dryRun: false)
            #expect(try db.store.user("cy")?.emailVerified == true)
            #expect(try db.store.user("di")?.emailVerified == false)
        }

        static let malformed = ["a@b", "a b@c.d", "@acme.io", "ana@", "ana@@acme.io", "ana@acme.", "ana@.io", "ana"]

        @Test(arguments: StoreBackend.all, malformed)
        func oneRuleForEveryPath(_ backend: StoreBackend, _ email: String) throws {
            let db = try StoreUnderTest(backend)
            try db.expectRefused(.addUser(NewUser(id: "ana", profile: UserProfile(email: email))),
                                 .invalidValue, naming: email)
            try db.expectRefused(Self.signIn("google", "1", email, verified: true), .invalidValue, naming: email)
            try db.addUser("bob", email: "bob@acme.io")
            try db.ok(.signIn(SignInRequest(provider: "google", providerUserID: "2", email: "bob@acme.io",
                                            emailVerified: true)))
            try db.expectRefused(Self.signIn("google", "2", email, verified: true), .invalidValue, naming: email)
            do {
                _ = try db.store.applyImport([UserRecord(id: "cy", profile: UserProfile(email: email), line: 7)],
                                             dryRun: false)
                Issue.record("the import took \(email.debugDescription)")
            } catch {
                guard case .importRefused(let refusals) = error.kind else { throw error }
                #expect(refusals.map(\.line) == [7])
                expectRefusal(refusals[0].error, .invalidValue, naming: [email])
            }
            #expect(try db.store.userIDs(inOrganization: nil) == ["bob"])
        }

        @Test(arguments: StoreBackend.all)
        func wellFormedEmailsPass(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            for (index, email) in ["a@b.io", "Ana.Ruiz+tag@mail.acme.co.uk", "ü@exämple.de"].enumerated() {
                try db.ok(.addUser(NewUser(id: "u\(index)", profile: UserProfile(email: email))))
            }
        }

        /// The pre-account takeover of issue 10: an attacker signs up first with the victim's
        /// address, unverified; the owner's verified sign-in must not land in that account.
        @Test(arguments: StoreBackend.all)
        func anUnverifiedSignUpCannotClaimAnAddressBeforeItsOwner(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let attacker = try #require(try signedUp(db, Self.signIn("evil", "1", "victim@x.io", verified: false)))
            #expect(try db.store.user(attacker)?.emailVerified == false)

            let before = try db.store.currentRevision()
            let owner = try #require(try signedUp(db, Self.signIn("google", "9", "Victim@X.io", verified: true)))
            #expect(owner != attacker)
            let ownerRecord = try #require(try db.store.user(owner))
            #expect(ownerRecord.profile.email == "Victim@X.io" && ownerRecord.emailVerified == true)
            #expect(ownerRecord.identities == [Identity(provider: "google", providerUserID: "9")])
            // The attacker keeps its account and identity, without the address.
            let attackerRecord = try #require(try db.store.user(attacker))
            #expect(attackerRecord.profile.email == nil && attackerRecord.emailVerified == nil)
            #expect(attackerRecord.identities == [Identity(provider: "evil", providerUserID: "1")])
            #expect(try db.store.currentRevision() == before + 1, "one sign-in, one revision")
            #expect(try db.changes(after: before)?.first == .profileUpdated(user: attacker))

            // Both sign in again by identity, each to their own account.
            #expect(try db.write(Self.signIn("google", "9", nil, verified: false)).get()
                == .signedIn(.signedIn(user: owner, organization: "org_default"), revision: before + 1))
            let again = try db.write(Self.signIn("evil", "1", "victim@x.io", verified: false))
            expectRefused(again, .emailTaken, naming: "victim@x.io", owner)
            #expect(try db.write(Self.signIn("evil", "1", nil, verified: false)).get()
                == .signedIn(.signedIn(user: attacker, organization: "org_default"), revision: before + 1))
        }

        @Test(arguments: StoreBackend.all)
        func anUnverifiedEmailOfAnExistingUserIsRefusedWhateverItsState(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("ana", email: "ana@acme.io")
            try db.ok(.addUser(NewUser(id: "bob", profile: UserProfile(email: "bob@acme.io"), emailVerified: false)))
            try db.expectRefused(Self.signIn("evil", "1", "ANA@acme.io", verified: false), .unverifiedEmail)
            try db.expectRefused(Self.signIn("evil", "1", "bob@acme.io", verified: false), .unverifiedEmail)
            #expect(try db.store.userIDs(inOrganization: nil) == ["ana", "bob"])
            #expect(try db.store.user("bob")?.profile.email == "bob@acme.io")
        }

        @Test(arguments: StoreBackend.all)
        func aVerifiedEmailHeldUnverifiedIsTakenEvenFromAnOperatorsUser(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addUser(NewUser(id: "bob", profile: UserProfile(email: "bob@acme.io", firstName: "Bob"),
                                       emailVerified: false, organizations: ["org_acme"])))
            let id = try #require(try signedUp(db, Self.signIn("google", "5", "bob@acme.io", verified: true)))
            #expect(id != "bob")
            let bob = try #require(try db.store.user("bob"))
            #expect(bob.profile == UserProfile(firstName: "Bob") && bob.emailVerified == nil)
            #expect(bob.memberships.map(\.organization) == ["org_acme"])
        }

        @Test(arguments: StoreBackend.all)
        func withSignUpOffTheAddressIsNotTaken(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend, policy: testPolicy(allowSelfSignup: false))
            try db.ok(.addUser(NewUser(id: "bob", profile: UserProfile(email: "bob@acme.io"), emailVerified: false)))
            try db.expectRefused(Self.signIn("google", "5", "bob@acme.io", verified: true), .signUpRefused)
            #expect(try db.store.user("bob")?.profile.email == "bob@acme.io")
        }

        @Test(arguments: StoreBackend.all)
        func aVerifiedProfileSyncTakesTheAddressFromItsUnverifiedHolder(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let ana = try #require(try signedUp(db, Self.signIn("google", "1", "ana@acme.io", verified: true)))
            let squatter = try #require(try signedUp(db, Self.signIn("evil", "2", "ana@new.io", verified: false)))
            // Ana's provider now says her (verified) address is ana@new.io.
            guard case .signedIn(.signedIn(ana, _), _) = try db.write(Self.signIn("google", "1", "ana@new.io", verified: true)).get()
            else { Issue.record("Ana was not signed in"); return }
            #expect(try db.store.user(ana)?.profile.email == "ana@new.io")
            #expect(try db.store.user(ana)?.emailVerified == true)
            #expect(try db.store.user(squatter)?.profile.email == nil)
            // A verified holder keeps it: the sync is refused.
            let carol = try #require(try signedUp(db, Self.signIn("google", "3", "carol@acme.io", verified: true)))
            try db.expectRefused(Self.signIn("google", "1", "carol@acme.io", verified: true), .emailTaken,
                                 naming: "carol@acme.io", carol)
        }

        @Test(arguments: StoreBackend.all)
        func aSignInNeverUnverifiesTheAddressTheUserHolds(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("ana", email: "ana@acme.io")
            try db.ok(Self.signIn("google", "1", "ana@acme.io", verified: true))
            try db.ok(Self.signIn("google", "1", "ana@acme.io", verified: false))
            #expect(try db.store.user("ana")?.emailVerified == true)
            // Another provider's verified sign-in still finds her by email.
            guard case .signedIn(.signedIn("ana", _), _) = try db.write(Self.signIn("github", "7", "ana@acme.io", verified: true)).get()
            else { Issue.record("Ana was not found by her verified email"); return }
            #expect(try db.store.user("ana")?.identities.count == 2)
        }
    }
}
