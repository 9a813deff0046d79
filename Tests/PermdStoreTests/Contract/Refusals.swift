import PermdCore
import PermdStore
import Testing

/// Why the contract expects a write to be refused: the domain's reason (a store refuses in
/// the domain's words; PermdProtocol alone maps a reason to an `ERR` code).
typealias Refusal = WriteRefusal.Reason

/// Expects `result` to be refused for `reason`, with a message naming each of `names`.
func expectRefused(_ result: Result<WriteOutcome, WriteRefusal>, _ reason: Refusal, naming names: String...,
                   sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    switch result {
    case .success(let outcome):
        Issue.record("expected a refusal (\(reason)), got \(outcome)", sourceLocation: sourceLocation)
    case .failure(let error):
        expectRefusal(error, reason, naming: names, sourceLocation: sourceLocation)
    }
}

/// Expects `error` (a refused write or import record) to be `reason`, naming each of `names`.
func expectRefusal(_ error: WriteRefusal, _ reason: Refusal, naming names: [String] = [],
                   sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(error.reason == reason, "expected \(reason), got \(error)", sourceLocation: sourceLocation)
    for name in names {
        #expect(error.message.contains("\"\(name)\""), "\(error) does not name \"\(name)\"",
                sourceLocation: sourceLocation)
    }
}

extension StoreUnderTest {
    /// Performs `request`, expects it refused for `reason`, and expects the state unchanged:
    /// the same revision and nothing logged.
    func expectRefused(_ request: Write, _ reason: Refusal, naming names: String...,
                       sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let before = try store.currentRevision()
        let result = try write(request)
        switch result {
        case .success(let outcome):
            Issue.record("\(request): expected a refusal (\(reason)), got \(outcome)", sourceLocation: sourceLocation)
        case .failure(let error):
            expectRefusal(error, reason, naming: names, sourceLocation: sourceLocation)
        }
        #expect(try store.currentRevision() == before, "a refused write makes no revision",
                sourceLocation: sourceLocation)
        #expect(try changes(after: before) == [], "a refused write logs nothing", sourceLocation: sourceLocation)
    }
}
