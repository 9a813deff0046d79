import NIOCore
import PermdCore
import PermdProtocol
import Testing

/// The bytes `encode` writes.
private func bytes(_ encode: (inout ByteBuffer) -> Void) -> String {
    var buffer = ByteBuffer()
    encode(&buffer)
    return String(buffer: buffer)
}

@Suite struct ReplyTests {
    @Test func writeOutcomes() {
        #expect(bytes { Reply.write(WriteOutcome.committed(revision: 7), into: &$0) } == "OK 7\n")
        #expect(bytes { Reply.write(WriteOutcome.userAdded(id: "ana", revision: 8), into: &$0) } == "OK ana 8\n")
        #expect(Reply.line(WriteOutcome.committed(revision: 0)) == "OK 0")
        #expect(Reply.line(WriteOutcome.userAdded(id: "kp_1", revision: 2)) == "OK kp_1 2")
    }

    @Test func signInOutcomes() {
        func line(_ result: SignInResult) -> String {
            bytes { Reply.write(WriteOutcome.signedIn(result, revision: 9), into: &$0) }
        }
        #expect(line(.signedIn(user: "u", organization: "o")) == "OK u o\n")
        #expect(line(.signedUp(user: "u", organization: "o")) == "OK u o NEW\n")
        #expect(line(.select(user: "u", organizations: ["a", "b"])) == "SELECT u a b\n")
    }

    @Test func explanations() {
        #expect(bytes { Reply.write(Explanation.allow([.role("billing-admin"), .direct]), into: &$0) }
            == "ALLOW role:billing-admin direct\n")
        #expect(Reply.line(Explanation.allow([.direct])) == "ALLOW direct")
        let reasons: [DenyReason: String] = [
            .unknownUser: "DENY unknown-user", .unknownOrganization: "DENY unknown-org",
            .notMember: "DENY not-member", .unknownPermission: "DENY unknown-permission",
            .notGranted: "DENY not-granted",
        ]
        #expect(Set(reasons.keys) == Set(DenyReason.allCases))
        for (reason, line) in reasons {
            #expect(Reply.line(Explanation.deny(reason)) == line)
        }
    }

    @Test func checkDecisions() {
        var buffer = ByteBuffer()
        Reply.writeDecision(true, first: true, into: &buffer)
        Reply.writeDecision(false, first: false, into: &buffer)
        Reply.endLine(into: &buffer)
        buffer.writeImmutableBuffer(Reply.allow)
        buffer.writeImmutableBuffer(Reply.deny)
        #expect(String(buffer: buffer) == "ALLOW DENY\nALLOW\nDENY\n")
        #expect(Reply.line(decisions: [true, false, true]) == "ALLOW DENY ALLOW")
    }

    @Test func lists() {
        #expect(bytes { Reply.writeOK([], into: &$0) } == "OK\n")
        #expect(bytes { Reply.writeOK(["read:a", "write:b"], into: &$0) } == "OK read:a write:b\n")
        #expect(bytes { Reply.writeWho(["ana", "bob"], more: true, into: &$0) } == "OK ana bob MORE\n")
        #expect(bytes { Reply.writeWho([], more: false, into: &$0) } == "OK\n")
        #expect(bytes { Reply.writeRevision(42, into: &$0) } == "OK 42\n")
        #expect(bytes { Reply.writeHelp(into: &$0) } == "OK CHECK PERMS ROLES ORGS WHO EXPLAIN REVISION SYNC PING "
            + "STATS HELP QUIT AUTH USER.ADD USER.DEL ORG.ADD ORG.DEL MEMBER.ADD MEMBER.DEL ROLE.ADD ROLE.DEL "
            + "PERM.ADD PERM.DEL SIGNIN RELOAD\n")
        #expect(String(buffer: Reply.ok) == "OK\n" && String(buffer: Reply.pong) == "PONG\n")
    }

    @Test func statistics() {
        let statistics = Statistics(
            revision: 5, users: 2, organizations: 3, memberships: 4, roles: 6, permissions: 7, indexBytes: 8192,
            buildMilliseconds: 1.5, connections: 1, checks: 10, allows: 6, denies: 4, uptimeSeconds: 12)
        #expect(bytes { Reply.write(statistics, into: &$0) } == "OK revision=5 users=2 organizations=3 memberships=4 "
            + "roles=6 permissions=7 index_bytes=8192 build_ms=1.5 connections=1 checks=10 allows=6 denies=4 uptime_s=12 "
            + "store=sqlite policy_digest=none\n")
        var replica = statistics
        replica.store = "postgres"
        replica.policyDigest = "0123456789ab"
        replica.databaseUp = false
        replica.lagMilliseconds = 250
        #expect(bytes { Reply.write(replica, into: &$0) }.hasSuffix(" uptime_s=12 store=postgres policy_digest=0123456789ab db=down lag_ms=250\n"))
    }

    @Test func errorsStayOneLine() {
        #expect(bytes { Reply.writeError(ProtocolError(.syntax, "bad\nthing\u{7F}"), into: &$0) }
            == "ERR SYNTAX bad thing \n")
        #expect(Reply.line(ProtocolError.stale(current: 3)) == "ERR STALE 3")
        #expect(Reply.line(ProtocolError.tooLong(limit: 10)) == "ERR TOO_LONG line longer than 10 bytes; discarded")
    }

    @Test func eachRefusalReasonHasItsCode() {
        let codes: [WriteRefusal.Reason: ErrorCode] = [
            .unknownUser: .notFound, .unknownOrganization: .notFound, .unknownRole: .notFound,
            .unknownPermission: .notFound,
            .notMember: .conflict, .lastOrganization: .conflict, .protectedOrganization: .conflict,
            .userExists: .conflict, .emailTaken: .conflict, .identityTaken: .conflict, .externalIDTaken: .conflict,
            .unverifiedEmail: .conflict, .usernameTaken: .conflict, .phoneTaken: .conflict, .externalIDIsCode: .conflict,
            .signUpRefused: .forbidden, .notMemberAtSignIn: .forbidden, .noOrganization: .forbidden,
            .invalidValue: .syntax,
        ]
        #expect(Set(codes.keys) == Set(WriteRefusal.Reason.allCases))
        for (reason, code) in codes {
            #expect(ErrorCode(reason) == code, "\(reason)")
        }
    }

    @Test func refusalsAndFailures() {
        #expect(Reply.line(WriteRefusal.unknownUser("bob")) == #"ERR NOT_FOUND unknown user "bob""#)
        #expect(Reply.line(WriteRefusal.lastOrganization("ana", "org_a"))
            == #"ERR CONFLICT user "ana" would be left without an organization ("org_a" is its only one)"#)
        #expect(Reply.line(WriteRefusal(.signUpRefused, "sign-up is by invitation only"))
            == "ERR FORBIDDEN sign-up is by invitation only")
        #expect(Reply.line(WriteRefusal.invalidValue("user id", "a b", "holds a space"))
            == #"ERR SYNTAX invalid user id "a b": holds a space"#)
        let results: [(Result<WriteOutcome, WriteFailure>, String)] = [
            (.success(.committed(revision: 3)), "OK 3\n"),
            (.failure(.refused(.unknownRole("admn"))), "ERR NOT_FOUND unknown role \"admn\"\n"),
            (.failure(.invalidPolicies("policy.json:1: error: bad")), "ERR INVALID policy.json:1: error: bad\n"),
            (.failure(.unavailable("the database is locked; retry later")),
             "ERR UNAVAILABLE the database is locked; retry later\n"),
            (.failure(.failed("the write failed; see the server log")),
             "ERR INTERNAL the write failed; see the server log\n"),
        ]
        for (result, expected) in results {
            #expect(bytes { Reply.write(result, into: &$0) } == expected)
            #expect(Reply.line(result) + "\n" == expected)
        }
    }
}
