import PermdCore
@testable import PermdPolicy
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
        let keys = (0..<300).map { "area\($0 % 20):action\($0)" }
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

    @Test func bandedDistanceAgreesWithTheFullTable() {
        func full(_ a: [UInt8], _ b: [UInt8]) -> Int {
            var row = Array(0...b.count)
            for i in a.indices {
                var diagonal = row[0]
                row[0] = i + 1
                for j in b.indices {
                    let above = row[j + 1]
                    row[j + 1] = min(above + 1, row[j] + 1, diagonal + (a[i] == b[j] ? 0 : 1))
                    diagonal = above
                }
            }
            return row[b.count]
        }
        var generator = SystemRandomNumberGenerator()
        var scratch: [Int] = []
        for _ in 0..<5_000 {
            // Three letters make near misses likely.
            let a = (0..<Int.random(in: 0...8, using: &generator)).map { _ in UInt8.random(in: 97...99, using: &generator) }
            let b = (0..<Int.random(in: 0...8, using: &generator)).map { _ in UInt8.random(in: 97...99, using: &generator) }
            let limit = Int.random(in: 1...3, using: &generator)
            let distance = full(a, b)
            let bounded = a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in Suggestion.boundedDistance(a, b, limit: limit, row: &scratch) }
            }
            #expect(bounded == (distance <= limit ? distance : nil), "\(a) \(b) limit \(limit)")
        }
    }
}
