import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The path of `redis-server`, when installed (`Benchmarks/compare.sh` installs it).
private let redisServer = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// `--target redis`: the same workload as RESP, judged against the same state.
@Suite(.serialized, .enabled(if: redisServer != nil, "redis-server is not installed"))
struct RedisTargetTests {
    /// A Redis on a free 127.0.0.1 port, without persistence, in its own folder.
    final class RedisProcess {
        let process = Process()
        let port = ServeProcess.freePort()

        init(folder: URL) throws {
            process.executableURL = URL(fileURLWithPath: try #require(redisServer))
            process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                 "--dir", folder.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            for _ in 0..<200 {
                if Self.listening(port) { return }
                usleep(25_000)
            }
            throw HarnessError(description: "redis-server did not start on port \(port)")
        }

        /// SIGKILL, not SIGTERM: a child of the test process inherits its blocked signals,
        /// and Redis, unlike permd, does not unblock SIGTERM. Nothing it holds is kept.
        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        var address: String { "127.0.0.1:\(port)" }

        private static func listening(_ port: Int) -> Bool {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(descriptor) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
        }
    }

    @Test func redisFilledFromTheStateAnswersAsTheStateSays() throws {
        let state = try SeededState()
        let redis = try RedisProcess(folder: state.folder)
        let fill = try Tool.succeed("permd-load", ["fill-redis", "--server", redis.address,
                                                   "--users-from", state.database, "--policies", state.policies])
        #expect(fill.standardOutput.contains("sets"), "\(fill)")
        let outcome = try Tool.run("permd-load", [
            "--target", "redis", "--server", redis.address, "--users-from", state.database, "--policies", state.policies,
            "--connections", "2", "--pipeline", "8", "--duration", "1", "--mix", "check=80,perms=10,write=10", "--json"])
        #expect(outcome.status == 0, "\(outcome)")
        let summary = try outcome.jsonSummary()
        #expect(summary["target"] as? String == "redis")
        #expect(summary["mismatches"] as? Int == 0)
        #expect(try #require(summary["requests"] as? Int) > 100)

        // Filled from other policies, Redis disagrees with the state on many answers.
        try Tool.succeed("permd-load", ["fill-redis", "--server", redis.address, "--users-from", state.database,
                                        "--policies", try state.divergentPolicies()])
        let divergent = try Tool.run("permd-load", [
            "--target", "redis", "--server", redis.address, "--users-from", state.database, "--policies", state.policies,
            "--duration", "0.5", "--json"])
        #expect(divergent.status == 1, "\(divergent)")
        #expect(try #require(try divergent.jsonSummary()["mismatches"] as? Int) > 0)
        #expect(divergent.standardError.contains("expected \":1\\r\\n\", got \":0\\r\\n\"")
                    || divergent.standardError.contains("expected \":1\", got \":0\""), "\(divergent)")
    }
}
