/// A user signed in through an external provider (SPEC §5 SIGNIN).
public struct SignInRequest: Sendable, Hashable {
    /// The identity provider (`google`).
    public var provider: String
    /// The user's id at the provider.
    public var providerUserID: String
    /// The email the provider gave.
    public var email: String?
    /// Whether the provider verified `email`.
    public var emailVerified: Bool
    /// The profile fields present in the request (the email is also `email`).
    public var profile: UserProfile
    /// The organization to sign in to; nil lets the store pick or ask.
    public var organization: String?

    /// - Parameters:
    ///   - provider: the identity provider (`google`).
    ///   - providerUserID: the user's id at the provider.
    ///   - email: the email the provider gave.
    ///   - emailVerified: whether the provider verified it.
    ///   - profile: other profile fields present in the request.
    ///   - organization: the organization asked for.
    public init(provider: String, providerUserID: String, email: String? = nil, emailVerified: Bool = false,
                profile: UserProfile = UserProfile(), organization: String? = nil) {
        self.provider = provider
        self.providerUserID = providerUserID
        self.email = email
        self.emailVerified = emailVerified
        self.profile = profile
        self.profile.email = email ?? profile.email
        self.organization = organization
    }
}

extension SignInRequest {
    /// This request with every blank profile value made nil (SPEC §1): a blank email is no
    /// email, so it finds nobody and is stored nowhere.
    public func withoutBlanks() -> SignInRequest {
        var request = self
        request.profile = profile.withoutBlanks()
        request.email = ProfileValue.nonBlank(email) ?? request.profile.email
        request.profile.email = request.email
        return request
    }
}

/// The answer to a sign-in that was accepted.
public enum SignInResult: Sendable, Equatable {
    /// An existing user signs in to `organization`.
    case signedIn(user: String, organization: String)
    /// The user belongs to several organizations and gave none: the application asks which one.
    case select(user: String, organizations: [String])
    /// A new user was created, in `organization`.
    case signedUp(user: String, organization: String)
}
