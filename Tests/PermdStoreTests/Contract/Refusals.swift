import PermdCore
import PermdStore
import Testing

/// Why the contract expects a write to be refused, in the domain's words.
///
/// The one place that knows how a store spells a refusal today (a `WriteError` with a
/// protocol code and a message): when refusals carry a domain reason, only `matches` changes.
enum Refusal: Sendable {
    case unknownUser, unknownOrganization, unknownRole, unknownPermission
    /// A grant for a user who is not a member of the organization.
    case notMember
    /// The write would leave a user without an organization.
    case lastOrganization
    /// The default or a declared organization: not removed, not renamed through writes.
    case protectedOrganization
    case emailTaken, identityTaken, externalIDTaken
    /// A different user under an id that exists.
    case userExists
    /// A sign-in by a stranger while self sign-up is off.
    case signUpRefused
    /// A sign-in asking for an organization the user is not a member of.
    case notMemberAtSignIn
    /// A sign-in with an unverified email that belongs to an existing user.
    case unverifiedEmail
    /// A malformed identifier or an empty required value.
    case invalidValue

    /// Whether `error` is this refusal.
    func matches(_ error: WriteError) -> Bool {
        let (code, fragments): (WriteErrorCode, [String]) = switch self {
        case .unknownUser: (.notFound, ["unknown user "])
        case .unknownOrganization: (.notFound, ["unknown organization "])
        case .unknownRole: (.notFound, ["unknown role "])
        case .unknownPermission: (.notFound, ["unknown permission "])
        case .notMember: (.conflict, ["is not a member of organization"])
        case .lastOrganization: (.conflict, ["would be left without an organization"])
        case .protectedOrganization: (.conflict, ["is the default organization", "is declared in the policy files"])
        case .emailTaken: (.conflict, ["email \""])
        case .identityTaken: (.conflict, ["identity "])
        case .externalIDTaken: (.conflict, ["external id "])
        case .userExists: (.conflict, ["already exists"])
        case .signUpRefused: (.forbidden, ["sign-up is by invitation only"])
        case .notMemberAtSignIn: (.forbidden, ["is not a member of organization"])
        case .unverifiedEmail: (.conflict, ["the email is not verified"])
        case .invalidValue: (.invalid, ["invalid ", " is empty", "empty provider"])
        }
        return error.code == code && fragments.contains { error.message.contains($0) }
    }
}

/// Expects `result` to be refused for `reason`, with a message naming each of `names`.
func expectRefused(_ result: Result<WriteOutcome, WriteError>, _ reason: Refusal, naming names: String...,
                   sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    switch result {
    case .success(let outcome):
        Issue.record("expected a refusal (\(reason)), got \(outcome)", sourceLocation: sourceLocation)
    case .failure(let error):
        expectRefusal(error, reason, naming: names, sourceLocation: sourceLocation)
    }
}

/// Expects `error` (a refused write or import record) to be `reason`, naming each of `names`.
func expectRefusal(_ error: WriteError, _ reason: Refusal, naming names: [String] = [],
                   sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(reason.matches(error), "expected \(reason), got \(error)", sourceLocation: sourceLocation)
    for name in names {
        #expect(error.message.contains("\"\(name)\""), "\(error) does not name \"\(name)\"",
                sourceLocation: sourceLocation)
    }
}

extension StoreUnderTest {
    /// Performs `request`, expects it refused for `reason`, and expects the state unchanged:
    /// the same revision and nothing logged.
    func expectRefused(_ request: Write, _ reason: Refusal, naming names: String...,
                       sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let before = try store.currentRevision()
        let result = try write(request)
        switch result {
        case .success(let outcome):
            Issue.record("\(request): expected a refusal (\(reason)), got \(outcome)", sourceLocation: sourceLocation)
        case .failure(let error):
            expectRefusal(error, reason, naming: names, sourceLocation: sourceLocation)
        }
        #expect(try store.currentRevision() == before, "a refused write makes no revision",
                sourceLocation: sourceLocation)
        #expect(try changes(after: before) == [], "a refused write logs nothing", sourceLocation: sourceLocation)
    }
}
