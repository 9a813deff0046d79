public import NIOCore
import PermdCore

/// A request line split into words: its command, the words after it (checked against the
/// command's arity and the identifier rules of SPEC §1) and, for the commands that take
/// one, the JSON tail. `decode()` then makes the typed `Request`.
///
/// Two steps because the server answers in this order: a malformed line first, then a
/// command this connection may not use (`NOAUTH`), then a malformed payload.
///
/// A view over the line's bytes: parsing copies nothing and builds no String, so the
/// CHECK path can read its words straight from the inbound buffer.
///
/// Words are separated by one or more spaces; leading and trailing spaces are ignored.
/// Any other byte outside printable ASCII (a tab, a control byte, UTF-8) in a word is a
/// `SYNTAX` error. JSON tails may hold any bytes; the JSON parser judges them.
public struct RequestLine: Sendable {
    /// The command the line names.
    public let command: Command
    /// The whole line, without its terminator.
    public let line: ByteBuffer
    /// How many words follow the command word (not counting a JSON tail).
    public let argumentCount: Int
    /// Where the first argument starts, as an offset into the line's readable bytes.
    private let argumentsOffset: Int
    /// Where the JSON tail starts, as an offset into the line's readable bytes.
    private let jsonOffset: Int?

    /// Parses one line (as found by `LineFramer`).
    public static func parse(_ line: ByteBuffer) -> Result<RequestLine, ProtocolError> {
        line.withUnsafeReadableBytes { bytes in
            var words = Words(bytes)
            guard let commandWord = words.next() else {
                return .failure(ProtocolError(.syntax, "empty request"))
            }
            guard let command = Command.named(commandWord) else {
                return .failure(ProtocolError(.unknownCommand, "unknown command \(quoted(commandWord)); try HELP"))
            }
            let argumentsOffset = words.offset
            var count = 0
            var problem: ProtocolError?
            let wordLimit = command.jsonTail == .none ? Int.max : command.arity.upperBound
            while count < wordLimit, let word = words.next() {
                count += 1
                if problem == nil { problem = argumentProblem(word, position: count) }
                if count > command.arity.upperBound { break }
            }
            var jsonOffset: Int?
            if command.jsonTail != .none {
                let rest = words.restOffset
                if rest < bytes.count { jsonOffset = rest }
                if jsonOffset == nil && command.jsonTail == .required {
                    return .failure(arityError(command))
                }
            }
            guard command.arity.contains(count) else {
                return .failure(arityError(command))
            }
            if let problem { return .failure(problem) }
            return .success(RequestLine(
                command: command, line: line, argumentCount: count,
                argumentsOffset: argumentsOffset, jsonOffset: jsonOffset))
        }
    }

    /// Calls `body` with an iterator over the argument words (byte slices of the line).
    @inlinable
    public func withArguments<Result>(_ body: (inout Words) throws -> Result) rethrows -> Result {
        try line.withUnsafeReadableBytes { bytes in
            var words = Words(bytes, from: argumentsStartOffset)
            return try body(&words)
        }
    }

    /// Where the first argument starts (for `withArguments`).
    @usableFromInline
    var argumentsStartOffset: Int { argumentsOffset }

    /// The argument words as Strings (for the commands off the hot path).
    public var arguments: [String] {
        withArguments { words in
            var result: [String] = []
            result.reserveCapacity(argumentCount)
            for _ in 0..<argumentCount {
                guard let word = words.next() else { break }
                result.append(String(decoding: word, as: UTF8.self))
            }
            return result
        }
    }

    /// The JSON tail's bytes, or nil when the line has none.
    public var json: [UInt8]? {
        guard let jsonOffset else { return nil }
        return line.getBytes(at: line.readerIndex + jsonOffset, length: line.readableBytes - jsonOffset)
    }

    static func arityError(_ command: Command) -> ProtocolError {
        ProtocolError(.arity, "wrong number of arguments; usage: \(command.usage)")
    }

    /// Why `word`, the request's argument at 1-based `position`, is `ERR SYNTAX`, or nil: the
    /// one check and message for the server and for `permd check`/`explain`, whose arguments
    /// arrive as words of their own (SPEC §7).
    public static func argumentProblem<Word: Collection<UInt8>>(_ word: Word, position: Int) -> ProtocolError? {
        if word.count > Identifier.maxIDLength {
            return ProtocolError(.syntax, "argument \(position) is longer than \(Identifier.maxIDLength) bytes")
        }
        if !word.allSatisfy(Identifier.isIDByte) {
            return ProtocolError(.syntax, "argument \(position) holds a byte outside printable ASCII")
        }
        return nil
    }

    /// A word for an error message: printable ASCII kept, anything else as `?`, cut at 64 bytes.
    static func quoted(_ word: UnsafeRawBufferPointer) -> String {
        let shown = word.prefix(64).map { Identifier.isIDByte($0) ? $0 : UInt8(ascii: "?") }
        return "\"" + String(decoding: shown, as: UTF8.self) + (word.count > 64 ? "...\"" : "\"")
    }
}

/// An iterator over the space-separated words of a line, as byte slices.
public struct Words: IteratorProtocol {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var position: Int

    /// - Parameters:
    ///   - bytes: the line.
    ///   - start: where to start reading words.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0) {
        self.bytes = bytes
        self.position = start
    }

    /// Where the next word search starts.
    var offset: Int { position }

    /// Where the rest of the line starts, after any spaces.
    var restOffset: Int {
        var index = position
        while index < bytes.count && bytes[index] == UInt8(ascii: " ") { index += 1 }
        return index
    }

    /// Whether no word is left.
    @inlinable
    public var isAtEnd: Bool {
        var index = position
        while index < bytes.count && bytes[index] == UInt8(ascii: " ") { index += 1 }
        return index == bytes.count
    }

    /// The next word, or nil at the end of the line.
    @inlinable
    public mutating func next() -> UnsafeRawBufferPointer? {
        let count = bytes.count
        while position < count && bytes[position] == UInt8(ascii: " ") { position += 1 }
        guard position < count else { return nil }
        let start = position
        while position < count && bytes[position] != UInt8(ascii: " ") { position += 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
    }
}
