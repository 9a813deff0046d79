import PermdCore
import PermdPolicy
import Testing

/// Declared organizations as imports name them (SPEC §1): a code or an external id with a
/// comma could never be named in a comma-separated list, and an external id that is another
/// organization's code would send that organization's rows elsewhere.
@Suite struct OrganizationReferenceTests {
    @Test func aCommaInACodeOrAnExternalIDIsAnErrorAtItsPointer() throws {
        let organizations = #"""
            {"organizations": [
              {"code": "org_default"},
              {"code": "org,acme"},
              {"code": "org_globex", "external_id": "crm,1"}
            ]}
            """#
        let (fixture, found) = try diagnostics(["organizations.json": organizations])
        let file = fixture.path("organizations.json")
        #expect(found == [
            Diagnostic(file: file, pointer: "/organizations/1/code", severity: .error,
                       message: #"invalid organization code "org,acme": it holds a comma (imports list organizations comma-separated)"#),
            Diagnostic(file: file, pointer: "/organizations/2/external_id", severity: .error,
                       message: #"invalid external_id "crm,1": it holds a comma (imports list organizations comma-separated)"#),
        ])
    }

    @Test func anExternalIDThatIsAnotherOrganizationsCodeIsAnError() throws {
        let organizations = #"""
            {"organizations": [
              {"code": "org_default"},
              {"code": "org_acme", "external_id": "org_globex"},
              {"code": "org_globex"},
              {"code": "org_self", "external_id": "org_self"}
            ]}
            """#
        let (fixture, found) = try diagnostics(["organizations.json": organizations])
        let file = fixture.path("organizations.json")
        #expect(found == [
            Diagnostic(file: file, pointer: "/organizations/1/external_id", severity: .error,
                       message: #"external_id "org_globex" of organization "org_acme" is the code of organization "org_globex" at \#(file):/organizations/2"#),
        ])
    }
}
