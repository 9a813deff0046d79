import ArgumentParser
import Foundation

/// `--server HOST:PORT | --unix PATH`, `--target permd|redis`: what a run drives.
struct TargetOptions: ParsableArguments {
    @Option(help: "The server's TCP address (default 127.0.0.1:7468; with --target redis 127.0.0.1:6379).")
    var server: String?

    @Option(help: "The server's Unix socket instead of TCP.")
    var unix: String?

    @Option(help: "The protocol: permd's line protocol, or redis (RESP: CHECK as SISMEMBER on one set per membership, PERMS as SMEMBERS, writes as SADD/SREM).")
    var target: Dialect = .permd

    @Option(help: "A file holding a token sent as AUTH on every connection before the run (permd's admin or query token).")
    var tokenFile: String?

    func validate() throws {
        guard server == nil || unix == nil else { throw ValidationError("give --server or --unix, not both") }
        if let server, Endpoint(hostAndPort: server) == nil {
            throw ValidationError("--server must be HOST:PORT (e.g. 127.0.0.1:7468), not \"\(server)\"")
        }
    }

    var endpoint: Endpoint {
        if let unix { return .unix(path: unix) }
        return Endpoint(hostAndPort: server ?? target.defaultServer)!
    }

    /// The token, without surrounding whitespace, or nil.
    func token() throws(LoadError) -> String? {
        guard let tokenFile else { return nil }
        do {
            let text = try String(contentsOfFile: tokenFile, encoding: .utf8)
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw LoadError("--token-file \(tokenFile): cannot read it (\(error.localizedDescription))")
        }
    }
}
