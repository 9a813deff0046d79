import Foundation
import PermdTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `permd serve` refusing to start (SPEC §5 token files, §7 exit status): exit 1 with a
/// sentence naming what is wrong and where, never a library's error value.
@Suite struct ServeStartupTests {
    /// A folder with a policy, where `serve` runs on a port the OS picks.
    final class Folder {
        let path: String

        init() throws {
            path = try PermdProcess.temporaryDirectory(["policies/p.json": Self.policy])
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        static let policy = """
            {"permissions": [{"key": "read:invoices"}],
             "roles": [{"key": "viewer", "permissions": ["read:*"], "default_for_new_users": true}],
             "organizations": [{"code": "org_default"}],
             "settings": {"default_organization": "org_default"}}
            """

        /// Writes `content` to `name` in the folder with `mode`; returns its path.
        func file(_ name: String, _ content: String, mode: mode_t = 0o600) throws -> String {
            let file = path + "/" + name
            try Data(content.utf8).write(to: URL(fileURLWithPath: file))
            chmod(file, mode)
            return file
        }

        /// Runs `permd serve` here with `arguments`; a server that does start is stopped
        /// after `seconds` (and the run reported as status -1), so a test never hangs on it.
        func serve(_ arguments: [String], environment: [String: String?] = [:],
                   stopAfter seconds: Double = 10) throws -> PermdProcess.Outcome {
            let base = ["serve", "--policies", path + "/policies", "--db", path + "/permd.db"]
            let listen = arguments.contains("--listen") || environment["PERMD_LISTEN"] != nil
                ? [] : ["--listen", "127.0.0.1:0"]
            return try ServeStartupTests.run(base + listen + arguments, environment: environment, stopAfter: seconds)
        }
    }

    /// `PermdProcess.run` with a time limit: `serve` runs until stopped.
    static func run(_ arguments: [String], environment: [String: String?], stopAfter seconds: Double) throws -> PermdProcess.Outcome {
        let process = Process()
        process.executableURL = try PermdProcess.executable()
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PERMD_") }
        for (name, value) in environment { variables[name] = value }
        process.environment = variables
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("permd-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let stillRunning = process.isRunning
        if stillRunning { process.terminate() }
        process.waitUntilExit()
        try err.close()
        return PermdProcess.Outcome(
            status: stillRunning ? -1 : process.terminationStatus, standardOutput: "",
            standardError: String(decoding: try fileContents(errURL), as: UTF8.self))
    }

    // MARK: Token files

    @Test func aMissingTokenFileIsInvalidInput() throws {
        let folder = try Folder()
        let missing = folder.path + "/no-such-token"
        let outcome = try folder.serve(["--admin-token-file", missing])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains(missing) && outcome.standardError.contains("does not exist"), "\(outcome)")
        #expect(!outcome.standardError.contains("Usage"), "\(outcome)")
    }

    @Test func twoTokenFilesWithTheSameBaseNameAreRefused() throws {
        let folder = try Folder()
        let first = try folder.file("app.token", "one\n", mode: 0o600)
        try FileManager.default.createDirectory(atPath: folder.path + "/other", withIntermediateDirectories: true)
        let second = try folder.file("other/app.token", "two\n", mode: 0o600)
        let outcome = try folder.serve(["--admin-token-file", first, "--admin-token-file", second])
        #expect(outcome.status != 0, "\(outcome)")
        #expect(outcome.standardError.contains("have the same base name \"app.token\""), "\(outcome)")
    }

    @Test func anEmptyTokenFileIsInvalidInput() throws {
        let folder = try Folder()
        let token = try folder.file("token", " \n\t\n")
        let outcome = try folder.serve(["--admin-token-file", token])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains(token) && outcome.standardError.contains("empty"), "\(outcome)")
        #expect(!outcome.standardError.contains("Usage"), "\(outcome)")
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660] as [mode_t])
    func aTokenFileOthersCanReadIsRefused(mode: mode_t) throws {
        let folder = try Folder()
        let token = try folder.file("token", "s3cret\n", mode: mode)
        let outcome = try folder.serve(["--admin-token-file", token])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains("permd: --admin-token-file \(token): the file is readable by group or others (mode \(String(mode, radix: 8))); run chmod 600 \(token)"),
                "\(outcome)")
    }

    /// Whoever may change the token file is admin after the next start.
    @Test func aTokenFileOthersCanChangeIsRefused() throws {
        let folder = try Folder()
        let token = try folder.file("token", "s3cret\n", mode: 0o620)
        let outcome = try folder.serve(["--admin-token-file", token])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains("writable by group or others") && outcome.standardError.contains("chmod 600"),
                "\(outcome)")
    }

    @Test(arguments: ["s3 cret", "s3\tcret", "s3\ncret"])
    func aTokenWithWhitespaceInsideIsRefused(token content: String) throws {
        let folder = try Folder()
        let token = try folder.file("token", "  \(content)\n")
        let outcome = try folder.serve(["--query-token-file", token])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains(token) && outcome.standardError.contains("whitespace"), "\(outcome)")
    }

    @Test func aTokenAUTHCannotSendIsRefused() throws {
        let folder = try Folder()
        let long = try folder.file("long", String(repeating: "x", count: 256))
        let outcome = try folder.serve(["--admin-token-file", long])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains(long) && outcome.standardError.contains("255"), "\(outcome)")
        let accented = try folder.file("accented", "sécret")
        let second = try folder.serve(["--admin-token-file", accented])
        #expect(second.status == 1, "\(second)")
        #expect(second.standardError.contains("printable ASCII"), "\(second)")
    }

    @Test func aTokenFileFromTheEnvironmentIsNamedByItsVariable() throws {
        let folder = try Folder()
        let outcome = try folder.serve([], environment: ["PERMD_ADMIN_TOKEN_FILE": folder.path + "/absent"])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains("permd: PERMD_ADMIN_TOKEN_FILE=\(folder.path)/absent: the file does not exist"),
                "\(outcome)")
    }

    @Test func aGoodTokenFileStartsTheServer() throws {
        let folder = try Folder()
        let token = try folder.file("token", "  s3cret\n", mode: 0o400)
        let outcome = try folder.serve(["--admin-token-file", token], stopAfter: 2)
        #expect(outcome.status == -1, "the server did not keep running: \(outcome)")
    }

    // MARK: Listeners

    /// A socket listening on a 127.0.0.1 port the system picked: the port is in use until `fd` is closed.
    static func occupiedPort() -> (fd: Int32, port: Int) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length)
                return getsockname(listener, $0, &length)
            }
        }
        listen(listener, 1)
        return (listener, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test func anAddressInUseIsNamed() throws {
        let folder = try Folder()
        let (listener, port) = Self.occupiedPort()
        defer { close(listener) }
        let outcome = try folder.serve(["--listen", "127.0.0.1:\(port)"])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains("permd: cannot listen on 127.0.0.1:\(port): address already in use"),
                "\(outcome)")
    }

    @Test func aMetricsAddressInUseIsNamedWithItsOption() throws {
        let folder = try Folder()
        let (listener, port) = Self.occupiedPort()
        defer { close(listener) }
        let outcome = try folder.serve(["--metrics-listen", "127.0.0.1:\(port)"])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains("permd: cannot listen on 127.0.0.1:\(port): address already in use (--metrics-listen)"),
                "\(outcome)")
        let malformed = try folder.serve(["--metrics-listen", "9468"])
        #expect(malformed.status == 2 && malformed.standardError.contains("--metrics-listen must be HOST:PORT"), "\(malformed)")
    }

    @Test func aUnixPathThatIsARegularFileIsNamedAndKept() throws {
        let folder = try Folder()
        let file = try folder.file("notes.txt", "keep me\n", mode: 0o644)
        let outcome = try folder.serve(["--unix", file])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains("permd: cannot listen on \(file): ") &&
                outcome.standardError.contains("not a socket"), "\(outcome)")
        #expect(!outcome.standardError.contains("WrongType"), "\(outcome)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me\n")
    }

    @Test func aUnixPathTooLongNamesTheLimit() throws {
        let folder = try Folder()
        let path = folder.path + "/" + String(repeating: "s", count: 120) + ".sock"
        let outcome = try folder.serve(["--unix", path])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains("107 bytes") && outcome.standardError.contains(path), "\(outcome)")
        #expect(!outcome.standardError.contains("unixDomainSocketPathTooLong"), "\(outcome)")
    }

    @Test func aLiveUnixSocketIsNotTakenOver() throws {
        let folder = try Folder()
        let path = folder.path + "/live.sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        listen(listener, 1)
        let outcome = try folder.serve(["--unix", path])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.standardError.contains("permd: cannot listen on \(path): "), "\(outcome)")
        #expect(outcome.standardError.contains("already in use"), "\(outcome)")
    }
}
