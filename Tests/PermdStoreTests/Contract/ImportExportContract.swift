import PermdCore
import PermdStore
import Testing
import PermdTestSupport

extension StoreContract {
    /// Import of checked records and export (SPEC §4).
    @Suite struct ImportExport {
        static let records = [
            UserRecord(id: "alice", profile: UserProfile(email: "alice@acme.io", firstName: "Alice"),
                       memberships: [MembershipRecord(organization: "org_acme", roles: ["billing-admin"],
                                                      permissions: ["refund:payments"])], line: 2),
            UserRecord(id: nil, profile: UserProfile(email: "bob@acme.io"),
                       identities: [Identity(provider: "auth0", providerUserID: "b1")], line: 3),
        ]

        @Test(arguments: StoreBackend.all)
        func anImportIsOneRevisionAndTheSameImportAgainChangesNothing(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let start = try db.store.currentRevision()
            let first = try db.store.applyImport(Self.records, dryRun: false)
            #expect(first.usersCreated == 2 && first.usersUpdated == 0 && first.membershipsAdded == 2)
            #expect(first.rolesAdded == 2 && first.permissionsAdded == 1, "alice's role, bob's default role")
            #expect(try first.revision == start + 1 && db.store.currentRevision() == start + 1)
            if let log = try db.store.changes(after: start) {  // a store may trim the log instead (then readers rebuild)
                #expect(log.allSatisfy { $0.revision == start + 1 })
                #expect(log.map(\.change).contains(.userAdded(user: "alice")))
                #expect(log.map(\.change).contains(.permissionGranted(
                    user: "alice", organization: "org_acme", permission: "refund:payments")))
            }
            let lines = try db.stateLines()

            let second = try db.store.applyImport(Self.records, dryRun: false)
            #expect(second.usersUnchanged == 2 && second.usersCreated == 0 && second.usersUpdated == 0)
            #expect(second.membershipsAdded == 0 && second.rolesAdded == 0 && second.permissionsAdded == 0)
            #expect(try second.revision == start + 1 && db.store.currentRevision() == start + 1)
            #expect(try db.store.changes(after: start + 1) == [])
            #expect(try db.stateLines() == lines)
            #expect(try db.store.userIDs(inOrganization: nil).count == 2, "bob, without an id, was matched by email")
        }

        @Test(arguments: StoreBackend.all)
        func aNewUserWithoutMembershipsJoinsTheDefaultOrganizationWithTheDefaultRoles(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            _ = try db.store.applyImport(Self.records + [
                UserRecord(id: "carol", memberships: [MembershipRecord(organization: "org_acme", roles: [])]),
            ], dryRun: false)
            var exported: [UserRecord] = []
            try db.store.forEachUser { exported.append($0) }
            let bob = try #require(exported.first { $0.profile.email == "bob@acme.io" })
            #expect(bob.memberships == [MembershipRecord(organization: "org_default", roles: ["viewer"])])
            #expect(bob.identities == [Identity(provider: "auth0", providerUserID: "b1")])
            #expect(try db.memberships("alice") == [MembershipRecord(organization: "org_acme", roles: ["billing-admin"],
                                                                     permissions: ["refund:payments"])])
            #expect(try db.memberships("carol") == [MembershipRecord(organization: "org_acme", roles: [])])
        }

        @Test(arguments: StoreBackend.all)
        func aRecordForAnExistingUserAddsAndNeverRemoves(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            _ = try db.store.applyImport(Self.records, dryRun: false)
            let update = UserRecord(id: "alice", profile: UserProfile(lastName: "Liddell"),
                                    memberships: [MembershipRecord(organization: "org_default", roles: nil),
                                                  MembershipRecord(organization: "org_acme", roles: ["auditor"])])
            let summary = try db.store.applyImport([update], dryRun: false)
            #expect(summary.usersUpdated == 1 && summary.membershipsAdded == 1 && summary.rolesAdded == 2)
            let alice = try #require(try db.store.user("alice"))
            #expect(alice.profile == UserProfile(email: "alice@acme.io", firstName: "Alice", lastName: "Liddell"))
            #expect(alice.memberships == [
                MembershipRecord(organization: "org_acme", roles: ["auditor", "billing-admin"],
                                 permissions: ["refund:payments"]),
                MembershipRecord(organization: "org_default", roles: ["viewer"]),
            ])
        }

        @Test(arguments: StoreBackend.all)
        func aDryRunAnswersTheSummaryAndWritesNothing(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let revision = try db.store.currentRevision()
            let summary = try db.store.applyImport(Self.records, dryRun: true)
            #expect(summary.usersCreated == 2 && summary.membershipsAdded == 2 && summary.revision == revision)
            #expect(try db.store.userIDs(inOrganization: nil) == [])
            #expect(try db.store.currentRevision() == revision)
            #expect(try db.store.changes(after: revision) == [])
        }

        @Test(arguments: StoreBackend.all)
        func anyRefusedRecordRefusesTheWholeImportWithItsLine(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let revision = try db.store.currentRevision()
            let bad = [
                UserRecord(id: "carol", memberships: [MembershipRecord(organization: "org_acme", roles: ["admn"])],
                           line: 17),
                UserRecord(id: "dan", memberships: [MembershipRecord(organization: "org_nowhere", roles: nil)], line: 18),
                UserRecord(id: "erin", memberships: [MembershipRecord(organization: "org_acme", roles: nil,
                                                                      permissions: ["nope"])], line: 19),
            ]
            let refusals = try importRefusals(db.store, Self.records + bad)
            #expect(refusals.map(\.line) == [17, 18, 19])
            if refusals.count == 3 {
                expectRefusal(refusals[0].error, .unknownRole, naming: ["admn"])
                expectRefusal(refusals[1].error, .unknownOrganization, naming: ["org_nowhere"])
                expectRefusal(refusals[2].error, .unknownPermission, naming: ["nope"])
            }
            #expect(try db.store.userIDs(inOrganization: nil) == [])
            #expect(try db.store.currentRevision() == revision)
        }

        /// Existing user "ann" with an email and an identity, for the store-side refusals.
        static func storeWithAnn(_ backend: StoreBackend) throws -> StoreUnderTest {
            let db = try StoreUnderTest(backend)
            _ = try db.store.applyImport([UserRecord(id: "ann", profile: UserProfile(email: "ann@acme.io"),
                                                     identities: [Identity(provider: "auth0", providerUserID: "a1")])],
                                         dryRun: false)
            return db
        }

        @Test(arguments: StoreBackend.all)
        func recordsApplyInOrderSoALaterRecordMayTakeAnEmailAnEarlierOneGaveUp(_ backend: StoreBackend) throws {
            let db = try Self.storeWithAnn(backend)
            let records = [
                UserRecord(id: "ann", profile: UserProfile(email: "ann2@acme.io"), line: 2),
                UserRecord(id: "fay", profile: UserProfile(email: "ANN@acme.io"),
                           memberships: [MembershipRecord(organization: "org_acme", roles: ["viewer", "viewer"]),
                                         MembershipRecord(organization: "org_acme", roles: ["billing-admin"])], line: 3),
            ]
            let summary = try db.store.applyImport(records, dryRun: false)
            #expect(summary.usersUpdated == 1 && summary.usersCreated == 1)
            #expect(summary.membershipsAdded == 1 && summary.rolesAdded == 2)
            #expect(try db.store.user("fay")?.profile.email == "ANN@acme.io")
            #expect(try db.memberships("fay") == [
                MembershipRecord(organization: "org_acme", roles: ["billing-admin", "viewer"])])
        }

        @Test(arguments: StoreBackend.all)
        func everyStoreSideRefusalIsListedAndNothingIsWritten(_ backend: StoreBackend) throws {
            let db = try Self.storeWithAnn(backend)
            let revision = try db.store.currentRevision()
            let records = [
                UserRecord(id: "carol", profile: UserProfile(email: "Ann@acme.io"), line: 2),
                UserRecord(id: "dan", line: 3),
                UserRecord(id: "erin", identities: [Identity(provider: "auth0", providerUserID: "a1")], line: 4),
                UserRecord(id: "ann", profile: UserProfile(email: "ann2@acme.io"), line: 5),
                UserRecord(id: "fay", profile: UserProfile(email: "ann@acme.io"), line: 6),
            ]
            let refusals = try importRefusals(db.store, records)
            #expect(refusals.map(\.line) == [2, 4])
            if refusals.count == 2 {
                expectRefusal(refusals[0].error, .emailTaken, naming: ["Ann@acme.io", "ann"])
                expectRefusal(refusals[1].error, .identityTaken, naming: ["a1", "ann"])
            }
            #expect(try db.store.userIDs(inOrganization: nil) == ["ann"])
            #expect(try db.store.user("ann")?.profile.email == "ann@acme.io")
            #expect(try db.store.currentRevision() == revision)
        }

        @Test(arguments: StoreBackend.all, ExportFormat.allCases)
        func anExportImportedIntoAnEmptyStoreExportsTheSame(_ backend: StoreBackend, _ format: ExportFormat) throws {
            let source = try StoreUnderTest(backend)
            try source.addUser("alice", email: "alice@acme.io", organizations: ["org_acme", "org_default"],
                               roles: ["billing-admin"])
            try source.ok(.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
            try source.ok(.addUser(NewUser(id: "bob", profile: UserProfile(firstName: "Bob", lastName: "Stone"),
                                           organizations: ["org_acme"], roles: [])))
            try source.ok(.signIn(SignInRequest(provider: "github", providerUserID: "7", email: "alice@acme.io",
                                                emailVerified: true, organization: "org_acme")))
            try source.addUser("carol")
            let exported = try exportText(source.store, format)

            let target = try StoreUnderTest(backend)
            let summary = try importText(exported, format, into: target.store)
            #expect(summary.usersCreated == 3)
            #expect(try exportText(target.store, format) == exported)
            #expect(try target.stateLines() == source.stateLines(), "the same authorization state")

            let revision = try source.store.currentRevision()
            let again = try importText(exported, format, into: source.store)
            #expect(again.usersUnchanged == 3 && again.usersCreated == 0 && again.usersUpdated == 0)
            #expect(try source.store.currentRevision() == revision, "importing its own export changes nothing")
        }
    }
}

/// The records an import refused (failing the test when it was not refused).
private func importRefusals(_ store: any StateStore, _ records: [UserRecord]) throws -> [ImportRefusal] {
    do {
        _ = try store.applyImport(records, dryRun: false)
        Issue.record("the import was not refused")
        return []
    } catch {
        guard case .importRefused(let refusals) = error.kind else { throw error }
        return refusals
    }
}

/// What `permd export` writes for `store`.
func exportText(_ store: any StateStore, _ format: ExportFormat) throws -> String {
    let writer = try ExportWriter(format: format, organizations: try store.organizations())
    var text = writer.header ?? ""
    try store.forEachUser { text += writer.lines(for: $0) }
    return text
}

/// What `permd import` does with `text`: parse, plan (which must find no error), apply.
func importText(_ text: String, _ format: ExportFormat, into store: any StateStore) throws -> ImportSummary {
    let importFormat = try #require(ImportFormat(rawValue: format.rawValue))
    let rows = importFormat.parse(Array(text.utf8), file: "export")
    let plan = ImportPlanner(policy: store.policy, organizations: try store.organizations(), file: "export").plan(rows)
    try #require(plan.isValid, "\(plan.diagnostics)")
    return try store.applyImport(plan.users, dryRun: false)
}
