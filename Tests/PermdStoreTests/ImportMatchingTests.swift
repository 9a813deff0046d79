import PermdCore
import PermdStore
import Testing

/// The planner merges the rows of one user by id, else email, else username, else phone
/// (SPEC §4), so a file whose rows give only a username or a phone is one user per value.
@Suite struct ImportMatchingTests {
    @Test func rowsWithOnlyAUsernameOrAPhoneMergeAndNeedNoNotice() {
        let result = plan("id,email,username,phone,first_name\n,,jdoe,,\n,,,+15550100,\n,,jdoe,,John\n,,,+15550100,Ann\n")
        #expect(messages(result) == [])
        #expect(result.users.map(\.profile) == [UserProfile(username: "jdoe", firstName: "John"),
                                                UserProfile(phone: "+15550100", firstName: "Ann")])
        #expect(result.users.map(\.line) == [2, 3])
    }

    @Test func aRowWithoutIDTakesTheIDOfTheRowWithItsUsernameOrPhone() {
        let result = plan("id,username,phone,first_name\nu1,jdoe,,\n,jdoe,,John\n,,+34600,\nu2,,+34600,Ann\n")
        #expect(messages(result) == [])
        #expect(result.users.map(\.id) == ["u1", "u2"])
        #expect(result.users.map(\.profile.firstName) == ["John", "Ann"])
    }

    @Test func aUsernameOrPhoneGivenToTwoUsersIsAnError() {
        let result = plan("id,username,phone\nu1,jdoe,+34600\nu2,jdoe,\nu3,,+34600\n")
        #expect(messages(result) == [
            #"users.csv:3: error: username "jdoe" is already given to user "u1" (line 2)"#,
            #"users.csv:4: error: phone "+34600" is already given to user "u1" (line 2)"#,
        ])
    }
}
