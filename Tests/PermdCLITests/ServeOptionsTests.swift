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

    /// SPEC §7: a bad value in a variable is reported under the variable's name.
    @Test(arguments: [
        ("PERMD_IDLE_TIMEOUT", "-5", "--idle-timeout"),
        ("PERMD_IDLE_TIMEOUT", "0", "--idle-timeout"),
        ("PERMD_MAX_LINE", "0", "--max-line"),
        ("PERMD_MAX_CONNECTIONS", "-1", "--max-connections"),
        ("PERMD_LISTEN", "7468", "--listen"),
        ("PERMD_UNIX_MODE", "0999", "--unix-mode"),
        ("PERMD_UNIX_MODE", "rw", "--unix-mode"),
    ])
    func aBadValueInAVariableIsReportedUnderItsName(variable: String, value: String, flag: String) throws {
        let outcome = try PermdProcess.run(["serve"], environment: [variable: value])
        #expect(outcome.status == 2, "\(outcome)")
        let message = outcome.standardError.split(separator: "\n").first.map(String.init) ?? ""
        #expect(message.contains(variable), "\(outcome)")
        #expect(!message.contains(flag), "\(outcome)")
    }

    /// The same value given as a flag is reported under the flag, even with the variable set.
    @Test func aBadFlagIsReportedUnderTheFlag() throws {
        let outcome = try PermdProcess.run(["serve", "--idle-timeout", "0"], environment: ["PERMD_IDLE_TIMEOUT": "30"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains("--idle-timeout must be at least 1"), "\(outcome)")
        #expect(!outcome.standardError.contains("PERMD_IDLE_TIMEOUT"), "\(outcome)")
    }

    @Test(arguments: ["0999", "1777", "rw-------", "", "0o600"])
    func aBadUnixModeIsAUsageError(mode: String) throws {
        let outcome = try PermdProcess.run(["serve", "--unix-mode", mode])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains("--unix-mode must be"), "\(outcome)")
    }
}
