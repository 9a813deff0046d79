import PermdCore
import PermdIndex
import PermdPolicy
import Testing

private func parse(_ text: String) -> (file: PolicyTestFile?, problems: [Diagnostic]) {
    PolicyTestFile.parse(path: "t.test.json", bytes: Array(text.utf8), policy: testPolicy)
}

@Test func fixturesFollowTheDefaults() throws {
    let parsed = parse(#"""
        {"name": "defaults", "organizations": [{"code": "org_a"}],
         "users": [{"id": "nora"}, {"id": "omar", "memberships": [{"org": "org_a"}, {"org": "org_default", "roles": []}]}],
         "expect": [{"user": "nora", "org": "org_default", "allow": ["read:reports"]},
                    {"user": "omar", "org": "org_a", "allow": ["read:invoices"]},
                    {"user": "omar", "org": "org_default", "deny": ["read:invoices"]}]}
        """#)
    let file = try #require(parsed.file, "\(parsed.problems)")
    #expect(file.name == "defaults")
    let outcomes = file.run(policy: testPolicy)
    #expect(outcomes.count == 3)
    #expect(outcomes.allSatisfy { $0.passed }, "\(outcomes)")
}

@Test func failedOutcomesSayWhatWasExpectedAndWhatWasAnswered() throws {
    let file = try #require(parse(#"""
        {"users": [{"id": "al", "memberships": [{"org": "org_default", "roles": ["admin"]}]}],
         "expect": [{"user": "al", "org": "org_default", "deny": ["delete:org"]}]}
        """#).file)
    let outcome = try #require(file.run(policy: testPolicy).first)
    #expect(!outcome.passed)
    #expect((outcome.file, outcome.user, outcome.organization, outcome.permission)
        == ("t.test.json", "al", "org_default", "delete:org"))
    #expect(!outcome.expectedAllow)
    #expect(outcome.answer == .allow([.role("admin")]))
}

@Test func everyProblemIsReportedWithItsPointer() {
    let parsed = parse(#"""
        {"nam": "x", "organizations": [{"code": 3}],
         "users": [{"id": "a b", "memberships": []}, {"id": "c", "memberships": [{"org": "org_x", "roles": ["viewr"]},
                   {"org": "org_default", "roles": ["viewr"], "permissions": ["read:invoice"]}]}],
         "expect": [{"user": "c", "org": "org_default", "allow": "read:invoices"}, 7]}
        """#)
    #expect(parsed.file == nil)
    #expect(parsed.problems.map { "\($0.pointer) \($0.message)" } == [
        #"/nam unknown field "nam""#,
        "/organizations/0/code expected a string, found an integer",
        "/users/0/id " + (Identifier.problemWithID("a b") ?? ""),
        #"/users/1/memberships/0/org unknown organization "org_x""#,
        #"/users/1/memberships/1/roles/0 unknown role "viewr""#,
        #"/users/1/memberships/1/permissions/0 unknown permission "read:invoice""#,
        "/expect/0/allow expected an array, found a string",
        "/expect/1 expected an object, found an integer",
    ])
    let syntax = parse("{\"users\": [\n")
    #expect(syntax.problems.count == 1)
    #expect(syntax.problems.first?.line == 2)
}
