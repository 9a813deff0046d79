/// A write the rules refuse (SPEC §1, §5); nothing of it was stored. A domain error: its
/// `reason` says what rule refused it, its `message` says so to a person. The protocol maps
/// each reason to its `ERR` code in one place (PermdProtocol).
public struct WriteRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// The rule that refused a write.
    public enum Reason: Sendable, Hashable, CaseIterable {
        /// The write names a user that does not exist.
        case unknownUser
        /// The write names an organization that does not exist.
        case unknownOrganization
        /// The write names a role the policies do not define.
        case unknownRole
        /// The write names a permission the policies do not define.
        case unknownPermission
        /// A role or permission for a user who is not a member of the organization.
        case notMember
        /// The write would leave a user without an organization.
        case lastOrganization
        /// The organization is the default one or declared in the policy files.
        case protectedOrganization
        /// A user with the id exists with other data.
        case userExists
        /// The email belongs to another user.
        case emailTaken
        /// The username belongs to another user.
        case usernameTaken
        /// The phone number belongs to another user.
        case phoneTaken
        /// The identity belongs to another user.
        case identityTaken
        /// The external id belongs to another organization.
        case externalIDTaken
        /// A sign-in with an unverified email that belongs to an existing user.
        case unverifiedEmail
        /// A sign-in that would create a user while self sign-up is off.
        case signUpRefused
        /// A sign-in to an organization the user is not a member of.
        case notMemberAtSignIn
        /// A sign-in by a user who belongs to no organization.
        case noOrganization
        /// A value breaks the identifier rules, or a required value is empty.
        case invalidValue
    }

    /// The rule that refused the write.
    public var reason: Reason
    /// What was refused and why, for a person (`unknown role "admn"`).
    public var message: String

    /// - Parameters:
    ///   - reason: the rule that refused the write.
    ///   - message: what was refused and why, for a person.
    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

// The refusals built in more than one place, so that each message has one wording.
extension WriteRefusal {
    /// `unknown user "bob"`.
    public static func unknownUser(_ id: String) -> WriteRefusal {
        WriteRefusal(.unknownUser, "unknown user \"\(id)\"")
    }

    /// `unknown organization "org_x"`.
    public static func unknownOrganization(_ code: String) -> WriteRefusal {
        WriteRefusal(.unknownOrganization, "unknown organization \"\(code)\"")
    }

    /// `unknown role "admn"`.
    public static func unknownRole(_ key: String) -> WriteRefusal {
        WriteRefusal(.unknownRole, "unknown role \"\(key)\"")
    }

    /// `unknown permission "nope"`.
    public static func unknownPermission(_ key: String) -> WriteRefusal {
        WriteRefusal(.unknownPermission, "unknown permission \"\(key)\"")
    }

    /// A grant for a user who is not a member of the organization.
    public static func notMember(_ user: String, _ organization: String) -> WriteRefusal {
        WriteRefusal(.notMember, "user \"\(user)\" is not a member of organization \"\(organization)\"")
    }

    /// A removal that would leave `user` without an organization.
    public static func lastOrganization(_ user: String, _ organization: String) -> WriteRefusal {
        WriteRefusal(.lastOrganization,
                     "user \"\(user)\" would be left without an organization (\"\(organization)\" is its only one)")
    }

    /// An email another user holds.
    public static func emailTaken(_ email: String, owner: String) -> WriteRefusal {
        WriteRefusal(.emailTaken, "email \"\(email)\" belongs to user \"\(owner)\"")
    }

    /// A username another user holds.
    public static func usernameTaken(_ username: String, owner: String) -> WriteRefusal {
        WriteRefusal(.usernameTaken, "username \"\(username)\" belongs to user \"\(owner)\"")
    }

    /// A phone number another user holds.
    public static func phoneTaken(_ phone: String, owner: String) -> WriteRefusal {
        WriteRefusal(.phoneTaken, "phone \"\(phone)\" belongs to user \"\(owner)\"")
    }

    /// `invalid user id "a b": holds a space ...`: a value that breaks the identifier rules.
    public static func invalidValue(_ what: String, _ text: String, _ problem: String) -> WriteRefusal {
        WriteRefusal(.invalidValue, "invalid \(what) \"\(text)\": \(problem)")
    }
}
