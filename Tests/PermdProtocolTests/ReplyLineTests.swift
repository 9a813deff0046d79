import NIOCore
import PermdCore
import PermdProtocol
import Testing

/// `ReplyLine` reads back exactly what `Reply` writes.
@Suite struct ReplyLineTests {
    func line(_ write: (inout ByteBuffer) -> Void) -> ReplyLine {
        var buffer = ByteBuffer()
        write(&buffer)
        return ReplyLine(String(String(buffer: buffer).dropLast()))
    }

    @Test func readsWhatReplyWrites() {
        #expect(ReplyLine(Reply.line(decisions: [true, false, true])).decisions == [true, false, true])
        #expect(line { Reply.writeOK(["a:b", "c"], into: &$0) }.items == ["a:b", "c"])
        #expect(line { Reply.writeRevision(42, into: &$0) }.revision == 42)
        let more = line { Reply.writeWho(["ana", "bo"], more: true, into: &$0) }.whoPage
        #expect(more?.users == ["ana", "bo"] && more?.more == true)
        #expect(line { Reply.writeWho([], more: false, into: &$0) }.whoPage?.users == [])
        for explanation: Explanation in [.allow([.role("admin"), .direct]), .deny(.notMember), .deny(.unknownOrganization)] {
            #expect(ReplyLine(Reply.line(explanation)).explanation == explanation)
        }
        let results: [SignInResult] = [.signedIn(user: "ana", organization: "org_a"), .signedUp(user: "u1", organization: "org_a"),
                                       .select(user: "ana", organizations: ["org_a", "org_b"])]
        for result in results {
            #expect(ReplyLine(Reply.line(.signedIn(result, revision: 3))).signIn == result)
        }
        #expect(ReplyLine(Reply.line(.userAdded(id: "ana", revision: 9))).userAdded?.user == "ana")
        let error = ProtocolError(.notFound, "unknown user \"bob\"")
        #expect(ReplyLine(Reply.line(error)).error == error)
        #expect(ReplyLine("OK revision=3 users=2").statistics == ["revision": "3", "users": "2"])
        #expect(ReplyLine("OK 5").decisions == nil && ReplyLine("ALLOW").error == nil)
    }

    @Test func aClientRequestIsALineTheServerParses() throws {
        let request = try ClientRequest(.orgAdd, ["org_new"], json: #"{"name": "New Org"}"#)
        #expect(request.line == #"ORG.ADD org_new {"name": "New Org"}"#)
        var buffer = ByteBuffer()
        request.write(into: &buffer)
        let parsed = try RequestLine.parse(buffer.getSlice(at: 0, length: buffer.readableBytes - 1)!).get()
        #expect(parsed.command == .orgAdd && parsed.arguments == ["org_new"])
        #expect(throws: ProtocolError.self) { try ClientRequest(.userAdd) }
        #expect(throws: ProtocolError.self) { try ClientRequest(.ping, json: "{}") }
        #expect(throws: ProtocolError.self) { try ClientRequest(.signIn, json: "{\n}") }
        #expect(throws: ProtocolError.self) { try ClientRequest(.userDel, [""]) }
    }
}
