import NIOCore
import PermdCore
import PermdProtocol
import Testing

/// Frames `text` and decodes every line, as the server reads it: fed all at once and one
/// byte at a time, which must agree.
private func decodeBothWays(_ text: String) -> [Result<Request, ProtocolError>] {
    func run(_ chunks: [[UInt8]]) -> [Result<Request, ProtocolError>] {
        var framer = LineFramer(maxLineLength: 8192)
        var buffer = ByteBuffer()
        var results: [Result<Request, ProtocolError>] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let event = framer.next(in: &buffer) {
                switch event {
                case .line(let line): results.append(Request.decode(line))
                case .tooLong: results.append(.failure(.tooLong(limit: framer.maxLineLength)))
                }
            }
        }
        return results
    }
    let bytes = Array(text.utf8)
    let whole = run([bytes])
    #expect(whole == run(bytes.map { [$0] }))
    return whole
}

/// The one request on `line`, decoded both ways.
private func decode(_ line: String) -> Result<Request, ProtocolError> {
    let results = decodeBothWays(line + "\n")
    #expect(results.count == 1)
    return results.first ?? .failure(ProtocolError(.internal, "no line"))
}

/// The write decoded from `line`, or nil.
private func write(_ line: String) -> Write? {
    if case .success(.write(.write(let write))) = decode(line) { return write }
    return nil
}

/// The `ERR` line `line` is answered with, or nil when it decodes.
private func error(_ line: String) -> String? {
    if case .failure(let error) = decode(line) { return Reply.line(error) }
    return nil
}

@Suite struct QueryDecodingTests {
    @Test func eachQueryHasItsTypedArguments() {
        #expect(decode("PERMS ana org_a") == .success(.query(.permissions(user: "ana", organization: "org_a"))))
        #expect(decode("roles ana org_a") == .success(.query(.roles(user: "ana", organization: "org_a"))))
        #expect(decode("ORGS ana") == .success(.query(.organizations(user: "ana", permission: nil))))
        #expect(decode("ORGS ana read:x") == .success(.query(.organizations(user: "ana", permission: "read:x"))))
        #expect(decode("EXPLAIN ana org_a read:x")
            == .success(.query(.explain(user: "ana", organization: "org_a", permission: "read:x"))))
        #expect(decode("REVISION") == .success(.query(.revision)))
        #expect(decode("PING") == .success(.query(.ping)))
        #expect(decode("STATS") == .success(.query(.stats)))
        #expect(decode("HELP") == .success(.query(.help)))
    }

    @Test func whoTakesAStartAndALimit() {
        #expect(decode("WHO org_a read:x")
            == .success(.query(.who(organization: "org_a", permission: "read:x", after: nil, limit: 1000))))
        #expect(decode("WHO org_a read:x -")
            == .success(.query(.who(organization: "org_a", permission: "read:x", after: nil, limit: 1000))))
        #expect(decode("WHO org_a read:x bob 1")
            == .success(.query(.who(organization: "org_a", permission: "read:x", after: "bob", limit: 1))))
        #expect(decode("WHO org_a read:x - 100000")
            == .success(.query(.who(organization: "org_a", permission: "read:x", after: nil, limit: 100_000))))
        for limit in ["0", "x", "100001", "-1", "1.5"] {
            #expect(error("WHO org_a read:x - \(limit)") == "ERR SYNTAX limit must be a number from 1 to 100000")
        }
    }

    @Test func syncTakesARevisionAndATimeout() {
        #expect(decode("SYNC 7") == .success(.query(.sync(revision: 7, timeoutMilliseconds: 1000))))
        #expect(decode("SYNC 18446744073709551615 0")
            == .success(.query(.sync(revision: .max, timeoutMilliseconds: 0))))
        #expect(decode("SYNC 7 60000") == .success(.query(.sync(revision: 7, timeoutMilliseconds: 60_000))))
        for revision in ["abc", "-1", "18446744073709551616"] {
            #expect(error("SYNC \(revision)") == "ERR SYNTAX revision must be a number from 0 to 18446744073709551615")
        }
        #expect(error("SYNC 1 60001") == "ERR SYNTAX timeout_ms must be a number from 0 to 60000")
        #expect(error("SYNC 1 soon") == "ERR SYNTAX timeout_ms must be a number from 0 to 60000")
    }

    @Test func checkIsAViewOverTheLine() throws {
        guard case .success(.query(.check(let check))) = decode("CHECK  ana org_a read:x  write:y") else {
            Issue.record("not a CHECK")
            return
        }
        let words = check.withWords { words in
            var found: [String] = []
            while let word = words.next() { found.append(String(decoding: word, as: UTF8.self)) }
            return found
        }
        #expect(words == ["ana", "org_a", "read:x", "write:y"])
    }

    @Test func sessionCommands() {
        #expect(decode("AUTH s3cret") == .success(.session(.auth(token: "s3cret"))))
        #expect(decode("quit") == .success(.session(.quit)))
    }

    @Test func everyCommandDecodesIntoTheCaseOfItsKind() {
        let lines: [Command: String] = [
            .check: "CHECK u o p", .perms: "PERMS u o", .roles: "ROLES u o", .orgs: "ORGS u", .who: "WHO o p",
            .explain: "EXPLAIN u o p", .revision: "REVISION", .sync: "SYNC 1", .ping: "PING", .stats: "STATS",
            .help: "HELP", .quit: "QUIT", .auth: "AUTH t", .userAdd: "USER.ADD {}", .userDel: "USER.DEL u",
            .orgAdd: "ORG.ADD o", .orgDel: "ORG.DEL o", .memberAdd: "MEMBER.ADD u o", .memberDel: "MEMBER.DEL u o",
            .roleAdd: "ROLE.ADD u o r", .roleDel: "ROLE.DEL u o r", .permAdd: "PERM.ADD u o p",
            .permDel: "PERM.DEL u o p", .signIn: #"SIGNIN {"provider": "p", "provider_user_id": "1"}"#,
            .reload: "RELOAD",
        ]
        #expect(Set(lines.keys) == Set(Command.allCases))
        for (command, line) in lines {
            let kind: Command.Kind? = switch decode(line) {
            case .success(.query): .query
            case .success(.write): .write
            case .success(.session): .session
            case .failure: nil
            }
            #expect(kind == command.kind, "\(line)")
            #expect(command.isWrite == (command.kind == .write))
        }
    }
}

@Suite struct WriteDecodingTests {
    @Test func wordWritesCarryTheirIdentifiers() {
        #expect(write("USER.DEL ana") == .removeUser("ana"))
        #expect(write("ORG.DEL org_a") == .removeOrganization("org_a"))
        #expect(write("MEMBER.ADD ana org_a") == .addMember(user: "ana", organization: "org_a", roles: nil))
        #expect(write("MEMBER.ADD ana org_a viewer admin")
            == .addMember(user: "ana", organization: "org_a", roles: ["viewer", "admin"]))
        #expect(write("MEMBER.DEL ana org_a") == .removeMember(user: "ana", organization: "org_a"))
        #expect(write("ROLE.ADD ana org_a viewer") == .assignRole(user: "ana", organization: "org_a", role: "viewer"))
        #expect(write("ROLE.DEL ana org_a viewer") == .unassignRole(user: "ana", organization: "org_a", role: "viewer"))
        #expect(write("PERM.ADD ana org_a read:x")
            == .grantPermission(user: "ana", organization: "org_a", permission: "read:x"))
        #expect(write("PERM.DEL ana org_a read:x")
            == .revokePermission(user: "ana", organization: "org_a", permission: "read:x"))
        #expect(decode("RELOAD") == .success(.write(.reload)))
    }

    @Test func userAddDecodesEveryField() {
        #expect(write(#"USER.ADD {}"#) == .addUser(NewUser()))
        let full = #"USER.ADD {"id": "ana", "email": "ana@acme.io", "email_verified": false, "username": "ana", "phone": "+34 1", "#
            + #""first_name": "Ana María", "last_name": "Ruiz", "picture": "https://p/a.png", "#
            + #""organizations": ["org_a", "org_b"], "roles": ["viewer"]}"#
        #expect(write(full) == .addUser(NewUser(
            id: "ana",
            profile: UserProfile(email: "ana@acme.io", username: "ana", phone: "+34 1", firstName: "Ana María",
                                 lastName: "Ruiz", picture: "https://p/a.png"),
            emailVerified: false, organizations: ["org_a", "org_b"], roles: ["viewer"])))
    }

    @Test func userAddRefusesMalformedPayloads() {
        let cases: [(String, String)] = [
            ("{", "ERR SYNTAX malformed JSON at 1:1: string or '}' expected near end of file"),
            ("[1, 2]", "ERR SYNTAX expected a JSON object, found an array"),
            (#""text""#, "ERR SYNTAX expected a JSON object, found a string"),
            (#"{"id": 5}"#, #"ERR SYNTAX "id" must be a string, not an integer"#),
            (#"{"id": "has space"}"#, #"ERR SYNTAX "id" holds a space or a byte outside printable ASCII"#),
            (#"{"id": ""}"#, #"ERR SYNTAX "id" is empty"#),
            (#"{"first_name": null}"#, #"ERR SYNTAX "first_name" must be a string, not null"#),
            (#"{"organizations": "org_acme"}"#,
             #"ERR SYNTAX "organizations" must be an array of strings, not a string"#),
            (#"{"organizations": [1]}"#,
             #"ERR SYNTAX "organizations" must hold identifiers (printable ASCII, no spaces)"#),
            (#"{"roles": ["bad role"]}"#, #"ERR SYNTAX "roles" must hold identifiers (printable ASCII, no spaces)"#),
            (#"{"nickname": "x"}"#, #"ERR SYNTAX unknown field "nickname""#),
            (#"{"email_verified": "yes"}"#, #"ERR SYNTAX "email_verified" must be true or false, not a string"#),
        ]
        for (payload, expected) in cases {
            #expect(error("USER.ADD \(payload)") == expected, "\(payload)")
        }
        #expect(error("USER.ADD") == "ERR ARITY wrong number of arguments; usage: USER.ADD <json>")
    }

    @Test func orgAddTakesAnOptionalPayload() {
        #expect(write("ORG.ADD org_a") == .addOrganization(OrganizationRecord(code: "org_a")))
        #expect(write(#"ORG.ADD org_a {"name": "A Ltd", "external_id": "ext-1"}"#)
            == .addOrganization(OrganizationRecord(code: "org_a", name: "A Ltd", externalID: "ext-1")))
        #expect(error(#"ORG.ADD org_a {"name": 3}"#) == #"ERR SYNTAX "name" must be a string, not an integer"#)
        #expect(error(#"ORG.ADD org_a {"colour": "red"}"#) == #"ERR SYNTAX unknown field "colour""#)
        #expect(error(#"ORG.ADD org_a {bad"#) == "ERR SYNTAX malformed JSON at 1:4: string or '}' expected near 'bad'")
        #expect(error(#"ORG.ADD org_a []"#) == "ERR SYNTAX expected a JSON object, found an array")
    }

    @Test func signInDecodesTheIdentityAndTheProfile() {
        let line = #"SIGNIN {"provider": "google", "provider_user_id": "1093", "email": "ana@acme.io", "#
            + #""email_verified": true, "first_name": "Ana", "org": "org_acme"}"#
        #expect(write(line) == .signIn(SignInRequest(
            provider: "google", providerUserID: "1093", email: "ana@acme.io", emailVerified: true,
            profile: UserProfile(firstName: "Ana"), organization: "org_acme")))
        #expect(write(#"SIGNIN {"provider": "google", "provider_user_id": "1"}"#)
            == .signIn(SignInRequest(provider: "google", providerUserID: "1")))
    }

    @Test func signInRefusesMalformedPayloads() {
        let cases: [(String, String)] = [
            (#"{"provider": "google"}"#, #"ERR SYNTAX SIGNIN needs "provider" and "provider_user_id""#),
            (#"{"provider_user_id": "1"}"#, #"ERR SYNTAX SIGNIN needs "provider" and "provider_user_id""#),
            (#"{"provider": "google", "provider_user_id": 7}"#,
             #"ERR SYNTAX "provider_user_id" must be a string, not an integer"#),
            (#"{"provider": "g", "provider_user_id": "7", "email_verified": "yes"}"#,
             #"ERR SYNTAX "email_verified" must be true or false, not a string"#),
            (#"{"provider": "g", "provider_user_id": "7", "org": "bad org"}"#,
             #"ERR SYNTAX "org" holds a space or a byte outside printable ASCII"#),
            (#"{"provider": "g", "provider_user_id": "7", "extra": 1}"#, #"ERR SYNTAX unknown field "extra""#),
            ("nope", "ERR SYNTAX malformed JSON at 1:4: invalid token near 'nope'"),
            ("[]", "ERR SYNTAX expected a JSON object, found an array"),
        ]
        for (payload, expected) in cases {
            #expect(error("SIGNIN \(payload)") == expected, "\(payload)")
        }
        #expect(error("SIGNIN   ") == "ERR ARITY wrong number of arguments; usage: SIGNIN <json>")
    }

    @Test func pipelinedRequestsDecodeInOrder() {
        let results = decodeBothWays("PING\r\nUSER.ADD {\"id\": \"ana\"}\nUSER.ADD {\n\nSYNC 3 10\n")
        #expect(results == [
            .success(.query(.ping)),
            .success(.write(.write(.addUser(NewUser(id: "ana"))))),
            .failure(ProtocolError(.syntax, "malformed JSON at 1:1: string or '}' expected near end of file")),
            .success(.query(.sync(revision: 3, timeoutMilliseconds: 10))),
        ])
    }
}
