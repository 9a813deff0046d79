import Foundation
import Testing

/// `permd-load` against a real `permd serve` on 127.0.0.1, over a seeded dataset.
@Suite(.serialized) struct LoadRunTests {
    /// Every field `--json` promises.
    static let summaryFields = ["target", "server", "connections", "pipeline", "duration_ms", "rate", "mix",
                                "elapsed_ms", "requests", "requests_per_s", "checked", "mismatches", "errors",
                                "failed_connections", "p50_us", "p90_us", "p99_us", "p99_9_us", "max_us"]

    @Test func everyAnswerMatchesTheStateItWasDrawnFrom() throws {
        let state = try SeededState()
        let server = try ServeProcess(state)
        let outcome = try Tool.run("permd-load", [
            "--server", server.address, "--users-from", state.database, "--policies", state.policies,
            "--connections", "3", "--pipeline", "4", "--duration", "1.5",
            "--mix", "check=80,perms=10,explain=10", "--json"])
        #expect(outcome.status == 0, "\(outcome)")
        let summary = try outcome.jsonSummary()
        for field in Self.summaryFields {
            #expect(summary[field] != nil, "no \(field) in \(summary)")
        }
        #expect(summary["mismatches"] as? Int == 0)
        #expect(summary["checked"] as? Bool == true)
        #expect(summary["connections"] as? Int == 3)
        #expect(summary["pipeline"] as? Int == 4)
        let requests = try #require(summary["requests"] as? Int)
        #expect(requests > 100)
        let p50 = try #require(summary["p50_us"] as? Int)
        let p99 = try #require(summary["p99_us"] as? Int)
        let max = try #require(summary["max_us"] as? Int)
        #expect(p50 > 0 && p50 <= p99 && p99 <= max)
        #expect(outcome.standardOutput.contains("every answer checked against"))
        #expect(outcome.standardError.contains("permd-load: 1 s: "), "no progress line:\n\(outcome.standardError)")
    }

    @Test func answersThatDifferFromTheStateAreMismatchesAndExit1() throws {
        let state = try SeededState()
        let server = try ServeProcess(state)
        let outcome = try Tool.run("permd-load", [
            "--server", server.address, "--users-from", state.database, "--policies", try state.divergentPolicies(),
            "--connections", "2", "--duration", "1", "--json"])
        #expect(outcome.status == 1, "\(outcome)")
        let mismatches = try #require(try outcome.jsonSummary()["mismatches"] as? Int)
        #expect(mismatches > 0)
        #expect(outcome.standardError.contains("mismatch: CHECK "), "\(outcome)")
        #expect(outcome.standardError.contains("expected \"DENY\", got \"ALLOW\""), "\(outcome)")
    }

    @Test func aRateIsKeptAndLatencyCountsFromTheIntendedSendTime() throws {
        let state = try SeededState()
        let server = try ServeProcess(state)
        let outcome = try Tool.run("permd-load", [
            "--server", server.address, "--users-from", state.database, "--policies", state.policies,
            "--connections", "2", "--rate", "400", "--duration", "1.5", "--json"])
        #expect(outcome.status == 0, "\(outcome)")
        let summary = try outcome.jsonSummary()
        #expect(summary["rate"] as? Int == 400)
        let requests = try #require(summary["requests"] as? Int)
        // 400/s for 1.5 s is 600 intended sends; a late schedule catches up, never runs ahead
        // (an unpaced run sends thousands). The lower bound is loose: on a crowded machine the
        // tool's threads may not get the CPU to catch up before the end.
        #expect((300...600).contains(requests), "\(requests) requests")
        #expect(outcome.standardOutput.contains("latency from each intended send time"))
    }

    @Test func writersToggleARoleAndLeaveTheStateAsItWas() throws {
        let state = try SeededState()
        let before = try Tool.succeed("permd", ["export", "--policies", state.policies, "--db", state.database])
        let server = try ServeProcess(state, adminToken: true)
        let revisionBefore = try server.revision()
        let outcome = try Tool.run("permd-load", [
            "--server", server.address, "--users-from", state.database, "--policies", state.policies,
            "--token-file", state.token, "--connections", "3", "--pipeline", "2", "--duration", "1",
            "--mix", "check=50,write=50", "--json"])
        #expect(outcome.status == 0, "\(outcome)")
        let summary = try outcome.jsonSummary()
        #expect(summary["mismatches"] as? Int == 0)
        // Every write committed a change: ROLE.ADD of a role not held, then its ROLE.DEL.
        let requests = try #require(summary["requests"] as? Int)
        #expect(try server.revision() >= revisionBefore + UInt64(requests / 2 / 2))
        server.stop()
        let after = try Tool.succeed("permd", ["export", "--policies", state.policies, "--db", state.database])
        #expect(after.standardOutput == before.standardOutput)
    }

    @Test func writesWithoutTheTokenAreRefusedAndCounted() throws {
        let state = try SeededState()
        let server = try ServeProcess(state, adminToken: true)
        let outcome = try Tool.run("permd-load", [
            "--server", server.address, "--users-from", state.database, "--policies", state.policies,
            "--connections", "1", "--duration", "0.5", "--mix", "write=100", "--json"])
        #expect(outcome.status == 1, "\(outcome)")
        let summary = try outcome.jsonSummary()
        #expect(try #require(summary["errors"] as? Int) > 0)
        #expect(outcome.standardError.contains("got \"ERR NOAUTH"), "\(outcome)")
    }

    @Test func withoutUsersFromTheAnswersAreNotChecked() throws {
        let state = try SeededState()
        let server = try ServeProcess(state)
        let outcome = try Tool.run("permd-load", [
            "--server", server.address, "--users", "300", "--user-prefix", "user_000", "--org", "org_default",
            "--perms", "read:invoices,create:projects", "--duration", "0.5", "--json"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(try outcome.jsonSummary()["checked"] as? Bool == false)
        #expect(outcome.standardOutput.contains("NOT checked"))
    }

    @Test func usageErrorsExit2() throws {
        let outcome = try Tool.run("permd-load", ["--users-from", "/nonexistent.db", "--duration", "1"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains("--users-from needs --policies"))
        let redis = try Tool.run("permd-load", ["--target", "redis", "--users", "1", "--org", "o", "--perms", "p",
                                                "--mix", "check=50,explain=50"])
        #expect(redis.status == 2, "\(redis)")
    }

    @Test func anUnreachableServerExits1NamingIt() throws {
        let port = ServeProcess.freePort()
        let outcome = try Tool.run("permd-load", ["--server", "127.0.0.1:\(port)", "--users", "1", "--org", "o",
                                                  "--perms", "p", "--duration", "0.2"])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains("cannot connect to 127.0.0.1:\(port)"), "\(outcome)")
    }
}
