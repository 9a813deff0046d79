import PermdCore
import PermdPolicy
import PermdStore
import Testing

extension StoreContract {
    /// Users (SPEC §1, `USER.ADD`, `USER.DEL`).
    @Suite struct Users {
        @Test(arguments: StoreBackend.all)
        func aUserWithoutOrganizationJoinsTheDefaultWithTheDefaultRoles(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice")
            #expect(try db.memberships("alice") == [MembershipRecord(organization: "org_default", roles: ["viewer"])])
            try db.ok(.addUser(NewUser(id: "bob", organizations: [])))
            #expect(try db.memberships("bob") == [MembershipRecord(organization: "org_default", roles: ["viewer"])])
        }

        @Test(arguments: StoreBackend.all)
        func anExplicitRoleListReplacesTheDefaultsInEveryOrganizationJoined(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", organizations: ["org_acme", "org_default"], roles: ["auditor"])
            #expect(try db.memberships("alice") == [MembershipRecord(organization: "org_acme", roles: ["auditor"]),
                                                    MembershipRecord(organization: "org_default", roles: ["auditor"])])
            // A role that includes the default one does not bring the default role itself.
            try db.addUser("bob", organizations: ["org_acme"], roles: ["billing-admin"])
            #expect(try db.memberships("bob") == [MembershipRecord(organization: "org_acme", roles: ["billing-admin"])])
            try db.addUser("carol", organizations: ["org_acme"], roles: [])
            #expect(try db.memberships("carol") == [MembershipRecord(organization: "org_acme", roles: [])])
        }

        @Test(arguments: StoreBackend.all)
        func addingAUserAnswersItsIDAndTheRevisionThatContainsIt(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let before = try db.store.currentRevision()
            let outcome = try db.write(.addUser(NewUser(id: "alice", profile: UserProfile(email: "a@x.io",
                                                                                          firstName: "Alice")))).get()
            #expect(outcome == .userAdded(id: "alice", revision: before + 1))
            let alice = try #require(try db.store.user("alice"))
            #expect(alice.id == "alice" && alice.profile == UserProfile(email: "a@x.io", firstName: "Alice"))
            #expect(alice.identities == [])
        }

        @Test(arguments: StoreBackend.all)
        func generatedIDsAreUniqueAndValid(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            var ids: Set<String> = []
            for _ in 0..<20 {
                guard case .userAdded(let id, _) = try db.write(.addUser(NewUser())).get() else {
                    Issue.record("expected userAdded")
                    return
                }
                #expect(id.hasPrefix("kp_") && Identifier.isValidID(id))
                ids.insert(id)
            }
            #expect(ids.count == 20)
            #expect(Set(try db.store.userIDs(inOrganization: nil)) == ids)
        }

        @Test(arguments: StoreBackend.all)
        func anEmailBelongsToOneUserComparedCaseInsensitively(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", email: "Alice@Acme.io")
            try db.expectRefused(.addUser(NewUser(id: "bob", profile: UserProfile(email: "alice@ACME.io"))),
                                 .emailTaken, naming: "alice@ACME.io", "alice")
            #expect(try db.store.user("bob") == nil)
            #expect(try db.store.user("alice")?.profile.email == "Alice@Acme.io", "stored as given")
        }

        @Test(arguments: StoreBackend.all)
        func addingAUserThatExistsIsANoOpAndAnotherUserUnderItsIDAConflict(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let added = try db.addUser("alice", email: "a@x.io", organizations: ["org_acme"])
            #expect(try db.write(.addUser(NewUser(id: "alice", profile: UserProfile(email: "a@x.io"),
                                                  organizations: ["org_acme"]))).get()
                == .userAdded(id: "alice", revision: added))
            #expect(try db.addUser("alice") == added, "a subset of what is stored is a no-op")
            #expect(try db.addUser("alice", roles: ["viewer"]) == added)
            try db.expectRefused(.addUser(NewUser(id: "alice", profile: UserProfile(email: "b@x.io"))),
                                 .userExists, naming: "alice")
            try db.expectRefused(.addUser(NewUser(id: "alice", organizations: ["org_default"])), .userExists)
            try db.expectRefused(.addUser(NewUser(id: "alice", organizations: ["org_acme"], roles: ["auditor"])),
                                 .userExists)
            #expect(try db.memberships("alice") == [MembershipRecord(organization: "org_acme", roles: ["viewer"])])
        }

        @Test(arguments: StoreBackend.all)
        func aUserNamingWhatDoesNotExistIsRefusedWhole(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.expectRefused(.addUser(NewUser(id: "bob", organizations: ["org_acme", "org_nowhere"])),
                                 .unknownOrganization, naming: "org_nowhere")
            try db.expectRefused(.addUser(NewUser(id: "bob", roles: ["viewer", "admn"])), .unknownRole, naming: "admn")
            #expect(try db.store.user("bob") == nil)
            #expect(try db.store.userIDs(inOrganization: nil) == [])
        }

        @Test(arguments: StoreBackend.all)
        func removingAUserRemovesItsMembershipsGrantsIdentitiesAndEmail(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", email: "a@x.io", organizations: ["org_acme", "org_default"])
            try db.ok(.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
            try db.ok(.signIn(SignInRequest(provider: "github", providerUserID: "7", email: "a@x.io", emailVerified: true,
                                            organization: "org_acme")))
            try db.addUser("bob")
            try db.ok(.removeUser("alice"))
            #expect(try db.store.user("alice") == nil)
            #expect(try db.store.activity(ofUser: "alice") == nil)
            #expect(try db.stateLines() == ["org org_acme", "org org_default", "user bob", "member bob org_default",
                                            "role bob org_default viewer"])
            try db.expectRefused(.removeUser("alice"), .unknownUser, naming: "alice")
            try db.addUser("alice2", email: "A@x.io")  // the email is free again
            // The identity is free again: signing in with it finds the user that now holds the email.
            let signIn = try db.write(.signIn(SignInRequest(provider: "github", providerUserID: "7", email: "a@x.io",
                                                            emailVerified: true)))
            guard case .success(.signedIn(let result, _)) = signIn else {
                Issue.record("expected a sign-in, got \(signIn)")
                return
            }
            #expect(result == .signedIn(user: "alice2", organization: "org_default"))
        }

        @Test(arguments: StoreBackend.all)
        func malformedIdentifiersAreRefused(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice")
            try db.expectRefused(.addUser(NewUser(id: "has space")), .invalidValue)
            try db.expectRefused(.addUser(NewUser(id: "bob", organizations: ["org acme"])), .invalidValue)
            try db.expectRefused(.addUser(NewUser(id: "bob", roles: ["bad*key"])), .invalidValue)
            try db.expectRefused(.removeUser(""), .invalidValue)
            try db.expectRefused(.addOrganization(OrganizationRecord(code: "")), .invalidValue)
            try db.expectRefused(.removeOrganization("bad\tcode"), .invalidValue)
            try db.expectRefused(.addMember(user: "alice", organization: "org_acme", roles: ["a b"]), .invalidValue)
            try db.expectRefused(.assignRole(user: "alice", organization: "org_default", role: "bad*key"), .invalidValue)
            try db.expectRefused(.grantPermission(user: "alice", organization: "org_default", permission: "p q"),
                                 .invalidValue)
            try db.expectRefused(.removeMember(user: "al ice", organization: "org_default"), .invalidValue)
        }
    }
}
