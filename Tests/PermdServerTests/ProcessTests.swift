import Foundation
import Testing

/// The built `permd` binary: PERMD_BIN, or beside the test bundle in the build folder.
private func permdBinary() throws -> URL {
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
    throw ClientError(description: "cannot find the permd binary; set PERMD_BIN")
}

/// Starts `permd serve` on a free port; returns the process and the port.
private func startServe(in directory: URL) async throws -> (Process, Int) {
    let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, length); return getsockname(probe, $0, &length) }
    }
    let port = Int(UInt16(bigEndian: address.sin_port))
    close(probe)
    let process = Process()
    process.executableURL = try permdBinary()
    process.arguments = ["serve", "--policies", directory.appendingPathComponent("policies").path,
                         "--db", directory.appendingPathComponent("permd.db").path,
                         "--listen", "127.0.0.1:\(port)", "--admin-token-file", directory.appendingPathComponent("token").path]
    process.standardError = FileHandle.nullDevice
    try process.run()
    for _ in 0..<100 {
        if let client = try? LineClient(port: port), (try? client.request("PING")) == "PONG" { return (process, port) }
        try await Task.sleep(for: .milliseconds(50))
    }
    process.terminate()
    throw ClientError(description: "permd serve did not start")
}

@Suite(.serialized) struct ProcessTests {
    @Test func acknowledgedWritesSurviveSIGKILLAndSIGTERMExitsZero() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("permd-proc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let policies = directory.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try TestServer.policyJSON.write(to: policies.appendingPathComponent("policy.json"), atomically: true, encoding: .utf8)
        try "  tok3n\n".write(to: directory.appendingPathComponent("token"), atomically: true, encoding: .utf8)

        let (first, port) = try await startServe(in: directory)
        let client = try LineClient(port: port)
        #expect(try client.request("AUTH tok3n") == "OK")
        let users = (0..<50).map { "u\($0)" }
        try client.send(users.map { "USER.ADD {\"id\": \"\($0)\"}\n" }.joined())
        let replies = try client.readLines(users.count)
        #expect(replies.allSatisfy { $0.hasPrefix("OK ") })
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()

        let (second, secondPort) = try await startServe(in: directory)
        let check = try LineClient(port: secondPort)
        for user in users {
            #expect(try check.request("CHECK \(user) org_default read:invoices") == "ALLOW")
        }
        try check.send("PING\n")
        second.terminate()  // SIGTERM
        #expect(try check.readLine() == "PONG")
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        #expect(second.terminationReason == .exit)
    }
}
