public import PermdCore
public import PermdPolicy

/// What the store found for a sign-in request, before deciding.
public struct SignInLookup: Sendable, Equatable {
    /// The user holding the request's identity.
    public var userByIdentity: String?
    /// The user holding the request's email (compared case-insensitively), whoever else is found.
    public var userByEmail: String?
    /// Whether `userByEmail` holds the email verified.
    public var storedEmailVerified: Bool
    /// The organizations of the user found by identity, else of `userByEmail`, sorted.
    public var memberships: [String]

    /// - Parameters: see each property.
    public init(userByIdentity: String? = nil, userByEmail: String? = nil, storedEmailVerified: Bool = true,
                memberships: [String] = []) {
        self.userByIdentity = userByIdentity
        self.userByEmail = userByEmail
        self.storedEmailVerified = storedEmailVerified
        self.memberships = memberships
    }
}

/// What the store does for a sign-in: the outcome of `SignInDecision.decide`.
public enum SignInAction: Sendable, Equatable {
    /// Refuse; store nothing.
    case refuse(WriteRefusal)
    /// An existing user signs in: take the email from `takingEmailFrom` first when set, link
    /// the identity when found by email, sync the profile when the settings say so, record the
    /// time, and answer `result`.
    case signIn(user: String, linkIdentity: Bool, syncProfile: Bool, takingEmailFrom: String?, result: SignInResult)
    /// Create a user (generated id) with the identity and profile, in `organization` with the
    /// default roles; first take the email from `takingEmailFrom` when set.
    case signUp(organization: String, takingEmailFrom: String?)
}

/// The sign-in rules of SPEC §5, free of I/O so that every branch is tested directly.
///
/// A user is found by email only when the request's email is verified and so is the stored
/// one: an address nobody has proven cannot reach an account, and an account cannot keep an
/// address it never proved once its owner proves it (the pre-account takeover).
public enum SignInDecision {
    /// Decides what a sign-in does, given the settings and what the store found. The request's
    /// blank values must already be dropped (`SignInRequest.withoutBlanks`).
    public static func decide(_ request: SignInRequest, settings: PolicySettings, found: SignInLookup) -> SignInAction {
        let user: String
        let linkIdentity: Bool
        var takingEmailFrom: String?
        if let byIdentity = found.userByIdentity {
            user = byIdentity
            linkIdentity = false
            // A profile sync gives the user the request's email: another holder gives it up only
            // to a verified claim of an address it holds unverified.
            if settings.syncProfileOnSignIn, let email = request.email, let holder = found.userByEmail, holder != user {
                guard request.emailVerified && !found.storedEmailVerified else {
                    return .refuse(WriteRefusal.emailTaken(email, owner: holder))
                }
                takingEmailFrom = holder
            }
        } else if let holder = found.userByEmail {
            guard request.emailVerified else {
                return .refuse(WriteRefusal(.unverifiedEmail,
                    "the email is not verified and belongs to an existing user; sign in with a verified email"))
            }
            guard found.storedEmailVerified else {
                // The holder never proved the address: it is taken, and the sign-in finds nobody.
                return signUp(settings, takingEmailFrom: holder)
            }
            user = holder
            linkIdentity = true
        } else {
            return signUp(settings, takingEmailFrom: nil)
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
                       takingEmailFrom: takingEmailFrom, result: result)
    }

    /// Not found: a sign-up when the settings allow one (and only then is the email taken).
    private static func signUp(_ settings: PolicySettings, takingEmailFrom holder: String?) -> SignInAction {
        guard settings.allowSelfSignup else {
            return .refuse(WriteRefusal(.signUpRefused, "sign-up is by invitation only"))
        }
        return .signUp(organization: settings.defaultOrganization, takingEmailFrom: holder)
    }
}
