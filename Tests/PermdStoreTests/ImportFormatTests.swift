import PermdCore
import PermdPolicy
import PermdStore
import Testing

/// A small policy set: two roles (viewer is a default role), three permissions, two
/// declared organizations besides the default one.
func importTestPolicy() -> PolicySet {
    let here = SourceLocation(file: "test.json", pointer: "")
    return PolicySet(
        permissions: ["read:invoices", "write:invoices", "refund:payments"].map {
            PermissionDefinition(key: $0, source: here)
        },
        roles: [
            RoleDefinition(key: "viewer", permissions: ["read:invoices"], defaultForNewUsers: true, source: here),
            RoleDefinition(key: "admin", permissions: ["*"], source: here),
        ],
        organizations: [
            OrganizationDefinition(code: "org_default", source: here),
            OrganizationDefinition(code: "org_acme", externalID: "acme-123", source: here),
            OrganizationDefinition(code: "org_beta", source: here),
        ],
        settings: PolicySettings(defaultOrganization: "org_default"))
}

/// Parses and plans `text` as `format` against the test policy.
func plan(_ text: String, _ format: ImportFormat = .kindeCSV, file: String = "users.csv") -> ImportPlan {
    let rows = format.parse(Array(text.utf8), file: file)
    return ImportPlanner(policy: importTestPolicy(), organizations: [], file: file).plan(rows)
}

/// The printed diagnostics of a plan.
func messages(_ plan: ImportPlan) -> [String] {
    plan.diagnostics.map(\.description)
}

@Test func kindeCSVRowsBecomeUsers() {
    let result = plan("""
        id,email,first_name,last_name,external_organization_id,role_key,permission_key
        u1,ana@acme.io,Ana,Ruiz,"acme-123,org_beta","admin,viewer",refund:payments
        u2,bo@beta.io,Bo,,,,

        """)
    #expect(messages(result) == [])
    #expect(result.users.count == 2)
    let ana = result.users[0]
    #expect(ana.id == "u1")
    #expect(ana.line == 2)
    #expect(ana.profile == UserProfile(email: "ana@acme.io", firstName: "Ana", lastName: "Ruiz"))
    #expect(ana.memberships == [
        MembershipRecord(organization: "org_acme", roles: ["admin", "viewer"], permissions: ["refund:payments"]),
        MembershipRecord(organization: "org_beta", roles: ["admin", "viewer"], permissions: ["refund:payments"]),
    ])
    // Empty organization: the default one; empty role_key: nil (the default roles if new).
    #expect(result.users[1].memberships == [MembershipRecord(organization: "org_default", roles: nil)])
    #expect(result.users[1].profile.lastName == nil)
}

@Test func kindeCSVHeaderIsCaseInsensitiveWithAliases() {
    let result = plan("""
        Provided_ID,EMAIL,Roles,Permissions,External_Organization_ID
        u1,a@b.io,admin,write:invoices,org_acme

        """)
    #expect(messages(result) == [])
    #expect(result.users.first?.id == "u1")
    #expect(result.users.first?.memberships == [
        MembershipRecord(organization: "org_acme", roles: ["admin"], permissions: ["write:invoices"]),
    ])
}

@Test func passwordColumnsGiveOneNotice() {
    let result = plan("""
        email,hashed_password,hashing_method,salt
        a@b.io,xyz,bcrypt,s1
        c@d.io,abc,bcrypt,s2

        """)
    #expect(result.isValid)
    #expect(messages(result) == [
        "users.csv:1: notice: password columns ignored (permd does not store password hashes): hashed_password, hashing_method, salt",
    ])
    #expect(result.users.count == 2)
}

@Test func unknownAndRepeatedColumnsAreErrors() {
    let unknown = plan("id,emial,colour\nu1,a@b.io,red\n")
    #expect(!unknown.isValid)
    #expect(messages(unknown).first?.hasPrefix("users.csv:1: error: unknown columns \"emial\", \"colour\"") == true)
    let repeated = plan("id,provided_id\nu1,u1\n")
    #expect(messages(repeated) == ["users.csv:1: error: columns \"id\" and \"provided_id\" name the same field; keep one"])
}

@Test func emptyFileAndHeaderWithoutRowsAreErrors() {
    #expect(messages(plan("")) == [
        "users.csv:1: error: the file is empty (expected a header row such as \"id,email,external_organization_id,role_key\")",
    ])
    #expect(messages(plan("id,email\n")) == ["users.csv:1: error: no rows after the header: nothing to import"])
    #expect(messages(plan("", .kindeNDJSON, file: "u.ndjson")) == ["u.ndjson:1: error: the file is empty"])
    #expect(messages(plan("[]", .auth0, file: "u.json")) == ["u.json:1: error: no users in the file: nothing to import"])
}

@Test func malformedRowsAreReportedWithTheirLines() {
    let result = plan("""
        id,email,external_organization_id,role_key
        u1,a@b.io,org_acme,admin
        u2,c@d.io,org_acme
        u3,e@f.io,org_acme,admin,extra
        u 4,g@h.io,,
        u5,not-an-email,,
        u6,i@j.io,acme-999,admn
        u7,k@l.io,org_beta,viewer,
        u8,m@n.io,,"viewer
        """)
    #expect(messages(result) == [
        "users.csv:3: error: too few fields: 3, but the header has 4",
        "users.csv:4: error: too many fields: 5, but the header has 4",
        "users.csv:5: error: invalid user id \"u 4\": holds a space or a byte outside printable ASCII",
        "users.csv:6: error: invalid email \"not-an-email\": needs exactly one @",
        "users.csv:7: error: unknown organization \"acme-999\" (no organization has it as external_id or code)",
        "users.csv:7: error: unknown role \"admn\" (did you mean \"admin\"?)",
        "users.csv:8: error: too many fields: 5, but the header has 4",
        "users.csv:9: error: unclosed quote: the quoted field that starts here runs to the end of the file",
    ])
    #expect(!result.isValid)
}

@Test func controlBytesInIDsAndUnknownPermissionsAreErrors() {
    let result = plan("id,email,permission_key\n\"u\u{01}1\",a@b.io,\nu2,c@d.io,read:invoice\n,,\n")
    #expect(messages(result) == [
        "users.csv:2: error: invalid user id \"u\u{01}1\": holds a space or a byte outside printable ASCII",
        "users.csv:3: error: unknown permission \"read:invoice\" (did you mean \"read:invoices\"?)",
        "users.csv:4: error: a user needs at least one of id, email, phone, username",
    ])
}

@Test func invalidBooleanIsAnError() {
    #expect(messages(plan("email,email_verified\na@b.io,maybe\n")) == [
        "users.csv:2: error: email_verified must be true or false, not \"maybe\"",
    ])
    #expect(plan("email,email_verified\na@b.io,TRUE\n").users.first?.emailVerified == true)
}

@Test func noRolesMarkerIsAnExplicitEmptyList() {
    let result = plan("id,external_organization_id,role_key\nu1,org_acme,(none)\n")
    #expect(result.users.first?.memberships == [MembershipRecord(organization: "org_acme", roles: [])])
    #expect(messages(plan("id,role_key\nu1,\"(none),admin\"\n")) == [
        "users.csv:2: error: role_key \"(none)\" (no roles) cannot be combined with roles",
    ])
}

@Test func formatIsGuessedFromTheContent() {
    #expect(ImportFormat.guess(Array("id,email\nu1,a@b.io\n".utf8)) == .kindeCSV)
    #expect(ImportFormat.guess(Array("\u{FEFF}  {\"id\":\"u1\"}\n".utf8)) == .kindeNDJSON)
    #expect(ImportFormat.guess(Array("{\"user_id\":\"auth0|1\"}\n".utf8)) == .auth0)
    #expect(ImportFormat.guess(Array("[\n {\"user_id\": \"auth0|1\", \"email\": \"a@b.io\"}\n]".utf8)) == .auth0)
    #expect(ImportFormat.guess(Array("[{\"id\": \"u1\"}]".utf8)) == .kindeNDJSON)
    #expect(ImportFormat.guess([]) == .kindeCSV)
}

@Test func kindeNDJSONSample() {
    let text = """
        {"id":"u1","first_name":"Ana","last_name":"Ruiz","created_on":"2024-01-01","identities":[{"type":"email","identity":"ana@acme.io","is_verified":true},{"type":"oauth2:google","identity":"1093"},{"type":"username","identity":"ana"}],"organizations":[{"external_id":"acme-123","roles":["admin"],"permissions":["refund:payments"]},{"external_id":"org_beta","roles":[]}]}

        {"id":"u2","identities":[{"type":"phone","identity":"+34600000000","is_verified":false}],"last_login":"x"}
        """
    let result = plan(text, .kindeNDJSON, file: "u.ndjson")
    #expect(messages(result) == ["u.ndjson:1: notice: fields ignored: \"created_on\", \"last_login\""])
    #expect(result.users.count == 2)
    let ana = result.users[0]
    #expect(ana.profile == UserProfile(email: "ana@acme.io", username: "ana", firstName: "Ana", lastName: "Ruiz"))
    #expect(ana.emailVerified == true)
    #expect(ana.identities == [Identity(provider: "google", providerUserID: "1093")])
    #expect(ana.memberships == [
        MembershipRecord(organization: "org_acme", roles: ["admin"], permissions: ["refund:payments"]),
        MembershipRecord(organization: "org_beta", roles: []),
    ])
    #expect(result.users[1].line == 3)
    #expect(result.users[1].profile.phone == "+34600000000")
    #expect(result.users[1].phoneVerified == false)
    #expect(result.users[1].memberships == [MembershipRecord(organization: "org_default", roles: nil)])
}

@Test func kindeNDJSONErrorsHaveLinesAndPointers() {
    let text = """
        {"id":"u1","organizations":[{"external_id":"nope"}]}
        {"id": 7}
        {"id":"u3",
        ["not","an","object"]
        {"id":"u5","identities":[{"type":"email"}],"organizations":[{"roles":"admin"}]}
        """
    #expect(messages(plan(text, .kindeNDJSON, file: "u.ndjson")) == [
        "u.ndjson:1: error: unknown organization \"nope\" (no organization has it as external_id or code)",
        "u.ndjson:2:/id: error: \"id\" must be a string, not an integer",
        "u.ndjson:3:11: error: invalid JSON: string or '}' expected near end of file",
        "u.ndjson:4: error: expected a JSON object for a user, found an array",
        "u.ndjson:5:/identities/0: error: identity of type \"email\" has no \"identity\"",
        "u.ndjson:5:/organizations/0/roles: error: \"roles\" must be an array of strings, not a string",
    ])
}

@Test func auth0NDJSONAndArraySamples() {
    let ndjson = """
        {"user_id":"auth0|5f1","email":"ana@acme.io","email_verified":true,"given_name":"Ana","family_name":"Ruiz","name":"Ana Ruiz","nickname":"ana","picture":"https://x/a.png","identities":[{"provider":"auth0","user_id":"5f1","connection":"Username-Password-Authentication","isSocial":false}],"logins_count":3}
        {"user_id":"google-oauth2|1093","email":"bo@beta.io","name":"Bo Li","identities":[{"provider":"google-oauth2","user_id":1093,"connection":"google-oauth2"}]}
        """
    let result = plan(ndjson, .auth0, file: "auth0.json")
    #expect(messages(result) == ["auth0.json:1: notice: fields ignored: \"logins_count\""])
    #expect(result.users.map(\.id) == ["auth0|5f1", "google-oauth2|1093"])
    #expect(result.users[0].profile == UserProfile(
        email: "ana@acme.io", username: "ana", firstName: "Ana", lastName: "Ruiz", picture: "https://x/a.png"))
    #expect(result.users[0].identities == [Identity(provider: "auth0", providerUserID: "5f1")])
    #expect(result.users[1].profile.firstName == "Bo Li")
    #expect(result.users[1].identities == [Identity(provider: "google-oauth2", providerUserID: "1093")])
    #expect(result.users.allSatisfy { $0.memberships == [MembershipRecord(organization: "org_default", roles: nil)] })

    let array = "[\n  {\"user_id\": \"a|1\", \"email\": \"a@b.io\"},\n  {\"user_id\": \"a|2\",\n   \"email\": \"c@d.io\"},\n  {\"user_id\": \"a 3\"}\n]\n"
    let fromArray = plan(array, .auth0, file: "auth0.json")
    #expect(fromArray.users.map(\.line) == [2, 3])
    #expect(messages(fromArray) == ["auth0.json:5: error: invalid user id \"a 3\": holds a space or a byte outside printable ASCII"])
}

@Test func unclosedJSONArrayIsAnError() {
    let result = plan("[{\"user_id\":\"a|1\"},\n{\"user_id\":\"a|2\"}", .auth0, file: "a.json")
    #expect(messages(result) == ["a.json:2: error: invalid JSON: the array is not closed with ']'"])
}
