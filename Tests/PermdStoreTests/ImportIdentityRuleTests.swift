import PermdCore
import PermdStore
import Testing

/// The identity rules of SPEC §1 as an import's plan meets them, before anything is written:
/// blank values are no value, reserved ids and malformed emails are errors on their line.
@Suite struct ImportIdentityRuleTests {
    @Test func blankValuesAreNoValueAndMatchNobody() {
        let result = plan("id,email,username,first_name\nu1, ,\" \",\nu2,\"  \",\t,Bo\n, , ,Cy\n")
        #expect(result.users.map(\.id) == ["u1", "u2"])
        #expect(result.users.map(\.profile) == [UserProfile(), UserProfile(firstName: "Bo")])
        #expect(messages(result) == ["users.csv:4: error: a user needs at least one of id, email, phone, username"])
    }

    @Test func reservedIDsAndMalformedEmailsAreErrorsOnTheirLine() {
        let result = plan("id,email\nMORE,\n-,\nu1,a@b\nu2,a b@c.d\n")
        #expect(messages(result) == [
            #"users.csv:2: error: invalid user id "MORE": is reserved (WHO uses it as a marker)"#,
            #"users.csv:3: error: invalid user id "-": is reserved (WHO uses it as a marker)"#,
            #"users.csv:4: error: invalid email "a@b": the domain after the @ must be like example.com"#,
            #"users.csv:5: error: invalid email "a b@c.d": holds a space or a control character"#,
        ])
    }
}
