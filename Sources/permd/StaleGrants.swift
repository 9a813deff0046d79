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

    mutating func organization(_ code: UnsafeRawBufferPointer) {}
    mutating func user(_ id: UnsafeRawBufferPointer) {}
    mutating func membership(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) {}

    mutating func roleAssignment(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                 role: UnsafeRawBufferPointer) {
        let role = text(role)
        guard policy.role(role) == nil else { return }
        warn("role \"\(role)\" held by user \"\(text(user))\" in \"\(text(organization))\" is not defined; it grants nothing")
    }

    mutating func directGrant(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                              permission: UnsafeRawBufferPointer) {
        let permission = text(permission)
        guard policy.permission(permission) == nil else { return }
        warn("permission \"\(permission)\" granted to user \"\(text(user))\" in \"\(text(organization))\" is not defined; it grants nothing")
    }

    private func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }

    private mutating func warn(_ message: String) {
        diagnostics.append(Diagnostic(file: file, severity: .warning, message: message))
    }
}
