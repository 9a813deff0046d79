public import PermdCore

/// The code of an `ERR` reply (SPEC §5); a struct so that new codes need no new enum case.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// - Parameter rawValue: the code as written on the wire (`SYNTAX`).
    public init(rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public static let syntax = ErrorCode(rawValue: "SYNTAX")
    public static let unknownCommand = ErrorCode(rawValue: "UNKNOWN_COMMAND")
    public static let arity = ErrorCode(rawValue: "ARITY")
    public static let tooLong = ErrorCode(rawValue: "TOO_LONG")
    public static let noAuth = ErrorCode(rawValue: "NOAUTH")
    public static let notFound = ErrorCode(rawValue: "NOT_FOUND")
    public static let conflict = ErrorCode(rawValue: "CONFLICT")
    public static let forbidden = ErrorCode(rawValue: "FORBIDDEN")
    public static let invalid = ErrorCode(rawValue: "INVALID")
    public static let stale = ErrorCode(rawValue: "STALE")
    public static let busy = ErrorCode(rawValue: "BUSY")
    /// A write while the database cannot be reached or is locked by another process past the
    /// write timeout: nothing was stored; retry later.
    public static let unavailable = ErrorCode(rawValue: "UNAVAILABLE")
    public static let `internal` = ErrorCode(rawValue: "INTERNAL")

    /// Every code the server sends, in SPEC §5's order (metrics count by these; clients map them to errors).
    public static let known: [ErrorCode] = [
        .syntax, .unknownCommand, .arity, .tooLong, .noAuth, .notFound, .conflict, .forbidden, .invalid,
        .stale, .busy, .unavailable, .internal,
    ]
}

/// An `ERR <CODE> <message>` reply.
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The code, the reply's second word.
    public var code: ErrorCode
    /// What went wrong, for a person.
    public var message: String

    /// - Parameters:
    ///   - code: the error code.
    ///   - message: what went wrong, for a person (one line; control bytes are replaced when sent).
    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The reply line without its newline: `ERR SYNTAX ...`.
    public var description: String { "ERR \(code.rawValue) \(message)" }

    /// The answer to a line over the limit.
    public static func tooLong(limit: Int) -> ProtocolError {
        ProtocolError(.tooLong, "line longer than \(limit) bytes; discarded")
    }
}

extension ProtocolError {
    /// `SYNC` timed out: `ERR STALE <current revision>`.
    public static func stale(current revision: UInt64) -> ProtocolError {
        ProtocolError(.stale, "\(revision)")
    }

    /// The reply to a refused write: its reason's code and its message.
    public init(_ refusal: WriteRefusal) {
        self.init(ErrorCode(refusal.reason), refusal.message)
    }

    /// The reply to a write or RELOAD the writer did not carry out.
    public init(_ failure: WriteFailure) {
        switch failure {
        case .refused(let refusal): self.init(refusal)
        case .invalidPolicies(let message): self.init(.invalid, message)
        case .unavailable(let message): self.init(.unavailable, message)
        case .failed(let message): self.init(.internal, message)
        }
    }
}

extension ErrorCode {
    /// The one mapping from the rules a write breaks to the protocol's codes (SPEC §5):
    /// something named is missing, an invariant holds, a sign-in is refused, a value is malformed.
    public init(_ reason: WriteRefusal.Reason) {
        switch reason {
        case .unknownUser, .unknownOrganization, .unknownRole, .unknownPermission:
            self = .notFound
        case .notMember, .lastOrganization, .protectedOrganization, .userExists, .emailTaken, .usernameTaken,
             .phoneTaken, .identityTaken, .externalIDTaken, .externalIDIsCode, .unverifiedEmail:
            self = .conflict
        case .signUpRefused, .notMemberAtSignIn, .noOrganization:
            self = .forbidden
        case .invalidValue:
            self = .syntax
        }
    }
}
