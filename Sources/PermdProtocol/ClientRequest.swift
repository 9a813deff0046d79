public import NIOCore

/// A request line as a client sends it (SPEC §5): the command word, its arguments and, for
/// the commands that take one, a JSON object, checked before anything is sent with the same
/// rules and messages the server applies (arity, the identifier rules of SPEC §1).
public struct ClientRequest: Sendable, Hashable {
    /// The command.
    public let command: Command
    /// The line without its newline.
    public let line: String

    /// - Parameters:
    ///   - command: the command.
    ///   - arguments: the words after the command word.
    ///   - json: the JSON object that ends `USER.ADD`, `ORG.ADD` and `SIGNIN` (one line).
    /// - Throws: the `ERR SYNTAX` or `ERR ARITY` the server would answer.
    public init(_ command: Command, _ arguments: [String] = [], json: String? = nil) throws(ProtocolError) {
        guard command.arity.contains(arguments.count) else { throw RequestLine.arityError(command) }
        for (index, argument) in arguments.enumerated() {
            if argument.isEmpty { throw ProtocolError(.syntax, "argument \(index + 1) is empty") }
            if let problem = RequestLine.argumentProblem(argument.utf8, position: index + 1) { throw problem }
        }
        switch (command.jsonTail, json) {
        case (.none, .some):
            throw ProtocolError(.syntax, "\(command.word) takes no JSON")
        case (.required, .none):
            throw RequestLine.arityError(command)
        case (_, .some(let json)) where json.utf8.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }):
            throw ProtocolError(.syntax, "the JSON holds a line break; send it on one line")
        default:
            break
        }
        self.command = command
        line = ([command.word] + arguments + (json.map { [$0] } ?? [])).joined(separator: " ")
    }

    /// Appends the line and its newline.
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeString(line)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }
}
