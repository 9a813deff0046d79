import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SPEC §5 Limits: running out of descriptors never stops permd serving the connections it
/// has, nor makes it spin. Each test runs `permd serve` in a shell with a lowered
/// RLIMIT_NOFILE and holds more connections than that limit allows.
@Suite(.serialized) struct DescriptorLimitTests {
    /// Sets the limits of another process (util-linux).
    static let prlimit = "/usr/bin/prlimit"

    /// Opens `count` connections (each connect completes in the kernel's backlog, whether or
    /// not the server accepts it).
    private func hold(_ count: Int, port: Int) throws -> [LineClient] {
        try (0..<count).map { _ in try LineClient(port: port) }
    }

    @Test func aHardLimitLowersMaxConnectionsAndTheRestGetBusyWithoutSpinning() async throws {
        let folder = try ServeFolder()
        let serve = try await ServeProcess(folder: folder, shell: "ulimit -n 128")
        let first = try serve.client()
        #expect(try first.request("PING") == "PONG")

        let held = try hold(200, port: serve.port)
        try await Task.sleep(for: .milliseconds(300))
        let before = try serve.cpuTime()
        try await Task.sleep(for: .seconds(2))
        let used = try serve.cpuTime() - before
        #expect(used < .milliseconds(500), "the server used \(used) of CPU in 2 s while 200 connections were held")

        let late = try serve.client()
        #expect(try late.readLine()?.hasPrefix("ERR BUSY") == true)
        #expect(try first.request("PING") == "PONG")
        #expect(try held[0].request("PING") == "PONG")
        // The warning names what was asked for and what the limit allows.
        let warning = try #require(serve.logText.split(separator: "\n").first { $0.contains("--max-connections") },
                                   "no warning in:\n\(serve.logText)")
        #expect(warning.contains("10000") && warning.contains("128"), "\(warning)")
    }

    /// The limit lowered under a running server (as another process's descriptors or a
    /// lower limit could): accepts fail with EMFILE. The server pauses accepting instead of
    /// spinning, logs the failures once a second with a count, keeps serving the
    /// connections it has, and accepts the waiting ones once descriptors are freed.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: prlimit), "needs util-linux's prlimit"))
    func outOfDescriptorsTheServerPausesAcceptingAndKeepsServing() async throws {
        let folder = try ServeFolder()
        let serve = try await ServeProcess(folder: folder, shell: "ulimit -n 256")
        var held = try hold(20, port: serve.port)
        #expect(try held[19].request("PING") == "PONG")
        // Room for 5 more descriptors: of the 25 connections that follow, 20 cannot be accepted.
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(serve.pid)/fd").count
        let prlimit = try Process.run(URL(fileURLWithPath: Self.prlimit),
                                      arguments: ["--pid", "\(serve.pid)", "--nofile=\(open + 5):256"])
        prlimit.waitUntilExit()
        try #require(prlimit.terminationStatus == 0)

        let lowered = ContinuousClock.now
        let waiting = try hold(25, port: serve.port)
        try await Task.sleep(for: .milliseconds(300))
        let before = try serve.cpuTime()
        try await Task.sleep(for: .seconds(2))
        let used = try serve.cpuTime() - before
        #expect(used < .milliseconds(250), "the server used \(used) of CPU in 2 s out of descriptors")
        #expect(try held[0].request("PING") == "PONG")
        try await serve.waitForLog("cannot accept")
        let failures = serve.logText.split(separator: "\n").filter { $0.contains("cannot accept") }
        let seconds = (ContinuousClock.now - lowered).components.seconds
        #expect(failures.count <= 1 + Int(seconds), "\(failures.count) lines in \(seconds) s:\n\(failures.joined(separator: "\n"))")
        #expect(failures.allSatisfy { $0.contains("count=") }, "\(failures)")

        // Freed descriptors are used: the last connection waiting is accepted and served.
        held.removeAll()
        #expect(try waiting[24].request("PING") == "PONG")
    }

    @Test func theSoftLimitIsRaisedToTheHardOne() async throws {
        var hard = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &hard)
        try #require(hard.rlim_max >= 1024, "the hard limit \(hard.rlim_max) is too low for this test")
        let folder = try ServeFolder()
        let serve = try await ServeProcess(folder: folder, shell: "ulimit -Sn 64")
        let held = try hold(150, port: serve.port)
        try await Task.sleep(for: .milliseconds(300))
        let before = try serve.cpuTime()
        try await Task.sleep(for: .seconds(1))
        let used = try serve.cpuTime() - before
        #expect(used < .milliseconds(500), "the server used \(used) of CPU in 1 s while 150 connections were held")
        #expect(try held[149].request("PING") == "PONG")
        #expect(try held[0].request("PING") == "PONG")
        #expect(!serve.logText.contains("--max-connections"), "\(serve.logText)")
    }
}
