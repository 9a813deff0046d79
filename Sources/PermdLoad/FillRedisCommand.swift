import ArgumentParser
import PermdIndex

/// `permd-load fill-redis --users-from DB --policies DIR [--server HOST:PORT]`: loads the
/// same state into Redis, one set per membership holding its effective permissions, so
/// that `--target redis` asks Redis what a `CHECK` asks permd.
struct FillRedisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-redis",
        abstract: "Load the state into Redis: one set of effective permissions per membership.",
        discussion: "Each membership's set is replaced (DEL, then SADD of every effective permission); a membership without permissions has no set, which SISMEMBER answers as :0, like DENY.")

    @Option(help: "Redis's TCP address.")
    var server: String = Dialect.redis.defaultServer

    @Option(name: .customLong("users-from"), help: "The database the permd server serves.")
    var database: String

    @Option(help: "The policy directory the permd server serves.")
    var policies: String

    /// Commands sent before their answers are read.
    static let batch = 1_000

    func validate() throws {
        guard Endpoint(hostAndPort: server) != nil else {
            throw ValidationError("--server must be HOST:PORT (e.g. 127.0.0.1:6379), not \"\(server)\"")
        }
    }

    func run() throws {
        do {
            let state = try ReferenceState.load(database: database, policies: policies)
            let socket: BlockingSocket
            do {
                socket = try BlockingSocket(connectingTo: Endpoint(hostAndPort: server)!)
            } catch {
                throw LoadError("\(error)")
            }
            var commands: [[UInt8]] = []
            var sets = 0
            var members = 0
            for membership in state.memberships {
                let key = RESPDialect.key(user: membership.user, organization: membership.organization)
                let permissions = state.snapshot.permissions(user: membership.user, organization: membership.organization)
                commands.append(RESPDialect.command(["DEL", key]))
                if !permissions.isEmpty {
                    commands.append(RESPDialect.command(["SADD", key] + permissions))
                    sets += 1
                    members += permissions.count
                }
                if commands.count >= Self.batch {
                    try send(commands, on: socket)
                    commands.removeAll(keepingCapacity: true)
                }
            }
            try send(commands, on: socket)
            print("filled Redis at \(server): \(sets) sets, \(members) members, from \(state.memberships.count) memberships at revision \(state.snapshot.revision)")
        } catch let error as LoadError {
            printError("permd-load fill-redis: \(error)")
            throw ExitCode(1)
        }
    }

    /// Sends the commands in one write and reads as many answers; an error answer stops the fill.
    private func send(_ commands: [[UInt8]], on socket: BlockingSocket) throws {
        guard !commands.isEmpty else { return }
        let bytes = commands.flatMap { $0 }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var answered = 0
        do {
            try socket.sendAll(bytes)
            var offset = 0
            while answered < commands.count {
                let count = try socket.receive(into: &chunk)
                received += chunk[..<count]
                while answered < commands.count {
                    let length = received.withUnsafeBytes { RESPDialect.replyLength(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
                    guard let length else { break }
                    if received[offset] == UInt8(ascii: "-") {
                        throw LoadError("Redis refused a command: \(String(decoding: received[offset..<(offset + length)], as: UTF8.self))")
                    }
                    offset += length
                    answered += 1
                }
            }
        } catch let error as TransportError {
            throw LoadError("\(server): \(error)")
        }
    }
}
