import PermdProtocol
import Testing

/// The user words `CheckLookahead` finds in `text`, and the lines it says it looked at.
private func lookahead(_ text: String, maxLines: Int = 32) -> (users: [String], lines: Int) {
    var users: [String] = []
    let lines = Array(text.utf8).withUnsafeBytes { bytes in
        CheckLookahead.forEachUser(in: bytes, maxLines: maxLines) { users.append(String(decoding: $0, as: UTF8.self)) }
    }
    return (users, lines)
}

@Test func findsTheUserOfEachCompleteCheckLineAndCountsEveryLine() {
    let burst = "CHECK alice org_a read\r\nPING\ncheck  bob org_b write delete\n\nCHECK\nCHECK carol org_c"
    let found = lookahead(burst)
    // The unterminated last line is not looked at; a CHECK without a user gives none.
    #expect(found.users == ["alice", "bob"])
    #expect(found.lines == 5)
}

@Test func stopsAfterMaxLines() {
    let found = lookahead("CHECK u1 o p\nCHECK u2 o p\nCHECK u3 o p\n", maxLines: 2)
    #expect(found.users == ["u1", "u2"])
    #expect(found.lines == 2)
}

@Test func commandsThatOnlyStartLikeCheckAreNotChecks() {
    let found = lookahead("CHECKS u1 o p\nCHEC u2 o p\nEXPLAIN u3 o p\n")
    #expect(found.users.isEmpty)
    #expect(found.lines == 3)
}
