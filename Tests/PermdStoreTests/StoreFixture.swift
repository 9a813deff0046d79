import Foundation
import Logging
import PermdCore
import PermdPolicy
@testable import PermdStore

/// A small policy set: two declared organizations, a default role and one that includes it.
func testPolicy(allowSelfSignup: Bool = true, syncProfile: Bool = true, extraRole: Bool = true) -> PolicySet {
    var roles = [
        RoleDefinition(key: "viewer", permissions: ["read:*"], defaultForNewUsers: true),
        RoleDefinition(key: "billing-admin", permissions: ["write:invoices", "refund:payments"], includes: ["viewer"]),
    ]
    if extraRole { roles.append(RoleDefinition(key: "auditor", permissions: ["read:invoices"])) }
    return PolicySet(
        permissions: [PermissionDefinition(key: "read:invoices"), PermissionDefinition(key: "write:invoices"),
                      PermissionDefinition(key: "refund:payments")],
        roles: roles,
        organizations: [OrganizationDefinition(code: "org_default", name: "Default"),
                        OrganizationDefinition(code: "org_acme", name: "Acme Ltd", externalID: "acme-123")],
        settings: PolicySettings(defaultOrganization: "org_default", allowSelfSignup: allowSelfSignup,
                                 syncProfileOnSignIn: syncProfile))
}

/// A temporary folder removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("permd-store-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// A store in a fresh temporary database.
struct StoreFixture {
    let directory = TemporaryDirectory()
    let store: SQLiteStore
    var path: String { directory.path("permd.db") }

    init(policy: PolicySet = testPolicy()) throws {
        store = try SQLiteStore(path: directory.path("permd.db"), policy: policy, logger: Logger(label: "test"))
    }

    /// Performs one write and returns its result.
    @discardableResult
    func write(_ write: Write) throws -> Result<WriteOutcome, WriteError> {
        try store.perform([write])[0]
    }

    /// Performs one write that must succeed; returns its revision.
    @discardableResult
    func ok(_ request: Write) throws -> UInt64 {
        try write(request).get().revision
    }

    /// The error code of a write that must be refused.
    func refusal(_ request: Write) throws -> WriteErrorCode? {
        if case .failure(let error) = try write(request) { return error.code }
        return nil
    }

    /// Adds a user in the given organizations and returns the revision.
    @discardableResult
    func addUser(_ id: String, email: String? = nil, organizations: [String]? = nil, roles: [String]? = nil) throws -> UInt64 {
        try ok(.addUser(NewUser(id: id, profile: UserProfile(email: email), organizations: organizations, roles: roles)))
    }
}
