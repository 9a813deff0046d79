import PermdCore
import PermdPolicy
import Testing

/// "Did you mean" stays close and bounded, even over many keys.
@Suite struct SuggestionTests {
    private func roleWith(_ pattern: String, among keys: [String]) throws -> String? {
        let fixture = try PolicyFixture([
            "permissions.json": #"{"permissions": [\#(keys.map { #"{"key": "\#($0)"}"# }.joined(separator: ","))]}"#,
            "roles.json": #"{"roles": [{"key": "owner", "permissions": ["*", "\#(pattern)"]}]}"#,
        ])
        defer { fixture.remove() }
        return fixture.load().diagnostics.first?.message
    }

    @Test func suggestsTheClosestKeyAndBreaksTiesByName() throws {
        #expect(try roleWith("read:userz", among: ["read:users", "read:usera", "write:users"])
            == #"unknown permission "read:userz" (did you mean "read:usera"?)"#)
        #expect(try roleWith("raed:invoices", among: ["read:invoices", "read:invoice"])
            == #"unknown permission "raed:invoices" (did you mean "read:invoices"?)"#)
    }

    @Test func suggestsNothingFarAway() throws {
        #expect(try roleWith("billing:refund", among: ["read:invoices", "read:users"])
            == #"unknown permission "billing:refund""#)
    }

    @Test func manyMisspellingsOverManyKeysStillFinish() throws {
        let keys = (0..<1_000).map { "area\($0 % 20):action\($0)" }
        let fixture = try PolicyFixture([
            "permissions.json": #"{"permissions": [\#(keys.map { #"{"key": "\#($0)"}"# }.joined(separator: ","))]}"#,
            "roles.json": #"{"roles": [{"key": "owner", "permissions": ["*", \#(keys.map { #""\#($0)x""# }.joined(separator: ","))]}]}"#,
        ])
        defer { fixture.remove() }
        let diagnostics = fixture.load().diagnostics
        #expect(diagnostics.count == keys.count)
        #expect(diagnostics.first?.message == #"unknown permission "area0:action0x" (did you mean "area0:action0"?)"#)
        // Past the budget, messages carry no suggestion rather than slowing the validation.
        #expect(diagnostics.filter { $0.message.contains("did you mean") }.count < keys.count)
    }
}
