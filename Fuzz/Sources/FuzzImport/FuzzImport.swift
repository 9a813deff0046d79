import PermdCore
import PermdPolicy
import PermdStore

/// The policies the planner checks imported rows against: organizations with external ids,
/// default and plain roles, a wildcard.
let policy: PolicySet = {
    let text = """
    {"permissions": [{"key": "read:invoices"}, {"key": "write:invoices"}, {"key": "delete:org"}],
     "roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true},
               {"key": "admin", "includes": ["viewer"], "permissions": ["write:invoices", "delete:org"]}],
     "organizations": [{"code": "org_default"}, {"code": "org_acme", "external_id": "acme-1"}],
     "settings": {"default_organization": "org_default"}}
    """
    var diagnostics: [Diagnostic] = []
    let document = PolicyDocument.parse(file: "policy.json", bytes: Array(text.utf8), diagnostics: &diagnostics)!
    return PolicyValidator.validate([document], directory: "policies").policy!
}()

/// An import file in any format (the format guessed as `permd import` guesses it, or the
/// organizations CSV when its header says so), read and planned: no input may crash, and
/// a plan with no error names only known organizations, roles and permissions.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if OrganizationsCSVFormat.recognizes(bytes) {
        _ = OrganizationsCSVFormat.parse(bytes, file: "orgs.csv")
        return 0
    }
    let rows = ImportFormat.guess(bytes).parse(bytes, file: "users")
    let plan = ImportPlanner(policy: policy, organizations: [], file: "users").plan(rows)
    if !plan.diagnostics.contains(where: { $0.severity == .error }) {
        for user in plan.users {
            for membership in user.memberships {
                precondition(["org_default", "org_acme"].contains(membership.organization), "an unknown organization planned")
                for role in membership.roles ?? [] { precondition(policy.role(role) != nil, "an unknown role planned") }
                for permission in membership.permissions { precondition(policy.permission(permission) != nil, "an unknown permission planned") }
            }
        }
    }
    return 0
}
