import Foundation
import PermdCore
import PermdPolicy
import Testing

/// The example policies in the repository's `policies/` folder.
@Suite struct ShippedPolicyTests {
    /// `policies/` at the repository root, found from this file's path.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("policies").path

    @Test func validateWithoutErrorsOrWarnings() throws {
        let result = PolicyLoader.load(directory: Self.directory)
        #expect(result.diagnostics.map(\.description) == [])
        let policy = try #require(result.policy)
        #expect(policy.permissions.count >= 25)
        #expect(policy.roles.count >= 6)
        #expect(Set(policy.permissions.compactMap { $0.key.split(separator: ":").last }).count >= 5)
        #expect(policy.defaultRoles.count == 1)
        #expect(policy.settings.defaultOrganization == "org_default")
        #expect(policy.declaredOrganization("org_acme")?.externalID != nil)
        #expect(policy.grantsByRole["owner"]?.count == policy.permissions.count)
        #expect(policy.roles.contains { $0.permissions.contains { $0.count > 1 && $0.hasSuffix("*") } })
        #expect(policy.roles.contains { !$0.includes.isEmpty })
    }
}
