import Foundation
import PermdTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Errors of the harness itself (not of the programs under test).
struct HarnessError: Error, CustomStringConvertible {
    var description: String
}

/// Runs the built executables (`permd`, `permd-load`) as a user would.
enum Tool {
    /// What one run printed, and how it ended.
    struct Outcome: CustomStringConvertible {
        var status: Int32
        var standardOutput: String
        var standardError: String

        /// The last line of standard output, parsed as a JSON object (`--json`).
        func jsonSummary() throws -> [String: Any] {
            guard let line = standardOutput.split(separator: "\n").last,
                  let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw HarnessError(description: "the last line is not a JSON object:\n\(self)")
            }
            return object
        }

        var description: String { "exit \(status)\nstdout:\n\(standardOutput)\nstderr:\n\(standardError)" }
    }

    /// The executable `name`, found beside the test bundle (SwiftPM puts both in
    /// `<scratch>/debug/`).
    static func executable(_ name: String) throws -> URL {
        let starts = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0])]
            + Bundle.allBundles.map(\.bundleURL)
        for start in starts {
            var directory = start.standardizedFileURL
            for _ in 0..<6 {
                let candidate = directory.appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                   FileManager.default.isExecutableFile(atPath: candidate.path) {
                    return candidate
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw HarnessError(description: "cannot find the \(name) executable; build it first")
    }

    /// Runs `name arguments...` to its end (`runToEnd`: output through files, not pipes).
    static func run(_ name: String, _ arguments: [String]) throws -> Outcome {
        let run = try runToEnd(try executable(name), arguments)
        return Outcome(status: run.status, standardOutput: run.standardOutput, standardError: run.standardError)
    }

    /// Runs and requires exit status 0.
    @discardableResult
    static func succeed(_ name: String, _ arguments: [String]) throws -> Outcome {
        let outcome = try run(name, arguments)
        guard outcome.status == 0 else {
            throw HarnessError(description: "\(name) \(arguments.joined(separator: " ")) failed:\n\(outcome)")
        }
        return outcome
    }
}

/// A seeded dataset imported into a database, in a temporary folder removed at the end.
final class SeededState {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("permd-load-\(UUID().uuidString)")
    var policies: String { folder.appendingPathComponent("data/policies").path }
    var csv: String { folder.appendingPathComponent("data/users.csv").path }
    var database: String { folder.appendingPathComponent("permd.db").path }
    var token: String { folder.appendingPathComponent("token").path }

    /// Seeds 300 users in 20 organizations and imports them; writes an admin token file.
    init() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Tool.succeed("permd-load", ["seed", "--users", "300", "--orgs", "20", "--roles", "8", "--permissions", "40",
                                        "--out", folder.appendingPathComponent("data").path])
        try Tool.succeed("permd", ["import", csv, "--policies", policies, "--db", database])
        try "l0ad-t0ken\n".write(toFile: token, atomically: true, encoding: .utf8)
        chmod(token, 0o600)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// A copy of the policies where the default role grants one permission instead of
    /// every `read:` one: a reference that disagrees with the server on many answers.
    func divergentPolicies() throws -> String {
        let copy = folder.appendingPathComponent("divergent")
        try FileManager.default.copyItem(atPath: policies, toPath: copy.path)
        let roles = copy.appendingPathComponent("roles.json")
        let text = try String(contentsOf: roles, encoding: .utf8)
        #expect(text.contains("\"read:*\""))
        try text.replacingOccurrences(of: "\"read:*\"", with: "\"read:invoices\"")
            .write(to: roles, atomically: true, encoding: .utf8)
        return copy.path
    }
}

/// `permd serve` as a child process on a free 127.0.0.1 port, stopped with SIGTERM.
final class ServeProcess {
    let process = Process()
    let port: Int

    init(_ state: SeededState, adminToken: Bool = false) throws {
        port = Self.freePort()
        process.executableURL = try Tool.executable("permd")
        process.arguments = ["serve", "--policies", state.policies, "--db", state.database,
                             "--listen", "127.0.0.1:\(port)"] + (adminToken ? ["--admin-token-file", state.token] : [])
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PERMD_") }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 where process.isRunning {
            if Self.answersPing(port) { return }
            usleep(25_000)
        }
        stop()
        throw HarnessError(description: "permd serve did not start on 127.0.0.1:\(port)")
    }

    deinit { stop() }

    var address: String { "127.0.0.1:\(port)" }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// A free TCP port on 127.0.0.1 (bound, read back, released).
    static func freePort() -> Int { freeLoopbackPort() }

    /// The server's revision (`REVISION`).
    func revision() throws -> UInt64 {
        let reply = Self.request("REVISION", port: port)
        guard let reply, reply.hasPrefix("OK "), let revision = UInt64(reply.dropFirst(3).dropLast()) else {
            throw HarnessError(description: "REVISION answered \(reply ?? "nothing")")
        }
        return revision
    }

    /// Whether the server at `port` answers `PING` with `PONG`.
    private static func answersPing(_ port: Int) -> Bool {
        request("PING", port: port) == "PONG\n"
    }

    /// Sends one request line on a new connection and returns the reply line (one read).
    private static func request(_ line: String, port: Int) -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let bytes = Array((line + "\n").utf8)
        _ = send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL))
        var reply = [UInt8](repeating: 0, count: 256)
        let count = recv(descriptor, &reply, reply.count, 0)
        return count > 0 ? String(decoding: reply[..<count], as: UTF8.self) : nil
    }
}
