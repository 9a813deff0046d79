import PermdCore
import PermdStore
import Testing

extension StoreContract {
    /// `SIGNIN` carried out by the store (SPEC §5 steps 1–3, as implemented today).
    @Suite struct SignIn {
        static func request(_ providerUserID: String = "1093", email: String? = "ana@acme.io", verified: Bool = true,
                            profile: UserProfile = UserProfile(), org: String? = nil) -> SignInRequest {
            SignInRequest(provider: "google", providerUserID: providerUserID, email: email, emailVerified: verified,
                          profile: profile, organization: org)
        }

        /// Signs in; the accepted answer, or the refusal.
        func signIn(_ db: StoreUnderTest, _ request: SignInRequest) throws -> Result<SignInResult, WriteRefusal> {
            try db.write(.signIn(request)).map { outcome in
                guard case .signedIn(let result, _) = outcome else {
                    Issue.record("not a sign-in outcome: \(outcome)")
                    return .signedIn(user: "", organization: "")
                }
                return result
            }
        }

        @Test(arguments: StoreBackend.all)
        func aStrangerSignsUpInTheDefaultOrganizationThenSignsIn(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let before = try db.store.currentRevision()
            let first = try db.write(.signIn(Self.request(profile: UserProfile(firstName: "Ana")))).get()
            guard case .signedIn(.signedUp(let id, let org), let revision) = first else {
                Issue.record("expected a sign-up, got \(first)")
                return
            }
            #expect(org == "org_default" && revision == before + 1)
            #expect(try db.changes(after: before) == [
                .userAdded(user: id), .membershipAdded(user: id, organization: "org_default"),
                .roleAssigned(user: id, organization: "org_default", role: "viewer"),
            ])
            let ana = try #require(try db.store.user(id))
            #expect(ana.profile == UserProfile(email: "ana@acme.io", firstName: "Ana") && ana.emailVerified == true)
            #expect(ana.identities == [Identity(provider: "google", providerUserID: "1093")])
            #expect(ana.memberships == [MembershipRecord(organization: "org_default", roles: ["viewer"])])
            #expect(try db.store.activity(ofUser: id)?.lastSignedIn != nil)

            #expect(try signIn(db, Self.request(profile: UserProfile(firstName: "Ana"))).get()
                == .signedIn(user: id, organization: "org_default"))
            #expect(try db.store.currentRevision() == revision, "an unchanged sign-in makes no revision")
        }

        @Test(arguments: StoreBackend.all)
        func aSignUpNeverJoinsAnotherOrganization(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            guard case .signedUp(let id, let org) = try signIn(db, Self.request(org: "org_acme")).get() else {
                Issue.record("expected a sign-up")
                return
            }
            #expect(org == "org_default")
            #expect(try db.memberships(id)?.map(\.organization) == ["org_default"])
        }

        @Test(arguments: StoreBackend.all)
        func theOrganizationIsTheOneAskedForTheOnlyOneOrAChoice(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("ana", email: "ana@acme.io", organizations: ["org_acme"])
            #expect(try signIn(db, Self.request()).get() == .signedIn(user: "ana", organization: "org_acme"))
            try db.ok(.addMember(user: "ana", organization: "org_default", roles: nil))
            #expect(try signIn(db, Self.request()).get() == .select(user: "ana", organizations: ["org_acme", "org_default"]))
            #expect(try signIn(db, Self.request(org: "org_default")).get() == .signedIn(user: "ana", organization: "org_default"))
            try db.ok(.addOrganization(OrganizationRecord(code: "org_x")))
            try db.expectRefused(.signIn(Self.request(org: "org_x")), .notMemberAtSignIn, naming: "ana", "org_x")
        }

        @Test(arguments: StoreBackend.all)
        func aVerifiedEmailLinksTheIdentityAndSyncsTheProfile(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("ana", email: "Ana@Acme.io")
            let before = try db.store.currentRevision()
            let request = SignInRequest(provider: "github", providerUserID: "7", email: "ana@acme.io", emailVerified: true,
                                        profile: UserProfile(lastName: "Ruiz"), organization: "org_default")
            #expect(try signIn(db, request).get() == .signedIn(user: "ana", organization: "org_default"))
            #expect(try db.store.currentRevision() == before + 1)
            #expect(try db.changes(after: before) == [.profileUpdated(user: "ana")])
            let ana = try #require(try db.store.user("ana"))
            #expect(ana.identities == [Identity(provider: "github", providerUserID: "7")])
            #expect(ana.profile.lastName == "Ruiz")
            // Found by the identity from now on, without an email.
            let again = SignInRequest(provider: "github", providerUserID: "7")
            #expect(try signIn(db, again).get() == .signedIn(user: "ana", organization: "org_default"))
        }

        @Test(arguments: StoreBackend.all)
        func profileSyncOffKeepsTheStoredProfile(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend, policy: testPolicy(syncProfile: false))
            try db.addUser("ana", email: "ana@acme.io")
            let request = SignInRequest(provider: "github", providerUserID: "7", email: "ana@acme.io", emailVerified: true,
                                        profile: UserProfile(lastName: "Ruiz"))
            #expect(try signIn(db, request).get() == .signedIn(user: "ana", organization: "org_default"))
            #expect(try db.store.user("ana")?.profile.lastName == nil)
            #expect(try db.store.user("ana")?.identities == [Identity(provider: "github", providerUserID: "7")])
        }

        @Test(arguments: StoreBackend.all)
        func anUnverifiedEmailOfAnExistingUserIsRefused(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("ana", email: "ana@acme.io")
            try db.expectRefused(.signIn(Self.request(verified: false)), .unverifiedEmail)
            #expect(try db.store.user("ana")?.identities == [])
            #expect(try db.store.userIDs(inOrganization: nil) == ["ana"])
        }

        @Test(arguments: StoreBackend.all)
        func withSignUpOffStrangersAreRefusedAndMembersSignIn(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend, policy: testPolicy(allowSelfSignup: false))
            try db.addUser("ana", email: "ana@acme.io")
            try db.expectRefused(.signIn(Self.request("8", email: "zed@acme.io")), .signUpRefused)
            try db.expectRefused(.signIn(Self.request("9", email: nil)), .signUpRefused)
            #expect(try db.store.userIDs(inOrganization: nil) == ["ana"])
            #expect(try signIn(db, Self.request()).get() == .signedIn(user: "ana", organization: "org_default"))
        }

        @Test(arguments: StoreBackend.all)
        func aSignInWithoutProviderOrProviderUserIDIsRefused(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.expectRefused(.signIn(SignInRequest(provider: "", providerUserID: "1")), .invalidValue)
            try db.expectRefused(.signIn(SignInRequest(provider: "google", providerUserID: "")), .invalidValue)
            try db.expectRefused(.signIn(Self.request(org: "bad org")), .invalidValue)
            #expect(try db.store.userIDs(inOrganization: nil) == [])
        }
    }
}
