import PermdCore
import PermdStore
import Testing

/// Files of Auth0's Import/Export extension (SPEC §4): its column names (`Id`, `Email`,
/// `Nickname`, `Name`, `Connection`, `Created At`, `Updated At`, ...), NDJSON or one array.
@Suite struct Auth0ExtensionTests {
    static let export = """
        [
          {"Id": "auth0|5f1", "Given Name": "Ana", "Family Name": "Ruiz", "Nickname": "ana", "Name": "Ana Ruiz",
           "Email": "ana@acme.io", "Email Verified": true, "Picture": "https://x/a.png",
           "Connection": "Username-Password-Authentication", "Created At": "2024-01-02T03:04:05.000Z",
           "Updated At": "2024-02-03T04:05:06.000Z"},
          {"Id": "google-oauth2|1093", "Nickname": "bo", "Name": "bo@beta.io", "Email": "bo@beta.io",
           "Connection": "google-oauth2", "Created At": "2024-01-02T03:04:05.000Z"}
        ]
        """

    @Test func anExtensionFileIsGuessedAsAuth0() {
        #expect(ImportFormat.guess(Array(Self.export.utf8)) == .auth0)
        #expect(ImportFormat.guess(Array(#"{"Id":"auth0|1","Email":"a@b.io","Connection":"db"}"#.utf8)) == .auth0)
        #expect(ImportFormat.guess(Array(#"[{"email":"a@b.io","user_id":"auth0|1"}]"#.utf8)) == .auth0)
        #expect(ImportFormat.guess(Array(#"[{"email":"a@b.io","identities":[{"provider":"auth0","user_id":"1"}]}]"#.utf8))
            == .auth0, "a first object without user_id is still Auth0's (its own error names the line)")
        #expect(ImportFormat.guess(Array(#"{"id":"u1","identities":[{"type":"email","identity":"a@b.io"}]}"#.utf8))
            == .kindeNDJSON)
    }

    @Test func theIdColumnIsTheUserIDAndTheOtherColumnsFillTheProfile() throws {
        let result = plan(Self.export, .auth0, file: "auth0.json")
        #expect(messages(result) == [
            #"auth0.json:2: notice: fields ignored: "Connection", "Created At", "Updated At""#,
        ])
        try #require(result.users.count == 2)
        #expect(result.users.map(\.id) == ["auth0|5f1", "google-oauth2|1093"])
        #expect(result.users[0].profile == UserProfile(email: "ana@acme.io", username: "ana", firstName: "Ana",
                                                       lastName: "Ruiz", picture: "https://x/a.png"))
        #expect(result.users[0].emailVerified == true)
        #expect(result.users[1].profile == UserProfile(email: "bo@beta.io", username: "bo"),
                "a Name that is just the email is not a first name")
        #expect(result.users.allSatisfy { $0.memberships == [MembershipRecord(organization: "org_default", roles: nil)] })
    }

    @Test func anObjectWithoutAUserIDIsAnErrorNamingItsLineNeverAGeneratedID() {
        let mixed = """
            [
              {"user_id": "auth0|1", "email": "a@b.io"},
              {"email": "c@d.io", "identities": [{"provider": "auth0", "user_id": "2"}]},
              {"Id": "auth0|3"}
            ]
            """
        let result = plan(mixed, .auth0, file: "auth0.json")
        #expect(!result.isValid)
        #expect(messages(result) == [
            #"auth0.json:3: error: an Auth0 user needs a "user_id" (or "Id"); permd does not make one up"#,
        ])
        let ndjson = plan("{\"email\":\"c@d.io\"}\n", .auth0, file: "users.ndjson")
        #expect(messages(ndjson) == [
            #"users.ndjson:1: error: an Auth0 user needs a "user_id" (or "Id"); permd does not make one up"#,
        ])
    }
}
