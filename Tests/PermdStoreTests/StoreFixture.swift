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
    func write(_ write: Write) throws -> Result<WriteOutcome, WriteRefusal> {
        try store.perform([write])[0]
    }

    /// Performs one write that must succeed; returns its revision.
    @discardableResult
    func ok(_ request: Write) throws -> UInt64 {
        try write(request).get().revision
    }

    /// Why a write that must be refused was refused.
    func refusal(_ request: Write) throws -> WriteRefusal.Reason? {
        if case .failure(let refusal) = try write(request) { return refusal.reason }
        return nil
    }

    /// Adds a user in the given organizations and returns the revision.
    @discardableResult
    func addUser(_ id: String, email: String? = nil, organizations: [String]? = nil, roles: [String]? = nil) throws -> UInt64 {
        try ok(.addUser(NewUser(id: id, profile: UserProfile(email: email), organizations: organizations, roles: roles)))
    }
}

/// Collects a full state feed as plain lines, to compare with expectations.
struct RecordingSink: StateSink {
    var lines: [String] = []
    mutating func organization(_ code: UnsafeRawBufferPointer) { lines.append("org \(text(code))") }
    mutating func user(_ id: UnsafeRawBufferPointer) { lines.append("user \(text(id))") }
    mutating func membership(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) {
        lines.append("member \(text(user)) \(text(organization))")
    }
    mutating func roleAssignment(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                 role: UnsafeRawBufferPointer) {
        lines.append("role \(text(user)) \(text(organization)) \(text(role))")
    }
    mutating func directGrant(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                              permission: UnsafeRawBufferPointer) {
        lines.append("grant \(text(user)) \(text(organization)) \(text(permission))")
    }
    private func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }
}
