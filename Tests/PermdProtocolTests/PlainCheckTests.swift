import NIOCore
import PermdCore
import PermdProtocol
import Testing

/// The words of the plain CHECK on `line`, or nil when `PlainCheck` leaves the line alone.
private func plainWords(_ line: String) -> [String]? {
    Array(line.utf8).withUnsafeBytes { bytes in
        PlainCheck.parse(bytes).map { check in
            [check.user, check.organization, check.permission].map { String(decoding: $0, as: UTF8.self) }
        }
    }
}

/// The words of `line` as the general path reads them when it is a one-permission CHECK.
private func generalCheckWords(_ line: [UInt8]) -> [String]? {
    guard case .success(let parsed) = RequestLine.parse(ByteBuffer(bytes: line)),
          case .success(.query(.check(let check))) = Result(catching: { () throws(ProtocolError) in try parsed.decode() }),
          parsed.argumentCount == 3 else { return nil }
    return check.withWords { words in
        var result: [String] = []
        while let word = words.next() { result.append(String(decoding: word, as: UTF8.self)) }
        return result
    }
}

@Test func takesTheOnePermissionCheckWithSingleSpaces() {
    #expect(plainWords("CHECK alice acme docs:read") == ["alice", "acme", "docs:read"])
    #expect(plainWords("check alice acme docs:read") == ["alice", "acme", "docs:read"])
    #expect(plainWords("ChEcK a b c") == ["a", "b", "c"])
}

@Test func leavesEveryOtherLineToTheGeneralPath() {
    let others = [
        "CHECK alice acme docs:read docs:write",  // more permissions
        "CHECK  alice acme docs:read",  // two spaces
        "CHECK alice acme docs:read ",  // a trailing space
        " CHECK alice acme docs:read",  // a leading space
        "CHECK alice acme",  // too few words
        "CHECK\talice acme docs:read",  // a tab
        "CHECK alice ac\u{7F}me docs:read",  // a control byte
        "CHECK alicé acme docs:read",  // UTF-8
        "CHECKS alice acme docs:read",
        "PERMS alice acme x",
        "CHECK alice acme docs:read\r",  // a CR that is not the terminator's
        "CHECK " + String(repeating: "u", count: Identifier.maxIDLength + 1) + " acme docs:read",
        "",
    ]
    for line in others {
        #expect(plainWords(line) == nil, "\(line)")
    }
    let longest = String(repeating: "u", count: Identifier.maxIDLength)
    #expect(plainWords("CHECK \(longest) acme p") == [longest, "acme", "p"])
}

/// Random lines over an alphabet that makes near-misses likely: every line `PlainCheck` takes
/// is read by the general path as a CHECK of the same three words.
@Test func everyLineItTakesIsTheSameCheckOnTheGeneralPath() {
    var generator = SystemRandomNumberGenerator()
    // Mostly well-formed words and single spaces, with now and then a near miss.
    let wordPieces = ["a", "bc", "o:*", "Z9", "a", "bc", "é", "\u{7F}", "\r", "\0"].map { Array($0.utf8) }
    let separators = [" ", " ", " ", " ", " ", "  ", "\t", ""].map { Array($0.utf8) }
    var taken = 0
    for _ in 0..<20_000 {
        var line = Array((["CHECK", "check", "CHECKS", "CHEC", " CHECK"].randomElement(using: &generator)!).utf8)
        for _ in 0..<Int.random(in: 2...4, using: &generator) {
            line += separators.randomElement(using: &generator)!
            for _ in 0..<Int.random(in: 1...2, using: &generator) { line += wordPieces.randomElement(using: &generator)! }
        }
        if Int.random(in: 0..<8, using: &generator) == 0 { line += separators.randomElement(using: &generator)! }
        let plain = line.withUnsafeBytes { bytes in
            PlainCheck.parse(bytes).map { check in
                [check.user, check.organization, check.permission].map { String(decoding: $0, as: UTF8.self) }
            }
        }
        guard let plain else { continue }
        taken += 1
        #expect(generalCheckWords(line) == plain, "\(line)")
    }
    #expect(taken > 20, "the generator should make plain CHECK lines too")
}

/// What a framer yields from `text` taking plain CHECKs first whenever it can (as the server
/// does), and what one that only uses `next(in:)` yields: the same lines in the same order.
@Test func framingWithPlainChecksFirstYieldsTheSameLines() {
    var generator = SystemRandomNumberGenerator()
    let pieces = ["CHECK u o p\n", "CHECK u o p\r\n", "check  u o p\n", "PING\n", "\n", "   \n",
                  "CHECK u o p q\n", "CHECK " + String(repeating: "x", count: 40) + " o p\n", "CHECK u o"]
    for _ in 0..<2_000 {
        let text = (0..<Int.random(in: 1...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
        var plainFirst = LineFramer(maxLineLength: 32)
        var buffer = ByteBuffer(string: text)
        var mixed: [String] = []
        while true {
            let taken = plainFirst.takePlainChecks(in: &buffer, maxLines: Int.random(in: 1...4, using: &generator)) { check in
                mixed.append("CHECK " + [check.user, check.organization, check.permission]
                    .map { String(decoding: $0, as: UTF8.self) }.joined(separator: " "))
            }
            if taken > 0 { continue }
            guard let event = plainFirst.next(in: &buffer) else { break }
            mixed.append(describe(event))
        }
        var plainOnly = LineFramer(maxLineLength: 32)
        var again = ByteBuffer(string: text)
        var general: [String] = []
        while let event = plainOnly.next(in: &again) { general.append(describe(event)) }
        // Lines the plain path took are compared by their words (its CRLF and case are the framer's).
        #expect(mixed.map(normalized) == general.map(normalized), "\(text.debugDescription)")
        #expect(buffer.readableBytes == again.readableBytes)
    }
}

@Test func takesNoLongerLineThanTheLimitNorAnIncompleteOne() {
    var framer = LineFramer(maxLineLength: 12)
    var buffer = ByteBuffer(string: "CHECK u o p\nCHECK uu oo pp\nCHECK u o p")
    var users: [String] = []
    let taken = framer.takePlainChecks(in: &buffer, maxLines: 10) { users.append(String(decoding: $0.user, as: UTF8.self)) }
    #expect(taken == 1)
    #expect(users == ["u"])
    // The 14-byte line is the general path's to report as too long.
    #expect(framer.next(in: &buffer) == .tooLong)
    #expect(framer.takePlainChecks(in: &buffer, maxLines: 10) { _ in } == 0)
    #expect(buffer.readableBytes == "CHECK u o p".utf8.count)
}

@Test func takesNothingWhileTheRestOfAnOverlongLineIsThrownAway() {
    var framer = LineFramer(maxLineLength: 12)
    var buffer = ByteBuffer(string: String(repeating: "x", count: 20))
    #expect(framer.next(in: &buffer) == .tooLong)
    buffer.writeString("CHECK u o p\nCHECK u o p\n")
    // "CHECK u o p" after the overlong line's bytes is still part of that line.
    #expect(framer.takePlainChecks(in: &buffer, maxLines: 10) { _ in } == 0)
    #expect(framer.next(in: &buffer) == .line(ByteBuffer(string: "CHECK u o p")))
    #expect(buffer.readableBytes == 0)
}

private func describe(_ event: LineFramer.Event) -> String {
    switch event {
    case .line(let line): String(buffer: line)
    case .tooLong: "<too long>"
    }
}

/// A line as its words joined by one space, the command uppercased (how the two paths compare).
private func normalized(_ line: String) -> String {
    var words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    if let first = words.first { words[0] = first.uppercased() }
    return words.joined(separator: " ")
}
