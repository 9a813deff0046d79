import Foundation
import PermdCore
import PermdPolicy
import PermdStore
import Testing
import PermdTestSupport

extension StoreContract {
    /// Export → import into an empty database → export again is identical, for any state the
    /// writes can make (SPEC §4): organizations made at run time, names and external ids,
    /// profiles with blank fields, roles, direct permissions, identities; grants of roles and
    /// permissions the policies dropped are left out, counted.
    @Suite struct RoundTrip {
        /// `testPolicy` without the role `auditor` and the permission `refund:payments`: what a
        /// state made under `testPolicy` holds of them is stale.
        static let laterPolicy: PolicySet = {
            var policy = testPolicy(extraRole: false)
            policy = PolicySet(
                permissions: policy.permissions.filter { $0.key != "refund:payments" },
                roles: policy.roles.map { role in
                    var role = role
                    role.permissions.removeAll { $0 == "refund:payments" }
                    return role
                },
                organizations: policy.organizations, settings: policy.settings)
            return policy
        }()

        /// A state made by writes, as the policies were before `laterPolicy`.
        static func madeByWrites(_ db: StoreUnderTest) throws {
            try db.ok(.addOrganization(OrganizationRecord(code: "org_beta", name: "Beta, Inc. \"B\"", externalID: "crm-9")))
            try db.ok(.addOrganization(OrganizationRecord(code: "org_gamma")))
            try db.ok(.addOrganization(OrganizationRecord(code: "org_delta", name: "Delta", externalID: "org_zeta")))
            try db.ok(.addUser(NewUser(id: "alice", profile: UserProfile(email: "Alice@Acme.io", firstName: "Alice",
                                                                         lastName: "Liddell, Jr."),
                                       organizations: ["org_acme", "org_beta"], roles: ["billing-admin"])))
            try db.ok(.grantPermission(user: "alice", organization: "org_beta", permission: "write:invoices"))
            try db.ok(.grantPermission(user: "alice", organization: "org_acme", permission: "refund:payments"))
            try db.ok(.addUser(NewUser(id: "bob", profile: UserProfile(username: "bob", phone: "+34 600", firstName: "Bob",
                                                                       lastName: "", picture: "   "),
                                       organizations: ["org_gamma", "org_delta"], roles: [])))
            try db.ok(.assignRole(user: "bob", organization: "org_delta", role: "auditor"))
            try db.ok(.signIn(SignInRequest(provider: "github", providerUserID: "7", email: "alice@acme.io",
                                            emailVerified: true, organization: "org_acme")))
            try db.ok(.signIn(SignInRequest(provider: "google", providerUserID: "g-1", email: "carol@beta.io",
                                            emailVerified: true, profile: UserProfile(lastName: " "))))
        }

        @Test(arguments: StoreBackend.all, ExportFormat.allCases)
        func anExportImportedIntoAnEmptyDatabaseExportsTheSame(_ backend: StoreBackend, _ format: ExportFormat) throws {
            let source = try StoreUnderTest(backend)
            try Self.madeByWrites(source)
            let later = try source.reopen(policy: Self.laterPolicy)
            let (organizations, users, stale) = try export(later, format)
            #expect(stale == StaleGrants.counted(roles: 1, permissions: 1), "bob's auditor, alice's refund:payments")
            #expect(organizations.contains("org_beta,\"Beta, Inc. \"\"B\"\"\",crm-9\n"))
            if format == .kindeNDJSON {
                #expect(!users.contains("\"\""), "blank values are no value: never an empty string")
                #expect(users.contains(#""type":"oauth2:github","identity":"7""#))
            }

            let target = try StoreUnderTest(backend, policy: Self.laterPolicy)
            let added = try importOrganizations(organizations, into: target.store)
            #expect(added.added == 3 && added.updated == 0, "\(added)")
            let summary = try importText(users, format, into: target.store)
            #expect(summary.usersCreated == 3, "\(summary)")
            let (organizationsAgain, usersAgain, staleAgain) = try export(target.store, format)
            #expect(organizationsAgain == organizations)
            #expect(usersAgain == users)
            #expect(staleAgain.count == 0)

            let revision = try target.store.currentRevision()
            #expect(try importOrganizations(organizations, into: target.store).unchanged == 5)
            #expect(try importText(users, format, into: target.store).usersUnchanged == 3)
            #expect(try target.store.currentRevision() == revision, "importing the export again changes nothing")
        }

        @Test(arguments: StoreBackend.all)
        func kindesOrganizationFileAddsOrganizationsByExternalIDAndMakesTheirCodes(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            let kinde = "name, id\n\"Alpha, Inc.\", a001\nAcme Ltd, acme-123\nDefault, org_default\n"
            let first = try importOrganizations(kinde, into: db.store)
            #expect(first.added == 1 && first.unchanged == 2, "\(first)")
            #expect(try db.store.organizations().first { $0.code == "org_a001" }
                == OrganizationRecord(code: "org_a001", name: "Alpha, Inc.", externalID: "a001"),
                "a quoted field with a comma is one value")
            let again = try importOrganizations(kinde.replacingOccurrences(of: "\"Alpha, Inc.\"", with: "Alpha Ltd"),
                                                into: db.store)
            #expect(again.updated == 1 && again.added == 0, "the code found by the external id: the name follows")
            #expect(try db.store.organizations().first { $0.code == "org_a001" }?.name == "Alpha Ltd")
        }
    }
}

extension StaleGrants {
    /// The counts, for comparing.
    static func counted(roles: Int, permissions: Int) -> StaleGrants {
        var stale = StaleGrants()
        stale.roles = roles
        stale.permissions = permissions
        return stale
    }
}

/// What `permd export --organizations` and `permd export --format format` write for `store`,
/// and the grants left out.
private func export(_ store: any StateStore, _ format: ExportFormat) throws -> (String, String, StaleGrants) {
    let writer = try ExportWriter(format: format, organizations: try store.organizations(), policy: store.policy)
    var text = writer.header ?? ""
    var stale = StaleGrants()
    try store.forEachUser { user in
        text += writer.lines(for: user)
        stale += writer.staleGrants(in: user)
    }
    return (OrganizationsCSVFormat.export(try store.organizations()), text, stale)
}

/// What `permd import` does with an organizations CSV: recognise, parse, plan, apply.
func importOrganizations(_ text: String, into store: any StateStore) throws -> OrganizationImportSummary {
    let bytes = Array(text.utf8)
    try #require(OrganizationsCSVFormat.recognizes(bytes))
    let plan = OrganizationImportPlanner(organizations: try store.organizations(), file: "organizations.csv")
        .plan(OrganizationsCSVFormat.parse(bytes, file: "organizations.csv"))
    try #require(plan.isValid, "\(plan.diagnostics)")
    return try store.applyOrganizationImport(plan.organizations, dryRun: false)
}
