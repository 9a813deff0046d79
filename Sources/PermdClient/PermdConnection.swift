public import NIOCore
import NIOPosix
public import PermdProtocol

/// One connection to a permd server (SPEC §5), over TCP or a Unix socket.
///
/// Requests are pipelined: every call writes its line at once and its answer is matched in
/// order, so concurrent calls on one connection (`async let`, a task group) travel together
/// without waiting for each other; `send(_:)` with several requests writes them in one write.
public final class PermdConnection: PermdRequester {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Connects over TCP and, when a token is given, sends `AUTH` with it.
    /// - Parameters:
    ///   - host: the server's host (default 127.0.0.1).
    ///   - port: the server's port (default 7468).
    ///   - token: the admin or query token, or nil.
    ///   - group: the event loops to use (NIO's shared one by default).
    /// - Throws: `PermdClientError` when it cannot connect, `PermdError` when `AUTH` is refused.
    public static func connect(host: String = "127.0.0.1", port: Int = 7468, token: String? = nil,
                               group: (any EventLoopGroup)? = nil) async throws -> PermdConnection {
        let connection: PermdConnection
        do {
            let channel = try await bootstrap(group).connect(host: host, port: port).get()
            connection = PermdConnection(channel: channel)
        } catch {
            throw PermdClientError(.cannotConnect("\(host):\(port): \(error)"))
        }
        return try await connection.authenticated(token)
    }

    /// Connects over a Unix socket and, when a token is given, sends `AUTH` with it.
    /// - Parameters:
    ///   - unixPath: the socket's path (`serve --unix`).
    ///   - token: the admin or query token, or nil.
    ///   - group: the event loops to use (NIO's shared one by default).
    public static func connect(unixPath: String, token: String? = nil,
                               group: (any EventLoopGroup)? = nil) async throws -> PermdConnection {
        let connection: PermdConnection
        do {
            let channel = try await bootstrap(group).connect(unixDomainSocketPath: unixPath).get()
            connection = PermdConnection(channel: channel)
        } catch {
            throw PermdClientError(.cannotConnect("\(unixPath): \(error)"))
        }
        return try await connection.authenticated(token)
    }

    private static func bootstrap(_ group: (any EventLoopGroup)?) -> ClientBootstrap {
        ClientBootstrap(group: group ?? MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReplyHandler())
                }
            }
    }

    private func authenticated(_ token: String?) async throws -> PermdConnection {
        guard let token else { return self }
        do {
            try await authenticate(token)
        } catch {
            await close()
            throw error
        }
        return self
    }

    /// Whether the connection is still open.
    public var isOpen: Bool { channel.isActive }

    /// Sends the requests in one write and returns their replies in order (`ERR` replies
    /// included, as lines: read them with `ReplyLine.error`).
    /// - Throws: `PermdClientError.closed` when the connection closes first.
    public func send(_ requests: [ClientRequest]) async throws -> [ReplyLine] {
        guard !requests.isEmpty else { return [] }
        var bytes = channel.allocator.buffer(capacity: requests.reduce(0) { $0 + $1.line.utf8.count + 1 })
        for request in requests { request.write(into: &bytes) }
        let replies = requests.map { _ in channel.eventLoop.makePromise(of: ReplyLine.self) }
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in
            // Not written (the channel closed): nobody will answer. A promise already failed
            // by the handler stays as it is.
            for reply in replies { reply.fail(PermdClientError(.closed)) }
        }
        channel.writeAndFlush(RequestBatch(bytes: bytes, replies: replies), promise: written)
        var lines: [ReplyLine] = []
        lines.reserveCapacity(replies.count)
        for reply in replies { lines.append(try await reply.futureResult.get()) }
        return lines
    }

    /// Sends `QUIT`'s equivalent: closes the connection (what was sent is still answered
    /// by the server, but not read).
    public func close() async {
        try? await channel.close()
    }
}
