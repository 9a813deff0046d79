import PermdCore
import PermdPolicy
@testable import PermdStore
import Testing

/// SPEC §5 SIGNIN as a decision table over the pure function.
@Suite struct SignInDecisionTests {
    struct Row: Sendable, CustomStringConvertible {
        var name: String
        var request: SignInRequest
        var settings: PolicySettings
        var found: SignInLookup
        var expected: SignInAction
        var description: String { name }
    }

    static let on = PolicySettings(defaultOrganization: "org_default")
    static let closed = PolicySettings(defaultOrganization: "org_default", allowSelfSignup: false)
    static let noSync = PolicySettings(defaultOrganization: "org_default", syncProfileOnSignIn: false)

    static func request(email: String? = "ana@acme.io", verified: Bool = true, org: String? = nil) -> SignInRequest {
        SignInRequest(provider: "google", providerUserID: "1093", email: email, emailVerified: verified, organization: org)
    }

    static let rows: [Row] = [
        Row(name: "identity found, one membership", request: request(), settings: on,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_acme"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true,
                              result: .signedIn(user: "ana", organization: "org_acme"))),
        Row(name: "identity found, several memberships, no org", request: request(), settings: on,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a", "org_b"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true,
                              result: .select(user: "ana", organizations: ["org_a", "org_b"]))),
        Row(name: "identity found, org given and a member", request: request(org: "org_b"), settings: on,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a", "org_b"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true,
                              result: .signedIn(user: "ana", organization: "org_b"))),
        Row(name: "identity found, org given and not a member", request: request(org: "org_c"), settings: on,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a"]),
            expected: .refuse(WriteRefusal(.notMemberAtSignIn,
                                           "user \"ana\" is not a member of organization \"org_c\""))),
        Row(name: "identity found, profile sync off", request: request(), settings: noSync,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: false,
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "identity found, unverified email is irrelevant", request: request(verified: false), settings: on,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true,
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "verified email found: link the identity", request: request(), settings: on,
            found: SignInLookup(userByEmail: "ana", memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: true, syncProfile: true,
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "unverified email of an existing user", request: request(verified: false), settings: on,
            found: SignInLookup(userByEmail: "ana", memberships: ["org_a"]),
            expected: .refuse(WriteRefusal(.unverifiedEmail,
                "the email is not verified and belongs to an existing user; sign in with a verified email"))),
        Row(name: "not found, sign-up on", request: request(), settings: on, found: SignInLookup(),
            expected: .signUp(organization: "org_default")),
        Row(name: "not found, sign-up on, another org asked: still the default", request: request(org: "org_acme"),
            settings: on, found: SignInLookup(), expected: .signUp(organization: "org_default")),
        Row(name: "not found, unverified email nobody holds", request: request(verified: false), settings: on,
            found: SignInLookup(), expected: .signUp(organization: "org_default")),
        Row(name: "not found, sign-up off", request: request(), settings: closed, found: SignInLookup(),
            expected: .refuse(WriteRefusal(.signUpRefused, "sign-up is by invitation only"))),
        Row(name: "found while sign-up off", request: request(), settings: closed,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true,
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "found in no organization", request: request(), settings: on,
            found: SignInLookup(userByIdentity: "ana"),
            expected: .refuse(WriteRefusal(.noOrganization, "user \"ana\" belongs to no organization"))),
    ]

    @Test(arguments: rows) func decides(_ row: Row) {
        #expect(SignInDecision.decide(row.request, settings: row.settings, found: row.found) == row.expected)
    }
}
