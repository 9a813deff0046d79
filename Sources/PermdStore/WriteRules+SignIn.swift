import Foundation
import PermdCore
import PermdPolicy

/// Carries out the sign-in that `SignInDecision` decides (SPEC §5 SIGNIN).
extension WriteRules {
    mutating func signIn(_ given: SignInRequest) throws -> SignInResult {
        let request = given.withoutBlanks()
        for (text, what) in [(request.provider, "provider"), (request.providerUserID, "provider_user_id")]
        where text.isEmpty {
            throw WriteRefusal(.invalidValue, "\(what) is empty")
        }
        if let organization = request.organization { try WriteCheck.id(organization, "organization code") }
        try WriteCheck.profile(request.profile)

        let identity = Identity(provider: request.provider, providerUserID: request.providerUserID)
        var lookup = SignInLookup(userByIdentity: try transaction.holder(of: identity))
        if let email = request.email, let holder = try transaction.holder(ofEmail: email) {
            lookup.userByEmail = holder.user
            lookup.storedEmailVerified = holder.verified
        }
        if let found = lookup.userByIdentity ?? lookup.userByEmail {
            // Linking an identity or syncing a profile checks what the user holds: keep it still.
            try transaction.lockMemberships(ofUser: found)
            lookup.memberships = try transaction.organizationCodes(ofUser: found)
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
            try transaction.markSignedIn(id, at: currentMilliseconds())
            return .signedUp(user: id, organization: organization)
        case .signIn(let user, let linkIdentity, let syncProfile, let emailHolder, let result):
            if let emailHolder { try takeEmail(from: emailHolder) }
            var changed = false
            if linkIdentity { changed = try insertIdentity(identity, user: user) || changed }
            if syncProfile {
                changed = try updateProfile(of: user, with: request.profile, emailVerified: emailVerified,
                                            phoneVerified: nil, neverUnverifying: true) || changed
            }
            if changed { changes.append(.profileUpdated(user: user)) }
            try transaction.markSignedIn(user, at: currentMilliseconds())
            return result
        }
    }
}
