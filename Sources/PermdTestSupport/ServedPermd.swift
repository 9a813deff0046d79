public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of a test helper, in words.
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}

/// A free TCP port on 127.0.0.1 (bound, read back, released).
public func freeLoopbackPort() -> Int {
    let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(probe) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, length); return getsockname(probe, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The local port of the TCP socket `descriptor`: the peer port a server sees.
public func localTCPPort(_ descriptor: Int32) -> Int {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The built `permd` binary: PERMD_BIN, or beside the test bundle in the build folder.
public func builtPermdBinary() throws -> URL {
    if let path = ProcessInfo.processInfo.environment["PERMD_BIN"] { return URL(fileURLWithPath: path) }
    var folder = Bundle.main.bundleURL
    for _ in 0..<6 {
        let candidate = folder.appendingPathComponent("permd")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            return candidate
        }
        folder.deleteLastPathComponent()
    }
    throw TestSupportError("cannot find the permd binary; set PERMD_BIN")
}

/// `permd serve` run as a user runs it, in a temporary folder of its own (policies, a SQLite
/// database, an admin token file), on a free 127.0.0.1 port; stopped with SIGTERM.
public final class ServedPermd: @unchecked Sendable {
    /// The folder holding `policies/`, `permd.db` and `admin.token`.
    public let folder = FileManager.default.temporaryDirectory.appendingPathComponent("permd-served-\(UUID().uuidString)")
    /// The line protocol's port.
    public let port = freeLoopbackPort()
    /// The admin token (in `admin.token`).
    public let adminToken = "adm1n-token"
    private let process = Process()

    /// - Parameters:
    ///   - policyJSON: the one policy file.
    ///   - arguments: more `serve` options.
    public init(policyJSON: String, arguments: [String] = []) throws {
        let policies = folder.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try policyJSON.write(to: policies.appendingPathComponent("policy.json"), atomically: true, encoding: .utf8)
        let token = folder.appendingPathComponent("admin.token").path
        try adminToken.write(toFile: token, atomically: true, encoding: .utf8)
        chmod(token, 0o600)
        process.executableURL = try builtPermdBinary()
        process.arguments = ["serve", "--policies", policies.path, "--db", folder.appendingPathComponent("permd.db").path,
                             "--listen", "127.0.0.1:\(port)", "--admin-token-file", token] + arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PERMD_") }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // With `--unix PATH`, ready once both listeners are: the socket file may be made
        // after the TCP port accepts.
        let unixPath = arguments.firstIndex(of: "--unix").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
        for _ in 0..<200 where process.isRunning {
            if Self.accepts(port), unixPath.map(FileManager.default.fileExists(atPath:)) ?? true { return }
            usleep(25_000)
        }
        stop()
        throw TestSupportError("permd serve did not start on 127.0.0.1:\(port)")
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Stops the server (SIGTERM) and waits for it.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    private static func accepts(_ port: Int) -> Bool {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
