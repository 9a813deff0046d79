import Foundation
@testable import PermdServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Token files in a temporary folder (mode 0600, as `TokenFile` asks).
final class TokenFolder {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("permd-tokens-\(UUID().uuidString)")

    init() throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `token` into the file `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ token: String, mode: mode_t = 0o600) throws -> String {
        let path = url.appendingPathComponent(name).path
        try (token + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, mode)
        return path
    }
}

@Suite(.serialized) struct AdminTokenTests {
    @Test func everyAdminTokenWritesAndRELOADRotatesThemWithoutARestart() async throws {
        let folder = try TokenFolder()
        let billing = try folder.write("billing.token", "bill-1")
        let search = try folder.write("search.token", "search-1")
        let tokens = [try NamedToken.read(billing), try NamedToken.read(search)]
        #expect(tokens.map(\.name) == ["billing.token", "search.token"])
        try await withTestServer(configure: { $0.adminTokens = tokens }) { server in
            let first = try server.client()
            #expect(try first.request("AUTH bill-1") == "OK")
            #expect(try first.request(#"USER.ADD {"id": "ana"}"#).hasPrefix("OK ana "))
            let second = try server.client()
            #expect(try second.request("AUTH search-1") == "OK")
            #expect(try second.request("USER.DEL ana").hasPrefix("OK "))

            // The rotation: a new token in search.token, RELOAD, the old one refused.
            try folder.write("search.token", "search-2")
            #expect(try first.request("RELOAD").hasPrefix("OK "))
            #expect(try server.client().request("AUTH search-1") == "ERR NOAUTH wrong token")
            let rotated = try server.client()
            #expect(try rotated.request("AUTH search-2") == "OK")
            #expect(try rotated.request(#"USER.ADD {"id": "bo"}"#).hasPrefix("OK bo "))
            #expect(try server.client().request("AUTH bill-1") == "OK")
            // A connection that authenticated before the rotation keeps its access.
            #expect(try second.request("USER.DEL bo").hasPrefix("OK "))

            // A token file that cannot be used keeps its previous token, and RELOAD says so.
            try folder.write("billing.token", "bill-2", mode: 0o644)
            let reload = try first.request("RELOAD")
            #expect(reload.hasPrefix("ERR INVALID policies reloaded (revision "))
            #expect(reload.contains("\(billing): the file is readable by group or others"))
            #expect(try server.client().request("AUTH bill-1") == "OK")
            #expect(try server.client().request("AUTH bill-2") == "ERR NOAUTH wrong token")
        }
    }

    @Test func theTokenSetNamesTheAdminTokenMatched() throws {
        let set = ServerTokens(admin: [NamedToken(name: "a", token: "x1"), NamedToken(name: "b", token: "x2")],
                               query: NamedToken(name: "query", token: "q"))
        #expect(set.match("x2") == .admin(name: "b"))
        #expect(set.match("x1") == .admin(name: "a"))
        #expect(set.match("q") == .query)
        #expect(set.match("x") == nil)
        #expect(set.match("x22") == nil)
    }

    @Test func serveTakesSeveralTokenFilesAndSIGHUPReadsThemAgain() async throws {
        let tokens = try TokenFolder()
        let second = try tokens.write("second.token", "two-1")
        let folder = try ServeFolder()
        let server = try await ServeProcess(folder: folder, arguments: ["--admin-token-file", second])
        defer { server.stop() }
        let client = try server.client()
        #expect(try client.request("AUTH tok3n") == "OK")
        #expect(try server.client().request("AUTH two-1") == "OK")
        try tokens.write("second.token", "two-2")
        server.signal(SIGHUP)
        try await server.waitForLog("token files read again")
        #expect(try server.client().request("AUTH two-1") == "ERR NOAUTH wrong token")
        #expect(try server.client().request("AUTH two-2") == "OK")
    }
}
