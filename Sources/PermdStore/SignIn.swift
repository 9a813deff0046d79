public import PermdCore
public import PermdPolicy

/// What the store found for a sign-in request, before deciding.
public struct SignInLookup: Sendable, Equatable {
    /// The user holding the request's identity.
    public var userByIdentity: String?
    /// The user holding the request's email (compared case-insensitively), looked up
    /// only when no user holds the identity.
    public var userByEmail: String?
    /// The organizations of the user found (by identity, else by email), sorted.
    public var memberships: [String]

    /// - Parameters: see each property.
    public init(userByIdentity: String? = nil, userByEmail: String? = nil, memberships: [String] = []) {
        self.userByIdentity = userByIdentity
        self.userByEmail = userByEmail
        self.memberships = memberships
    }
}

/// What the store does for a sign-in: the outcome of `SignInDecision.decide`.
public enum SignInAction: Sendable, Equatable {
    /// Refuse; store nothing.
    case refuse(WriteRefusal)
    /// An existing user signs in: link the identity when found by email, sync the profile
    /// when the settings say so, record the time, and answer `result`.
    case signIn(user: String, linkIdentity: Bool, syncProfile: Bool, result: SignInResult)
    /// Create a user (generated id) with the identity and profile, in `organization` with the default roles.
    case signUp(organization: String)
}

/// The sign-in rules of SPEC §5, free of I/O so that every branch is tested directly.
public enum SignInDecision {
    /// Decides what a sign-in does, given the settings and what the store found.
    public static func decide(_ request: SignInRequest, settings: PolicySettings, found: SignInLookup) -> SignInAction {
        let user: String
        let linkIdentity: Bool
        if let byIdentity = found.userByIdentity {
            user = byIdentity
            linkIdentity = false
        } else if let byEmail = found.userByEmail {
            guard request.emailVerified else {
                return .refuse(WriteRefusal(.unverifiedEmail,
                    "the email is not verified and belongs to an existing user; sign in with a verified email"))
            }
            user = byEmail
            linkIdentity = true
        } else {
            guard settings.allowSelfSignup else {
                return .refuse(WriteRefusal(.signUpRefused, "sign-up is by invitation only"))
            }
            return .signUp(organization: settings.defaultOrganization)
        }

        let result: SignInResult
        if let organization = request.organization {
            guard found.memberships.contains(organization) else {
                return .refuse(WriteRefusal(.notMemberAtSignIn,
                    "user \"\(user)\" is not a member of organization \"\(organization)\""))
            }
            result = .signedIn(user: user, organization: organization)
        } else if found.memberships.count == 1 {
            result = .signedIn(user: user, organization: found.memberships[0])
        } else if found.memberships.isEmpty {
            // The invariants rule this out; refuse rather than sign in nowhere.
            return .refuse(WriteRefusal(.noOrganization, "user \"\(user)\" belongs to no organization"))
        } else {
            result = .select(user: user, organizations: found.memberships)
        }
        return .signIn(user: user, linkIdentity: linkIdentity, syncProfile: settings.syncProfileOnSignIn,
                       result: result)
    }
}
