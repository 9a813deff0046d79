import Dispatch
public import Logging
public import NIOCore
import NIOPosix
import PermdCore
import PermdIndex
import PermdProtocol
public import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The permd server (SPEC §5): the line protocol over TCP and, optionally, a Unix socket,
/// one event loop per core, a writer thread for every change, reload on `RELOAD`/SIGHUP.
///
/// Run it in a `ServiceGroup` (graceful shutdown on SIGTERM: stop accepting, answer what
/// was received, close), or call `start()` and `shutdown()` directly (tests).
public final class PermdServer: Service, Sendable {
    let shared: ServerContext
    private let follower: StoreFollower
    private let group: MultiThreadedEventLoopGroup
    private let state = Mutex(Listeners())
    private let connections = ConnectionRegistry()
    private let stopped = Mutex<[CheckedContinuation<Void, Never>]?>([])

    private struct Listeners {
        var channels: [any Channel] = []
        var tcpAddress: SocketAddress?
        var started = false
        /// Set when shutdown begins: `/readyz` answers 503 from then on.
        var stopping = false
    }

    /// - Parameters:
    ///   - configuration: addresses, limits, tokens.
    ///   - engine: the state behind the index; from now on only the writer thread uses it.
    ///   - logger: where the server logs (it never configures logging).
    public init(configuration: ServerConfiguration, engine: sending StoreEngine, logger: Logger) {
        let publisher = SnapshotPublisher(engine.snapshot)
        let statistics = ServerStatistics()
        let link = engine.link
        let watcher = engine.commitWatcher()
        let backend = engine.backend
        let tokens = ServerTokens(
            admin: configuration.adminTokens,
            query: configuration.queryToken.map { NamedToken(name: "query", token: $0, file: configuration.queryTokenFile) })
        let writer = StateWriter(engine: engine, publisher: publisher, counters: statistics.operations,
                                 tokens: tokens, logger: logger, link: link, logRetention: configuration.logRetention)
        follower = StoreFollower(watcher: watcher, writer: writer, publisher: publisher, link: link)
        shared = ServerContext(
            configuration: configuration, publisher: publisher, writer: writer,
            statistics: statistics, tokens: tokens, logger: logger, backend: backend, link: link)
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
    }

    /// The TCP address the server listens on (with the port picked when 0 was asked for).
    public var tcpAddress: SocketAddress? { state.withLock { $0.tcpAddress } }

    /// Whether a shutdown has begun (the connections are being drained).
    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// The revision of the snapshot being served.
    public var revision: UInt64 { shared.publisher.latest.snapshot.revision }

    /// A shared database's link (for `/readyz` and `/metrics`); nil for SQLite.
    public var replication: (any ReplicationHealth)? { shared.link }

    /// Starts the writer thread and binds the listeners.
    /// - Throws: `ListenError` when a listener cannot be opened (the address in use, a
    ///   Unix socket path that is another file or too long, ...).
    public func start() async throws {
        shared.writer.start()
        follower.start()
        let configuration = shared.configuration
        var channels: [any Channel] = []
        var tcpAddress: SocketAddress?
        do {
            if let host = configuration.host {
                let channel: any Channel
                do {
                    channel = try await bootstrap(isLocal: false).bind(host: host, port: configuration.port).get()
                } catch {
                    throw ListenError(configuration.listenAddress, binding: error)
                }
                tcpAddress = channel.localAddress
                channels.append(channel)
            }
            if let path = configuration.unixPath {
                let descriptor = try UnixSocketListener.listen(
                    path: path, mode: configuration.unixMode, backlog: Self.backlog)
                channels.append(try await bootstrap(isLocal: true).withBoundSocket(descriptor).get())
            }
        } catch {
            for channel in channels { try? await channel.close() }
            follower.stop()
            shared.writer.stop()
            throw error
        }
        state.withLock { $0 = Listeners(channels: channels, tcpAddress: tcpAddress, started: true) }
        logStartup()
    }

    /// Runs until graceful shutdown (SIGTERM in a ServiceGroup); reloads on SIGHUP.
    public func run() async throws {
        try await start()
        let hangup = Self.watchHangup { [shared] in
            shared.writer.submit(StateWriter.Job(requests: [.reload], actor: .policy) { results in
                shared.logger.info("SIGHUP: \(results.first.map(Reply.line) ?? "")")
            })
        }
        await withGracefulShutdownHandler {
            await self.waitUntilStopped()
        } onGracefulShutdown: {
            Task { await self.shutdown() }
        }
        hangup.cancel()
    }

    /// Runs in a service group that shuts down gracefully on SIGTERM and SIGINT.
    public func runUntilTerminated(logger: Logger) async throws {
        let group = ServiceGroup(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }

    /// Stops accepting, answers what each connection has sent, closes them, stops the
    /// writer and the event loops.
    public func shutdown() async {
        let listeners = state.withLock { state in
            defer { state.channels = [] }
            state.stopping = true
            return state.channels
        }
        for channel in listeners { try? await channel.close() }
        let open = connections.all
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(DrainEvent())
        }
        for channel in open { try? await channel.closeFuture.get() }
        if state.withLock({ $0.started }) {
            follower.stop()
            shared.writer.stop()
            state.withLock { $0.started = false }
        }
        try? await group.shutdownGracefully()
        shared.logger.info("permd stopped")
        let waiters = stopped.withLock { waiters in
            defer { waiters = nil }
            return waiters ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    private func waitUntilStopped() async {
        await withCheckedContinuation { continuation in
            let alreadyStopped = stopped.withLock { waiters in
                if waiters == nil { return true }
                waiters!.append(continuation)
                return false
            }
            if alreadyStopped { continuation.resume() }
        }
    }

    /// Connections the kernel queues for a listener before the server accepts them.
    private static let backlog: Int32 = 256

    private func bootstrap(isLocal: Bool) -> ServerBootstrap {
        let shared = shared
        let connections = connections
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Self.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Out of descriptors, accept fails until one is freed: pause accepting rather
            // than retry at once (which spins), and log the failures once a second.
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoff(failures: shared.acceptFailures))
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // The kernel's send buffer would otherwise grow to tcp_wmem's maximum (MiBs)
            // for a client that does not read; this bounds what one connection holds.
            .childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(shared.configuration.outboundHighWatermark))
            .childChannelOption(.writeBufferWaterMark,
                                value: .init(low: shared.configuration.outboundHighWatermark / 2,
                                             high: shared.configuration.outboundHighWatermark))
            .childChannelInitializer { channel in
                let count = shared.statistics.connections.add(1, ordering: .relaxed).newValue
                let id = ObjectIdentifier(channel)
                connections.add(channel, id: id)
                channel.closeFuture.whenComplete { _ in
                    shared.statistics.connections.subtract(1, ordering: .relaxed)
                    connections.remove(id)
                }
                let peer = isLocal ? Self.unixPeer(of: channel)
                    : channel.eventLoop.makeSucceededFuture(ConnectionPeer(channel.remoteAddress))
                return peer.flatMapThrowing { peer in
                    let pipeline = channel.pipeline.syncOperations
                    if count > shared.configuration.maxConnections {
                        try pipeline.addHandler(BusyHandler(counters: shared.statistics.operations))
                        return
                    }
                    try pipeline.addHandler(IdleStateHandler(
                        readTimeout: .seconds(shared.configuration.idleTimeoutSeconds)))
                    try pipeline.addHandler(ConnectionHandler(shared: shared, isLocal: isLocal, peer: peer))
                }
            }
    }

    /// The uid of a Unix-socket peer, as the kernel gives it (`SO_PEERCRED`, read once at
    /// accept); a uid that cannot be read is logged as unknown, never refused for it.
    private static func unixPeer(of channel: any Channel) -> EventLoopFuture<ConnectionPeer> {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(.unix(uid: nil))
        }
        let credentials: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return credentials.map { ConnectionPeer.unix(uid: $0.uid) }.recover { _ in ConnectionPeer.unix(uid: nil) }
        #else
        return channel.eventLoop.makeSucceededFuture(.unix(uid: nil))
        #endif
    }

    /// Linux's `struct ucred`, which Glibc's module leaves out (it needs `_GNU_SOURCE`): the
    /// same three fields in the same order, what `SO_PEERCRED` fills in.
    private struct PeerCredentials: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    private func logStartup() {
        let snapshot = shared.publisher.latest.snapshot
        let statistics = snapshot.statistics
        let configuration = shared.configuration
        var addresses: [String] = []
        if let address = tcpAddress { addresses.append("\(address)") }
        if let path = configuration.unixPath { addresses.append("unix:\(path)") }
        shared.logger.info("permd serving", metadata: [
            "listen": "\(addresses.joined(separator: " "))",
            "revision": "\(snapshot.revision)",
            "users": "\(statistics.users)",
            "memberships": "\(statistics.memberships)",
            "organizations": "\(statistics.organizations)",
            "build_ms": "\(statistics.buildMilliseconds)",
            "threads": "\(configuration.threads)",
        ])
        if let path = configuration.unixPath, configuration.adminToken == nil, configuration.unixMode & 0o002 != 0 {
            shared.logger.warning("""
                the Unix socket \(path) has mode \(String(configuration.unixMode, radix: 8)): every local user \
                may connect, and without an admin token a connection there may write
                """)
        }
    }

    /// Calls `body` on every SIGHUP until the returned source is cancelled.
    private static func watchHangup(_ body: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler(handler: body)
        source.resume()
        return source
    }
}

/// Answers a connection past the limit with `ERR BUSY` and closes it.
final class BusyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let counters: OperationCounters

    init(counters: OperationCounters) {
        self.counters = counters
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        counters.errors[OperationCounters.errorSlot(.busy)].add(1)
        Reply.writeError(ProtocolError(.busy, "too many connections"), into: &buffer)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// The open connections, for draining them at shutdown.
final class ConnectionRegistry: Sendable {
    private let channels = Mutex([ObjectIdentifier: any Channel]())

    var all: [any Channel] { channels.withLock { Array($0.values) } }

    func add(_ channel: any Channel, id: ObjectIdentifier) {
        channels.withLock { $0[id] = channel }
    }

    func remove(_ id: ObjectIdentifier) {
        channels.withLock { _ = $0.removeValue(forKey: id) }
    }
}
