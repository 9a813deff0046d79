import Foundation
import PermdTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The built `permd` binary: PERMD_BIN, or beside the test bundle in the build folder.
func permdBinary() throws -> URL { try builtPermdBinary() }

/// A free TCP port on 127.0.0.1 (bound, read back, released).
func freePort() -> Int { freeLoopbackPort() }

/// A folder with the test policies, a database path and an admin token file (`tok3n`, mode 0600).
final class ServeFolder {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("permd-proc-\(UUID().uuidString)")
    var policies: URL { url.appendingPathComponent("policies") }
    var tokenPath: String { url.appendingPathComponent("token").path }

    init() throws {
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try writePolicy(TestServer.policyJSON)
        try "  tok3n\n".write(toFile: tokenPath, atomically: true, encoding: .utf8)
        chmod(tokenPath, 0o600)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func writePolicy(_ json: String, file: String = "policy.json") throws {
        try json.write(to: policies.appendingPathComponent(file), atomically: true, encoding: .utf8)
    }
}

/// `permd serve` as a subprocess on a free port, its standard error kept for the test.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    private let log = LogBuffer()
    private let errors = Pipe()

    /// Standard error as it arrives (not held by the process object, so no cycle).
    private final class LogBuffer: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        func append(_ more: String) { lock.withLock { text += more } }
        var value: String { lock.withLock { text } }
    }

    /// - Parameters:
    ///   - folder: the policies, database and token file to serve.
    ///   - arguments: more `serve` options.
    ///   - shell: `sh` commands run before permd replaces the shell (same process id),
    ///     e.g. `ulimit -n 128` or `umask 000`.
    ///   - db: the `--db` value (default: `permd.db` in the folder).
    ///   - port: the port to listen on (default: a free one; a restarted replica keeps its own).
    init(folder: ServeFolder, arguments: [String] = [], shell: String? = nil, db: String? = nil,
         port: Int? = nil) async throws {
        self.port = port ?? freePort()
        let serve = ["serve", "--policies", folder.policies.path,
                     "--db", db ?? folder.url.appendingPathComponent("permd.db").path,
                     "--listen", "127.0.0.1:\(self.port)",
                     "--admin-token-file", folder.tokenPath] + arguments
        if let shell {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\(shell); exec \"$@\"", "sh", try permdBinary().path] + serve
        } else {
            process.executableURL = try permdBinary()
            process.arguments = serve
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        errors.fileHandleForReading.readabilityHandler = { [log] handle in
            log.append(String(decoding: handle.availableData, as: UTF8.self))
        }
        try process.run()
        for _ in 0..<200 {
            if let client = try? LineClient(port: self.port), (try? client.request("PING")) == "PONG" { return }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        throw ClientError(description: "permd serve did not start:\n\(logText)")
    }

    deinit { stop() }

    var pid: Int32 { process.processIdentifier }
    var logText: String { log.value }

    func client() throws -> LineClient { try LineClient(port: port) }

    func signal(_ number: Int32) { kill(pid, number) }

    /// Waits until standard error holds `text` `count` times (up to 5 s).
    func waitForLog(_ text: String, count: Int = 1) async throws {
        for _ in 0..<250 {
            if logText.components(separatedBy: text).count - 1 >= count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ClientError(description: "no \"\(text)\" (×\(count)) in the server log:\n\(logText)")
    }

    /// The resident memory of the process in KiB (VmRSS).
    func residentKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ")[1]) else {
            throw ClientError(description: "no VmRSS in /proc/\(pid)/status")
        }
        return kib
    }

    /// The CPU time the process has used so far, user and system (utime + stime).
    func cpuTime() throws -> Duration {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name (which may hold spaces) start at field 3 (state);
        // utime and stime are fields 14 and 15, in clock ticks.
        guard let end = stat.lastIndex(of: ")") else { throw ClientError(description: "unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else {
            throw ClientError(description: "unreadable /proc/\(pid)/stat: \(stat)")
        }
        let ticks = Int(sysconf(Int32(_SC_CLK_TCK)))
        return .milliseconds((user + system) * 1000 / ticks)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        errors.fileHandleForReading.readabilityHandler = nil
    }
}
