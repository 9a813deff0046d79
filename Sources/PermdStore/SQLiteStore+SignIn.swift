import Foundation
import PermdCore
import PermdPolicy

/// Carries out the sign-in that `SignInDecision` decides (SPEC §5 SIGNIN).
extension SQLiteStore {
    func signIn(_ given: SignInRequest) throws -> SignInResult {
        let request = given.withoutBlanks()
        for (text, what) in [(request.provider, "provider"), (request.providerUserID, "provider_user_id")]
        where text.isEmpty {
            throw WriteRefusal(.invalidValue, "\(what) is empty")
        }
        if let organization = request.organization { try checkID(organization, "organization code") }
        try checkProfile(request.profile)

        let identity = Identity(provider: request.provider, providerUserID: request.providerUserID)
        var lookup = SignInLookup(userByIdentity: try userID(byIdentity: identity))
        if let email = request.email, let holder = try emailHolder(email) {
            lookup.userByEmail = holder.user
            lookup.storedEmailVerified = holder.verified
        }
        if let found = lookup.userByIdentity ?? lookup.userByEmail {
            lookup.memberships = try organizationCodes(ofUser: found)
        }

        let emailVerified = request.email == nil ? nil : request.emailVerified
        switch SignInDecision.decide(request, settings: policy.settings, found: lookup) {
        case .refuse(let refusal):
            throw refusal
        case .signUp(let organization, let emailHolder):
            if let emailHolder { try takeEmail(from: emailHolder) }
            let id = try generateUserID()
            try insertUser(id: id, profile: request.profile, emailVerified: emailVerified, phoneVerified: nil)
            _ = try insertIdentity(identity, user: id)
            try insertMembership(user: id, organization: organization, roles: nil)
            try markSignedIn(id)
            return .signedUp(user: id, organization: organization)
        case .signIn(let user, let linkIdentity, let syncProfile, let emailHolder, let result):
            if let emailHolder { try takeEmail(from: emailHolder) }
            var changed = false
            if linkIdentity { changed = try insertIdentity(identity, user: user) || changed }
            if syncProfile {
                changed = try updateProfile(of: user, with: request.profile, emailVerified: emailVerified,
                                            phoneVerified: nil, neverUnverifying: true) || changed
            }
            if changed { pendingChanges.append(.profileUpdated(user: user)) }
            try markSignedIn(user)
            return result
        }
    }

    /// The user holding `email` (compared case-insensitively) and whether they hold it verified
    /// (an email stored without its state, by an earlier permd, was an operator's: verified).
    private func emailHolder(_ email: String) throws(StoreError) -> (user: String, verified: Bool)? {
        let statement = try connection.statement("SELECT id, email_verified FROM users WHERE email_lower = ?")
        try statement.bind([.text(email.lowercased())])
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return (statement.text(0), statement.optionalBool(1) ?? true)
    }

    /// Records the sign-in time; bookkeeping that does not by itself make a new revision.
    private func markSignedIn(_ user: String) throws {
        try connection.run("UPDATE users SET last_signed_in_at = ? WHERE id = ?",
                           .integer(currentMilliseconds()), .text(user))
    }
}
