import Foundation
import Logging
import PermdCore
import PermdPolicy
@testable import PermdStore

/// The organizations `testPolicy` declares by default.
let testOrganizations = [OrganizationDefinition(code: "org_default", name: "Default"),
                         OrganizationDefinition(code: "org_acme", name: "Acme Ltd", externalID: "acme-123")]

/// A small policy set: two declared organizations, a default role and one that includes it.
func testPolicy(allowSelfSignup: Bool = true, syncProfile: Bool = true, extraRole: Bool = true,
                organizations: [OrganizationDefinition] = testOrganizations) -> PolicySet {
    var roles = [
        RoleDefinition(key: "viewer", permissions: ["read:*"], defaultForNewUsers: true),
        RoleDefinition(key: "billing-admin", permissions: ["write:invoices", "refund:payments"], includes: ["viewer"]),
    ]
    if extraRole { roles.append(RoleDefinition(key: "auditor", permissions: ["read:invoices"])) }
    return PolicySet(
        permissions: [PermissionDefinition(key: "read:invoices"), PermissionDefinition(key: "write:invoices"),
                      PermissionDefinition(key: "refund:payments")],
        roles: roles,
        organizations: organizations,
        settings: PolicySettings(defaultOrganization: "org_default", allowSelfSignup: allowSelfSignup,
                                 syncProfileOnSignIn: syncProfile))
}

/// A temporary folder removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("permd-store-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// An SQLite store in a fresh temporary database, for the tests of SQLite's own behaviour
/// (the rules every store follows are in `Contract/`).
struct StoreFixture {
    let directory = TemporaryDirectory()
    let store: SQLiteStore
    var path: String { directory.path("permd.db") }

    init(policy: PolicySet = testPolicy()) throws {
        store = try SQLiteStore(path: directory.path("permd.db"), policy: policy, logger: Logger(label: "test"))
    }
}
/// A lock around a value, for collecting results from threads.
final class Mutex2<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
