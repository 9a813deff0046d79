import PermdCore
import PermdPolicy
import PermdStore
import Testing

extension StoreContract {
    /// An external id belongs to one organization and is never another organization's code;
    /// codes and external ids hold no comma (SPEC §1): imports name organizations by either,
    /// comma-separated, and must land where the name says.
    @Suite struct ExternalIDs {
        @Test(arguments: StoreBackend.all)
        func anExternalIDIsNeverAnotherOrganizationsCode(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.expectRefused(.addOrganization(OrganizationRecord(code: "org_x", externalID: "org_acme")),
                                 .externalIDIsCode, naming: "org_x", "org_acme")
            try db.ok(.addOrganization(OrganizationRecord(code: "org_x", externalID: "x-1")))
            try db.expectRefused(.addOrganization(OrganizationRecord(code: "org_x", externalID: "org_default")),
                                 .externalIDIsCode, naming: "org_x", "org_default")
            #expect(try db.store.organizations().first { $0.code == "org_x" }?.externalID == "x-1")
            // Its own code is no other organization's.
            try db.ok(.addOrganization(OrganizationRecord(code: "org_y", externalID: "org_y")))
        }

        @Test(arguments: StoreBackend.all)
        func aCodeIsNeverAnotherOrganizationsExternalID(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            // org_acme (declared) has the external id acme-123.
            try db.expectRefused(.addOrganization(OrganizationRecord(code: "acme-123")), .externalIDIsCode,
                                 naming: "acme-123", "org_acme")
            try db.ok(.addOrganization(OrganizationRecord(code: "org_x", externalID: "legacy-7")))
            try db.expectRefused(.addOrganization(OrganizationRecord(code: "legacy-7", name: "L")), .externalIDIsCode,
                                 naming: "legacy-7", "org_x")
            #expect(try db.store.organizations().map(\.code) == ["org_acme", "org_default", "org_x"])
        }

        @Test(arguments: StoreBackend.all, ["org,x", ",", "org_x,"])
        func aCodeHoldsNoComma(_ backend: StoreBackend, _ code: String) throws {
            let db = try StoreUnderTest(backend)
            try db.expectRefused(.addOrganization(OrganizationRecord(code: code)), .invalidValue, naming: code)
            try db.expectRefused(.addOrganization(OrganizationRecord(code: "org_y", externalID: code)),
                                 .invalidValue, naming: code)
            #expect(try db.store.organizations().map(\.code) == ["org_acme", "org_default"])
        }

        @Test(arguments: StoreBackend.all)
        func aBlankExternalIDIsNone(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addOrganization(OrganizationRecord(code: "org_x", externalID: " ")))
            try db.ok(.addOrganization(OrganizationRecord(code: "org_y", externalID: "")))
            #expect(try db.store.organizations().filter { $0.code.hasPrefix("org_x") || $0.code == "org_y" }
                .map(\.externalID) == [nil, nil])
        }

        /// The policies' organizations follow the same rule when a store opens with them.
        @Test(arguments: StoreBackend.all)
        func declaredOrganizationsThatClashWithStoredOnesAreRefusedAtOpening(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.ok(.addOrganization(OrganizationRecord(code: "org_x", externalID: "org_new")))
            try db.ok(.addOrganization(OrganizationRecord(code: "legacy-1")))
            let clashes: [(OrganizationDefinition, [String])] = [
                (OrganizationDefinition(code: "org_new"), ["org_new", "org_x"]),
                (OrganizationDefinition(code: "org_y", externalID: "legacy-1"), ["org_y", "legacy-1"]),
                (OrganizationDefinition(code: "org_z", externalID: "org_new"), ["org_z", "org_new", "org_x"]),
            ]
            for (declared, names) in clashes {
                let revision = try db.store.currentRevision()
                do {
                    _ = try db.reopen(policy: testPolicy(organizations: testOrganizations + [declared]))
                    Issue.record("opened with \(declared.code) declared")
                } catch let error as StoreError {
                    #expect(error.kind == .invariantBroken)
                    for name in names {
                        #expect(error.message.contains("\"\(name)\""), "\(error) does not name \(name)")
                    }
                }
                #expect(try db.store.currentRevision() == revision)
                #expect(try !db.store.organizations().contains { $0.code == declared.code })
            }
        }
    }
}
