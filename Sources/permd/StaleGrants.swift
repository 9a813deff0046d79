import PermdCore
import PermdPolicy

/// Collects the grants in the database that the policies no longer define: roles and
/// direct permissions that were removed from the policy files. They grant nothing, and
/// `permd validate --db` reports them as warnings (SPEC §2).
struct StaleGrantFinder: StateSink {
    let policy: PolicySet
    let file: String
    private(set) var diagnostics: [Diagnostic] = []

    init(policy: PolicySet, file: String) {
        self.policy = policy
        self.file = file
    }

    mutating func organization(_ code: String) {}
    mutating func user(_ id: String) {}
    mutating func membership(user: String, organization: String) {}

    mutating func roleAssignment(user: String, organization: String, role: String) {
        guard policy.role(role) == nil else { return }
        warn("role \"\(role)\" held by user \"\(user)\" in \"\(organization)\" is not defined; it grants nothing")
    }

    mutating func directGrant(user: String, organization: String, permission: String) {
        guard policy.permission(permission) == nil else { return }
        warn("permission \"\(permission)\" granted to user \"\(user)\" in \"\(organization)\" is not defined; it grants nothing")
    }

    private mutating func warn(_ message: String) {
        diagnostics.append(Diagnostic(file: file, severity: .warning, message: message))
    }
}
