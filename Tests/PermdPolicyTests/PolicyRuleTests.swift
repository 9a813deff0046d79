import Foundation
import PermdCore
import PermdPolicy
import Testing

/// Each rule of SPEC §2, broken once, with the exact diagnostic it gives.
@Suite struct PolicyRuleTests {
    /// Loads the base set with `changes` and expects exactly `expected` (built from the fixture).
    private func expect(_ changes: [String: String?],
                        _ expected: (PolicyFixture) -> [Diagnostic],
                        sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let fixture = try PolicyFixture(changes)
        defer { fixture.remove() }
        let result = fixture.load()
        #expect(result.diagnostics == expected(fixture), sourceLocation: sourceLocation)
        #expect((result.policy == nil) == expected(fixture).hasErrors, sourceLocation: sourceLocation)
    }

    private func error(_ fixture: PolicyFixture, _ file: String, _ pointer: String, _ message: String) -> Diagnostic {
        Diagnostic(file: fixture.path(file), pointer: pointer, severity: .error, message: message)
    }

    private func warning(_ fixture: PolicyFixture, _ file: String, _ pointer: String, _ message: String) -> Diagnostic {
        Diagnostic(file: fixture.path(file), pointer: pointer, severity: .warning, message: message)
    }

    @Test func baseSetIsValid() throws {
        let fixture = try PolicyFixture()
        defer { fixture.remove() }
        let result = fixture.load()
        #expect(result.diagnostics == [])
        let policy = try #require(result.policy)
        #expect(policy.permissions.map(\.key) == ["read:invoices", "write:invoices"])
        #expect(policy.grantsByRole["editor"] == ["read:invoices", "write:invoices"])
        #expect(policy.defaultRoles == ["viewer"])
        #expect(policy.settings.defaultOrganization == "org_default")
        #expect(policy.settings.allowSelfSignup && policy.settings.syncProfileOnSignIn)
        #expect(policy.permission("read:invoices")?.source == PermdPolicy.SourceLocation(
            file: fixture.path("permissions.json"), pointer: "/permissions/0"))
    }

    // MARK: Unique keys

    @Test func duplicatePermissionAcrossFilesNamesTheEarlierDefinition() throws {
        try expect(["z-more.json": #"{"permissions": [{"key": "write:invoices"}]}"#]) { f in
            [error(f, "z-more.json", "/permissions/0/key",
                   #"duplicate permission "write:invoices": first defined at \#(f.path("permissions.json")):/permissions/1"#)]
        }
    }

    @Test func duplicateRoleAcrossFiles() throws {
        try expect(["z-more.json": #"{"roles": [{"key": "viewer", "permissions": ["*"]}]}"#]) { f in
            [error(f, "z-more.json", "/roles/0/key",
                   #"duplicate role "viewer": first defined at \#(f.path("roles.json")):/roles/0"#)]
        }
    }

    @Test func duplicateOrganizationAndExternalID() throws {
        let organizations = """
            {"organizations": [
              {"code": "org_default"},
              {"code": "org_acme", "external_id": "crm-1"},
              {"code": "org_acme"},
              {"code": "org_globex", "external_id": "crm-1"}
            ]}
            """
        try expect(["organizations.json": organizations]) { f in
            [error(f, "organizations.json", "/organizations/2/code",
                   #"duplicate organization "org_acme": first declared at \#(f.path("organizations.json")):/organizations/1"#),
             error(f, "organizations.json", "/organizations/3/external_id",
                   #"duplicate external_id "crm-1": already used by organization "org_acme" at \#(f.path("organizations.json")):/organizations/1"#)]
        }
    }

    // MARK: Key syntax

    @Test func invalidKeysAndCodes() throws {
        try expect([
            "permissions.json": #"{"permissions": [{"key": "read:invoices"}, {"key": "write:invoices"}, {"key": "read invoices"}, {"key": ""}]}"#,
            "organizations.json": #"{"organizations": [{"code": "org_default"}, {"code": "org acme"}, {"code": "org_x", "external_id": ""}]}"#,
            "z-roles.json": #"{"roles": [{"key": "admin*", "permissions": ["*"]}]}"#,
        ]) { f in
            [error(f, "organizations.json", "/organizations/1/code",
                   #"invalid organization code "org acme": it holds a space or a byte outside printable ASCII"#),
             error(f, "organizations.json", "/organizations/2/external_id", #"invalid external_id "": it is empty"#),
             error(f, "permissions.json", "/permissions/2/key",
                   #"invalid permission key "read invoices": it may hold only A-Z a-z 0-9 _ - . : /"#),
             error(f, "permissions.json", "/permissions/3/key", #"invalid permission key "": it is empty"#),
             error(f, "z-roles.json", "/roles/0/key", #"invalid role key "admin*": it may hold only A-Z a-z 0-9 _ - . : /"#)]
        }
    }

    @Test func overlongKey() throws {
        let key = String(repeating: "a", count: 129)
        try expect(["z-more.json": #"{"permissions": [{"key": "\#(key)"}]}"#]) { f in
            [error(f, "z-more.json", "/permissions/0/key", #"invalid permission key "\#(key)": it is longer than 128 bytes"#)]
        }
    }

    // MARK: Role permissions

    @Test func unknownPermissionSuggestsTheClosestKey() throws {
        try expect(["roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:invoices", "read:invoice"]}, {"key": "editor", "permissions": ["write:invoices"]}]}"#]) { f in
            [error(f, "roles.json", "/roles/0/permissions/1",
                   #"unknown permission "read:invoice" (did you mean "read:invoices"?)"#)]
        }
    }

    @Test func unknownPermissionWithNothingClose() throws {
        try expect(["roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:invoices", "delete:org"]}, {"key": "editor", "permissions": ["write:invoices"]}]}"#]) { f in
            [error(f, "roles.json", "/roles/0/permissions/1", #"unknown permission "delete:org""#)]
        }
    }

    @Test func wildcardsAndTheirWarnings() throws {
        try expect(["roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:*", "delete:*"]}, {"key": "owner", "permissions": ["*"]}]}"#]) { f in
            [warning(f, "roles.json", "/roles/0/permissions/1", #"wildcard "delete:*" matches no permission"#)]
        }
    }

    @Test func malformedPatterns() throws {
        try expect(["roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:invoices", "re*d:invoices", "**", "read :*"]}, {"key": "editor", "permissions": ["write:invoices"]}]}"#]) { f in
            [error(f, "roles.json", "/roles/0/permissions/1", #"invalid permission pattern "re*d:invoices": "*" may only end a pattern"#),
             error(f, "roles.json", "/roles/0/permissions/2", #"invalid permission pattern "**": "*" may only end a pattern"#),
             error(f, "roles.json", "/roles/0/permissions/3",
                   #"invalid permission pattern "read :*": it may hold only A-Z a-z 0-9 _ - . : /"#)]
        }
    }

    // MARK: Includes

    @Test func unknownIncludedRole() throws {
        try expect(["roles.json": #"{"roles": [{"key": "viewer", "permissions": ["read:invoices"]}, {"key": "editor", "includes": ["viewr"], "permissions": ["write:invoices"]}]}"#]) { f in
            [error(f, "roles.json", "/roles/1/includes/0", #"unknown role "viewr" (did you mean "viewer"?)"#)]
        }
    }

    @Test func includesCycleNamesTheRoles() throws {
        let roles = """
            {"roles": [
              {"key": "viewer", "permissions": ["read:invoices"]},
              {"key": "editor", "includes": ["viewer", "lead"], "permissions": ["write:invoices"]},
              {"key": "lead", "includes": ["manager"]},
              {"key": "manager", "includes": ["editor"]}
            ]}
            """
        try expect(["roles.json": roles]) { f in
            [error(f, "roles.json", "/roles/1/includes/1", #"includes cycle: "editor" -> "lead" -> "manager" -> "editor""#)]
        }
    }

    @Test func selfInclusionIsACycle() throws {
        try expect(["roles.json": #"{"roles": [{"key": "viewer", "includes": ["viewer"], "permissions": ["*"]}]}"#]) { f in
            [error(f, "roles.json", "/roles/0/includes/0", #"includes cycle: "viewer" -> "viewer""#)]
        }
    }

    // MARK: Settings

    @Test func settingsTwice() throws {
        try expect(["z-more.json": #"{"settings": {"default_organization": "org_default"}}"#]) { f in
            [error(f, "z-more.json", "/settings",
                   #"duplicate "settings" section: first defined at \#(f.path("settings.json")):/settings"#)]
        }
    }

    @Test func missingSettingsIsAMissingDefaultOrganization() throws {
        try expect(["settings.json": nil]) { f in
            [Diagnostic(file: f.directory, severity: .error,
                        message: #"missing "default_organization": no policy file has a "settings" section"#)]
        }
    }

    @Test func missingDefaultOrganization() throws {
        try expect(["settings.json": #"{"settings": {"allow_self_signup": false}}"#]) { f in
            [error(f, "settings.json", "/settings", #"missing "default_organization" in settings"#)]
        }
    }

    @Test func undeclaredDefaultOrganization() throws {
        try expect(["settings.json": #"{"settings": {"default_organization": "org_defualt"}}"#]) { f in
            [error(f, "settings.json", "/settings/default_organization",
                   #"default organization "org_defualt" is not a declared organization (did you mean "org_default"?)"#)]
        }
    }

    @Test func settingsValuesAreRead() throws {
        let fixture = try PolicyFixture(["settings.json": #"{"settings": {"default_organization": "org_default", "allow_self_signup": false, "sync_profile_on_sign_in": false}}"#])
        defer { fixture.remove() }
        let settings = try #require(fixture.load().policy).settings
        #expect(!settings.allowSelfSignup && !settings.syncProfileOnSignIn)
    }

    // MARK: Unknown names and wrong types

    @Test func unknownSectionSuggestsTheClosest() throws {
        try expect(["z-more.json": #"{"permisions": [], "groups": []}"#]) { f in
            [error(f, "z-more.json", "/permisions", #"unknown section "permisions" (did you mean "permissions"?)"#),
             error(f, "z-more.json", "/groups", #"unknown section "groups""#)]
        }
    }

    @Test func unknownFieldsSuggestTheClosest() throws {
        try expect([
            "z-more.json": #"{"permissions": [{"key": "export:invoices", "descripton": "x"}], "settings": {"default_organisation": "org_default"}}"#,
            "roles.json": #"{"roles": [{"key": "viewer", "permissions": ["*"], "default_for_new_user": true}]}"#,
            "settings.json": nil,
        ]) { f in
            [error(f, "roles.json", "/roles/0/default_for_new_user",
                   #"unknown field "default_for_new_user" in a role (did you mean "default_for_new_users"?)"#),
             error(f, "z-more.json", "/permissions/0/descripton",
                   #"unknown field "descripton" in a permission (did you mean "description"?)"#),
             error(f, "z-more.json", "/settings", #"missing "default_organization" in settings"#),
             error(f, "z-more.json", "/settings/default_organisation",
                   #"unknown field "default_organisation" in settings (did you mean "default_organization"?)"#)]
        }
    }

    @Test func wrongTypes() throws {
        try expect([
            "z-more.json": """
                {"permissions": {"key": "x"},
                 "roles": [{"key": "r", "name": 7, "permissions": "read:*", "includes": ["viewer", 3],
                            "default_for_new_users": "yes"}, "admin"],
                 "organizations": [{"code": 42}]}
                """,
        ]) { f in
            [error(f, "z-more.json", "/permissions", #""permissions" must be an array, found an object {"key":"x"}"#),
             error(f, "z-more.json", "/roles/0/name", #""name" must be a string, found an integer 7"#),
             error(f, "z-more.json", "/roles/0/permissions", #""permissions" must be an array of strings, found a string "read:*""#),
             error(f, "z-more.json", "/roles/0/includes/1", #"an entry of "includes" must be a string, found an integer 3"#),
             error(f, "z-more.json", "/roles/0/default_for_new_users", #""default_for_new_users" must be a boolean, found a string "yes""#),
             error(f, "z-more.json", "/roles/1", #"a role must be an object, found a string "admin""#),
             error(f, "z-more.json", "/organizations/0/code", #""code" must be a string, found an integer 42"#)]
        }
    }

    @Test func missingKey() throws {
        try expect(["z-more.json": #"{"permissions": [{"name": "Nameless"}]}"#]) { f in
            [error(f, "z-more.json", "/permissions/0", #"missing "key" in a permission"#)]
        }
    }

    // MARK: Warnings

    @Test func permissionNoRoleGrantsAndRoleGrantingNothing() throws {
        try expect([
            "z-more.json": #"{"permissions": [{"key": "export:invoices"}], "roles": [{"key": "empty"}, {"key": "hollow", "includes": ["empty"]}]}"#,
        ]) { f in
            [warning(f, "z-more.json", "/permissions/0", #"permission "export:invoices" is not granted by any role"#),
             warning(f, "z-more.json", "/roles/0", #"role "empty" grants no permission"#),
             warning(f, "z-more.json", "/roles/1", #"role "hollow" grants no permission"#)]
        }
    }

    // MARK: Order

    @Test func diagnosticsFollowFilesThenDocumentOrder() throws {
        let entries = (0..<12).map { #"{"key": "r\#($0)", "permissions": ["nope:\#($0)"]}"# }.joined(separator: ",")
        let fixture = try PolicyFixture([
            "z-more.json": #"{"settings": {"default_organization": "org_default"}, "roles": [\#(entries)]}"#,
            "a-first.json": #"{"bogus": 1}"#,
        ])
        defer { fixture.remove() }
        let places = fixture.load().diagnostics.map { "\($0.file.dropFirst(fixture.directory.count + 1)):\($0.pointer)" }
        #expect(places == ["a-first.json:/bogus", "z-more.json:/settings"]
            + (0..<12).flatMap { ["z-more.json:/roles/\($0)", "z-more.json:/roles/\($0)/permissions/0"] })
    }
}
