public import PermdCore
import PermdJSON
import Foundation

/// The outcome of loading a policy directory: the policy set when there are no errors,
/// and every diagnostic found, sorted by file then position.
public struct PolicyLoadResult: Sendable {
    public var policy: PolicySet?
    public var diagnostics: [Diagnostic]

    /// - Parameters:
    ///   - policy: the policy set, nil when any diagnostic is an error.
    ///   - diagnostics: errors and warnings, sorted.
    public init(policy: PolicySet?, diagnostics: [Diagnostic]) {
        self.policy = policy
        self.diagnostics = diagnostics
    }
}

/// Reads and validates the policy files of a directory (SPEC §2).
///
/// INTERIM: a minimal loader so that other modules can be built against the API;
/// the full validator replaces it.
public enum PolicyLoader {
    /// Loads every `*.json` file under `directory` (recursively, sorted by path), except
    /// `*.test.json`, and validates the merged sections.
    public static func load(directory: String) -> PolicyLoadResult {
        var permissions: [PermissionDefinition] = []
        var roles: [RoleDefinition] = []
        var organizations: [OrganizationDefinition] = []
        var settings: PolicySettings?
        var diagnostics: [Diagnostic] = []
        let fm = FileManager.default
        let files = (fm.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".json") && !$0.hasSuffix(".test.json") }
            .sorted()
        for relative in files {
            let path = directory.hasSuffix("/") ? directory + relative : directory + "/" + relative
            guard let data = fm.contents(atPath: path), let root = try? JSONParser.parse(Array(data)) else {
                diagnostics.append(Diagnostic(file: path, severity: .error, message: "cannot parse"))
                continue
            }
            for (i, p) in (root["permissions"]?.arrayValue ?? []).enumerated() {
                permissions.append(PermissionDefinition(
                    key: p["key"]?.stringValue ?? "", name: p["name"]?.stringValue,
                    description: p["description"]?.stringValue,
                    source: SourceLocation(file: path, pointer: "/permissions/\(i)")))
            }
            for (i, r) in (root["roles"]?.arrayValue ?? []).enumerated() {
                roles.append(RoleDefinition(
                    key: r["key"]?.stringValue ?? "", name: r["name"]?.stringValue,
                    description: r["description"]?.stringValue,
                    permissions: r["permissions"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                    includes: r["includes"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                    defaultForNewUsers: r["default_for_new_users"]?.boolValue ?? false,
                    source: SourceLocation(file: path, pointer: "/roles/\(i)")))
            }
            for (i, o) in (root["organizations"]?.arrayValue ?? []).enumerated() {
                organizations.append(OrganizationDefinition(
                    code: o["code"]?.stringValue ?? "", name: o["name"]?.stringValue,
                    externalID: o["external_id"]?.stringValue,
                    source: SourceLocation(file: path, pointer: "/organizations/\(i)")))
            }
            if let s = root["settings"], let code = s["default_organization"]?.stringValue {
                settings = PolicySettings(
                    defaultOrganization: code,
                    allowSelfSignup: s["allow_self_signup"]?.boolValue ?? true,
                    syncProfileOnSignIn: s["sync_profile_on_sign_in"]?.boolValue ?? true)
            }
        }
        guard let settings else {
            diagnostics.append(Diagnostic(file: directory, severity: .error, message: "missing default_organization"))
            return PolicyLoadResult(policy: nil, diagnostics: diagnostics)
        }
        let policy = PolicySet(permissions: permissions, roles: roles, organizations: organizations, settings: settings)
        return PolicyLoadResult(policy: diagnostics.hasErrors ? nil : policy, diagnostics: diagnostics)
    }
}
