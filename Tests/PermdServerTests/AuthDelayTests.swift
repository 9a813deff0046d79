import Foundation
import Testing

/// SPEC §5 `AUTH`: a wrong token is answered after 100 ms, the connection's later lines wait
/// behind it, other connections do not; wrong tokens are logged at most one line a second,
/// with a count and never the token.
@Suite(.serialized) struct AuthDelayTests {
    @Test func twentyWrongTokensTakeTwoSecondsAndThePingAfterThemWaits() async throws {
        try await withTestServer { server in
            let client = try server.client()
            let started = ContinuousClock.now
            try client.send(String(repeating: "AUTH guess-7f3a\n", count: 20) + "PING\n")

            // Meanwhile the other connections (on both event loops) are answered: the wait
            // is scheduled, not slept, so it holds up no event loop (bounds loose for a busy machine).
            try await Task.sleep(for: .milliseconds(150))
            let asked = ContinuousClock.now
            for other in try (0..<4).map({ _ in try server.client() }) {
                #expect(try other.request("PING") == "PONG")
            }
            #expect(ContinuousClock.now - asked < .milliseconds(800))

            let refusals = try client.readLines(20)
            #expect(refusals.allSatisfy { $0 == "ERR NOAUTH wrong token" }, "\(refusals)")
            #expect(try client.readLine() == "PONG")
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(1900), "20 wrong tokens answered in \(elapsed)")
            // The right token is not delayed, and the connection keeps working.
            let right = ContinuousClock.now
            try client.send(String(repeating: "AUTH s3cret\n", count: 20))
            #expect(try client.readLines(20) == Array(repeating: "OK", count: 20))
            #expect(ContinuousClock.now - right < .milliseconds(1000))
            #expect(try client.request(#"USER.ADD {"id": "ana"}"#).hasPrefix("OK ana "))
        }
    }

    @Test func wrongTokensAreLoggedAtMostOnceASecondWithACount() async throws {
        let logs = LogCapture()
        try await withTestServer(logs: logs) { server in
            let client = try server.client()
            try client.send(String(repeating: "AUTH guess-7f3a\n", count: 20))
            _ = try client.readLines(20)
            // The count of the last second is logged when that second ends.
            try await Task.sleep(for: .milliseconds(1200))
            let lines = logs.lines(containing: "wrong token")
            #expect(!lines.isEmpty && lines.count < 20, "\(logs.messages)")
            for (earlier, later) in zip(lines, lines.dropFirst()) {
                #expect(later.time - earlier.time >= .milliseconds(950), "\(lines.map(\.text))")
            }
            let counts = lines.compactMap { line in
                line.text.split(separator: " ").first { $0.hasPrefix("count=") }.flatMap { Int($0.dropFirst(6)) }
            }
            #expect(counts.count == lines.count && counts.reduce(0, +) == 20, "\(lines.map(\.text))")
            #expect(!logs.messages.contains { $0.contains("guess-7f3a") }, "\(logs.messages)")
        }
    }

    @Test func aQuitAfterAWrongTokenIsAnsweredAfterIt() async throws {
        try await withTestServer { server in
            let client = try server.client()
            try client.send("AUTH nope\nQUIT\nPING\n")
            #expect(try client.readLines(2) == ["ERR NOAUTH wrong token", "OK"])
            #expect(try client.readLine() == nil)
        }
    }
}
