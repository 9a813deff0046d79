import Testing

/// `permd serve` option handling that needs no running server.
@Suite struct ServeOptionsTests {
    @Test func aNumberFromTheEnvironmentThatIsNotANumberIsAUsageError() throws {
        let outcome = try PermdProcess.run(["serve"], environment: ["PERMD_MAX_LINE": "8k"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains(#"PERMD_MAX_LINE must be a whole number, not "8k""#))
    }

    @Test func aMalformedListenAddressIsAUsageError() throws {
        let outcome = try PermdProcess.run(["serve", "--listen", "7468"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains("--listen must be HOST:PORT"))
    }
}
