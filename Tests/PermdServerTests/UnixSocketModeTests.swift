import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SPEC §5: the Unix socket is created with mode 0600 whatever the umask; `--unix-mode`
/// widens it.
@Suite(.serialized) struct UnixSocketModeTests {
    private func mode(of path: String) throws -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw ClientError(description: "no socket at \(path): errno \(errno)") }
        return info.st_mode
    }

    @Test func theSocketIsOwnerOnlyUnderAnOpenUmask() async throws {
        let folder = try ServeFolder()
        let path = folder.url.appendingPathComponent("permd.sock").path
        let serve = try await ServeProcess(folder: folder, arguments: ["--unix", path], shell: "umask 000")
        #expect(try mode(of: path) == S_IFSOCK | 0o600)
        #expect(try LineClient(unixPath: path).request("PING") == "PONG")
        serve.stop()
    }

    @Test func unixModeWidensIt() async throws {
        let folder = try ServeFolder()
        let path = folder.url.appendingPathComponent("permd.sock").path
        let serve = try await ServeProcess(folder: folder, arguments: ["--unix", path, "--unix-mode", "0660"],
                                           shell: "umask 000")
        #expect(try mode(of: path) == S_IFSOCK | 0o660)
        #expect(try LineClient(unixPath: path).request("PING") == "PONG")
        serve.stop()
    }

    @Test func unixModeComesFromTheEnvironmentToo() async throws {
        let folder = try ServeFolder()
        let path = folder.url.appendingPathComponent("permd.sock").path
        let serve = try await ServeProcess(folder: folder, arguments: ["--unix", path],
                                           shell: "umask 077; export PERMD_UNIX_MODE=640")
        #expect(try mode(of: path) == S_IFSOCK | 0o640)
        serve.stop()
    }
}
