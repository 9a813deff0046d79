public import PermdProtocol

/// The server answered `ERR <CODE> <message>` (SPEC §5). One error per code: match the code
/// with `catch let error as PermdError where error.code == .notFound`, or `catch ErrorCode.notFound`.
public struct PermdError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The code (`ErrorCode.known` lists those the server sends).
    public let code: ErrorCode
    /// What went wrong, in the server's words.
    public let message: String

    /// - Parameter error: the `ERR` reply.
    public init(_ error: ProtocolError) {
        code = error.code
        message = error.message
    }

    public var description: String { "ERR \(code) \(message)" }
}

extension ErrorCode {
    /// Lets `catch ErrorCode.conflict { ... }` catch a `PermdError` of that code.
    public static func ~= (code: ErrorCode, error: any Error) -> Bool {
        (error as? PermdError)?.code == code
    }
}

/// The client could not get an answer: the connection failed or closed, or the server
/// answered something the command does not answer (a client and server of different versions).
public struct PermdClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What happened.
    public enum Reason: Hashable, Sendable {
        /// Connecting failed (the system's words).
        case cannotConnect(String)
        /// The connection closed before the answer came.
        case closed
        /// A reply that is not an answer to the command sent.
        case unexpectedReply(command: Command, reply: String)
    }

    public let reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    public var description: String {
        switch reason {
        case .cannotConnect(let detail): "cannot connect to permd: \(detail)"
        case .closed: "the connection to permd closed before the answer came"
        case .unexpectedReply(let command, let reply): "unexpected reply to \(command.word): \(reply)"
        }
    }
}
