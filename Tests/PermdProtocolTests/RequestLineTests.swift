import NIOCore
import PermdProtocol
import Testing

private func parse(_ text: String) -> Result<RequestLine, ProtocolError> {
    RequestLine.parse(ByteBuffer(string: text))
}

private func code(_ text: String) -> ErrorCode? {
    if case .failure(let error) = parse(text) { return error.code }
    return nil
}

@Suite struct RequestLineTests {
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
}
