import NIOCore
import PermdProtocol
import Testing

/// Runs the framer and parser over `chunks` as they would arrive, answering like the
/// server would: the reply a request gets is the request's canonical form or its error.
private func frame(_ chunks: [[UInt8]], maxLine: Int = 32, finish: Bool = false) -> [String] {
    var framer = LineFramer(maxLineLength: maxLine)
    var buffer = ByteBuffer()
    var results: [String] = []
    func describe(_ event: LineFramer.Event) -> String {
        switch event {
        case .tooLong: return "TOO_LONG"
        case .line(let line): return String(buffer: line)
        }
    }
    for chunk in chunks {
        buffer.writeBytes(chunk)
        while let event = framer.next(in: &buffer) { results.append(describe(event)) }
    }
    if finish {
        while let event = framer.finish(in: &buffer) { results.append(describe(event)) }
    }
    return results
}

/// Feeds the same bytes all at once and one byte at a time; both must agree.
private func frameBothWays(_ text: String, maxLine: Int = 32) -> [String] {
    let bytes = Array(text.utf8)
    let whole = frame([bytes], maxLine: maxLine)
    let dripped = frame(bytes.map { [$0] }, maxLine: maxLine)
    #expect(whole == dripped)
    return whole
}

@Suite struct LineFramerTests {
    @Test func linesAreSplitOnNewlinesAndCRLF() {
        #expect(frameBothWays("PING\nCHECK a b c\r\nREVISION\n") == ["PING", "CHECK a b c", "REVISION"])
    }

    @Test func emptyAndBlankLinesAreSkipped() {
        #expect(frameBothWays("\n\r\n   \nPING\n\n") == ["PING"])
    }

    @Test func anUnterminatedLineWaits() {
        #expect(frameBothWays("PING\nPIN") == ["PING"])
    }

    @Test func anOverlongLineIsReportedOnceAndDiscarded() {
        let long = String(repeating: "x", count: 100)
        #expect(frameBothWays("\(long)\nPING\n", maxLine: 10) == ["TOO_LONG", "PING"])
        // Exactly at the limit passes, with or without CR.
        #expect(frameBothWays("0123456789\n0123456789\r\n01234567890\n", maxLine: 10)
            == ["0123456789", "0123456789", "TOO_LONG"])
    }

    @Test func theLastUnterminatedLineIsAnsweredAtEndOfInput() {
        #expect(frame([Array("PING\nCHECK a b c".utf8)], finish: true) == ["PING", "CHECK a b c"])
    }

    @Test func manyPipelinedLinesComeOutInOrder() {
        let text = (0..<2000).map { "CHECK u\($0) o p\n" }.joined()
        let lines = frameBothWays(text, maxLine: 64)
        #expect(lines.count == 2000)
        #expect(lines.last == "CHECK u1999 o p")
    }
}

private func parse(_ text: String) -> Result<Request, ProtocolError> {
    Request.parse(ByteBuffer(string: text))
}

private func code(_ text: String) -> ErrorCode? {
    if case .failure(let error) = parse(text) { return error.code }
    return nil
}

@Suite struct RequestParserTests {
    @Test func commandWordsAreCaseInsensitive() throws {
        for text in ["check a b c", "CHECK a b c", "Check a b c"] {
            let request = try parse(text).get()
            #expect(request.command == .check)
            #expect(request.arguments == ["a", "b", "c"])
        }
        #expect(try parse("user.del bob").get().command == .userDel)
    }

    @Test func repeatedSpacesSeparateWordsOnce() throws {
        let request = try parse("  CHECK   ana  org_acme   read:invoices  ").get()
        #expect(request.arguments == ["ana", "org_acme", "read:invoices"])
    }

    @Test func unknownCommandsAndArity() {
        #expect(code("FROB x") == .unknownCommand)
        #expect(code("\u{1}\u{2}junk") == .unknownCommand)
        #expect(code("CHECK a b") == .arity)
        #expect(code("PING extra") == .arity)
        #expect(code("WHO o p - 10 more") == .arity)
        let perms = (0..<64).map { "p\($0)" }.joined(separator: " ")
        #expect((try? parse("CHECK u o \(perms)").get())?.argumentCount == 66)
        #expect(code("CHECK u o \(perms) one-too-many") == .arity)
        #expect(code("USER.ADD") == .arity)
        #expect(code("SIGNIN   ") == .arity)
    }

    @Test func identifiersMustBePrintableASCII() {
        #expect(code("CHECK a\tb o p") == .syntax)
        #expect(code("CHECK caf\u{E9} o p") == .syntax)
        #expect(code("CHECK \(String(repeating: "u", count: 256)) o p") == .syntax)
        #expect(code("CHECK \(String(repeating: "u", count: 255)) o p") == nil)
    }

    @Test func jsonTailsKeepTheirSpacesAndBytes() throws {
        let add = try parse(#"USER.ADD {"id": "ana", "first_name": "Ana María"}"#).get()
        #expect(add.json.map { String(decoding: $0, as: UTF8.self) } == #"{"id": "ana", "first_name": "Ana María"}"#)
        let org = try parse(#"ORG.ADD org_x {"name": "X Ltd"}"#).get()
        #expect(org.arguments == ["org_x"])
        #expect(org.json.map { String(decoding: $0, as: UTF8.self) } == #"{"name": "X Ltd"}"#)
        #expect(try parse("ORG.ADD org_x").get().json == nil)
        #expect(code("ORG.ADD") == .arity)
    }

    @Test func writesAreMarked() throws {
        #expect(try parse("MEMBER.ADD u o r1 r2").get().command.isWrite)
        #expect(try !parse("CHECK u o p").get().command.isWrite)
    }

    @Test func repliesAreSingleLines() {
        var buffer = ByteBuffer()
        Reply.writeError(ProtocolError(.syntax, "bad\nthing"), into: &buffer)
        Reply.writeOK(["a", "b"], into: &buffer)
        #expect(String(buffer: buffer) == "ERR SYNTAX bad thing\nOK a b\n")
    }
}
