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
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true, takingEmailFrom: nil,
                              result: .signedIn(user: "ana", organization: "org_acme"))),
        Row(name: "identity found, several memberships, no org", request: request(), settings: on,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a", "org_b"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true, takingEmailFrom: nil,
                              result: .select(user: "ana", organizations: ["org_a", "org_b"]))),
        Row(name: "identity found, org given and a member", request: request(org: "org_b"), settings: on,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a", "org_b"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true, takingEmailFrom: nil,
                              result: .signedIn(user: "ana", organization: "org_b"))),
        Row(name: "identity found, org given and not a member", request: request(org: "org_c"), settings: on,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a"]),
            expected: .refuse(WriteRefusal(.notMemberAtSignIn,
                                           "user \"ana\" is not a member of organization \"org_c\""))),
        Row(name: "identity found, profile sync off", request: request(), settings: noSync,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: false, takingEmailFrom: nil,
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "identity found, unverified email is irrelevant", request: request(verified: false), settings: on,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true, takingEmailFrom: nil,
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "verified email found: link the identity", request: request(), settings: on,
            found: SignInLookup(userByEmail: "ana", storedEmailVerified: true, memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: true, syncProfile: true, takingEmailFrom: nil,
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "unverified email of an existing user", request: request(verified: false), settings: on,
            found: SignInLookup(userByEmail: "ana", memberships: ["org_a"]),
            expected: .refuse(WriteRefusal(.unverifiedEmail,
                "the email is not verified and belongs to an existing user; sign in with a verified email"))),
        Row(name: "unverified email held unverified: still refused", request: request(verified: false), settings: on,
            found: SignInLookup(userByEmail: "sq", storedEmailVerified: false, memberships: ["org_a"]),
            expected: .refuse(WriteRefusal(.unverifiedEmail,
                "the email is not verified and belongs to an existing user; sign in with a verified email"))),
        Row(name: "verified email held unverified: taken, then a sign-up", request: request(), settings: on,
            found: SignInLookup(userByEmail: "sq", storedEmailVerified: false, memberships: ["org_a"]),
            expected: .signUp(organization: "org_default", takingEmailFrom: "sq")),
        Row(name: "verified email held unverified, sign-up off: refused, nothing taken", request: request(),
            settings: closed, found: SignInLookup(userByEmail: "sq", storedEmailVerified: false, memberships: ["org_a"]),
            expected: .refuse(WriteRefusal(.signUpRefused, "sign-up is by invitation only"))),
        Row(name: "identity found, its own email", request: request(), settings: on,
            found: SignInLookup(userByIdentity: "ana", userByEmail: "ana", memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true, takingEmailFrom: nil,
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "identity found, sync takes a verified email another holds unverified", request: request(), settings: on,
            found: SignInLookup(userByIdentity: "ana", userByEmail: "sq", storedEmailVerified: false, memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true, takingEmailFrom: "sq",
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "identity found, sync to an email another holds verified", request: request(), settings: on,
            found: SignInLookup(userByIdentity: "ana", userByEmail: "bo", storedEmailVerified: true, memberships: ["org_a"]),
            expected: .refuse(WriteRefusal.emailTaken("ana@acme.io", owner: "bo"))),
        Row(name: "identity found, sync of an unverified email another holds unverified", request: request(verified: false),
            settings: on,
            found: SignInLookup(userByIdentity: "ana", userByEmail: "sq", storedEmailVerified: false, memberships: ["org_a"]),
            expected: .refuse(WriteRefusal.emailTaken("ana@acme.io", owner: "sq"))),
        Row(name: "identity found, sync off: another holder of the email is irrelevant", request: request(), settings: noSync,
            found: SignInLookup(userByIdentity: "ana", userByEmail: "bo", storedEmailVerified: true, memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: false, takingEmailFrom: nil,
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "verified email found, org given and not a member", request: request(org: "org_c"), settings: on,
            found: SignInLookup(userByEmail: "ana", storedEmailVerified: true, memberships: ["org_a"]),
            expected: .refuse(WriteRefusal(.notMemberAtSignIn,
                                           "user \"ana\" is not a member of organization \"org_c\""))),
        Row(name: "not found, sign-up on", request: request(), settings: on, found: SignInLookup(),
            expected: .signUp(organization: "org_default", takingEmailFrom: nil)),
        Row(name: "not found, sign-up on, another org asked: still the default", request: request(org: "org_acme"),
            settings: on, found: SignInLookup(), expected: .signUp(organization: "org_default", takingEmailFrom: nil)),
        Row(name: "not found, unverified email nobody holds", request: request(verified: false), settings: on,
            found: SignInLookup(), expected: .signUp(organization: "org_default", takingEmailFrom: nil)),
        Row(name: "not found, sign-up off", request: request(), settings: closed, found: SignInLookup(),
            expected: .refuse(WriteRefusal(.signUpRefused, "sign-up is by invitation only"))),
        Row(name: "found while sign-up off", request: request(), settings: closed,
            found: SignInLookup(userByIdentity: "ana", memberships: ["org_a"]),
            expected: .signIn(user: "ana", linkIdentity: false, syncProfile: true, takingEmailFrom: nil,
                              result: .signedIn(user: "ana", organization: "org_a"))),
        Row(name: "found in no organization", request: request(), settings: on,
            found: SignInLookup(userByIdentity: "ana"),
            expected: .refuse(WriteRefusal(.noOrganization, "user \"ana\" belongs to no organization"))),
    ]

    @Test(arguments: rows) func decides(_ row: Row) {
        #expect(SignInDecision.decide(row.request, settings: row.settings, found: row.found) == row.expected)
    }

    @Test func aBlankEmailOrProfileValueIsDroppedBeforeDeciding() {
        let request = SignInRequest(provider: "evil", providerUserID: "1", email: " \t", emailVerified: true,
                                    profile: UserProfile(username: "", firstName: "\u{00A0}", lastName: "Ruiz"))
            .withoutBlanks()
        #expect(request.email == nil)
        #expect(request.profile == UserProfile(lastName: "Ruiz"))
        // With no email, nobody is found by one: a stranger signs up.
        #expect(SignInDecision.decide(request, settings: Self.on, found: SignInLookup())
            == .signUp(organization: "org_default", takingEmailFrom: nil))
    }
}
