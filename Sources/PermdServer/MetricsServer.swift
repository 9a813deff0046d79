public import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `serve --metrics-listen` (SPEC §9): HTTP/1.1 on its own port and its own event loop, so
/// a scrape never takes a turn on the loops that answer `CHECK`. `GET /metrics` (Prometheus
/// text), `GET /healthz` (200 while the process serves), `GET /readyz` (200 once ready, else
/// 503 with the reason); any other path is 404. No authentication: listen on loopback.
public final class MetricsServer: Sendable {
    private let host: String
    private let port: Int
    private let status: ServingStatus
    private let logger: Logger
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel = Mutex<(any Channel)?>(nil)

    /// - Parameters:
    ///   - host: the address to listen on (loopback expected).
    ///   - port: the port (0 picks a free one; read it back from `address`).
    ///   - status: what the health endpoints and the scrape report on.
    ///   - logger: where the listener logs.
    public init(host: String, port: Int, status: ServingStatus, logger: Logger) {
        self.host = host
        self.port = port
        self.status = status
        self.logger = logger
    }

    /// The address listened on, once started.
    public var address: SocketAddress? { channel.withLock { $0?.localAddress } }

    /// Binds the listener.
    /// - Throws: `ListenError` naming `HOST:PORT` when it cannot be opened.
    public func start() async throws {
        let status = status
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A scraper keeps its connection; one left silent is closed.
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(MetricsServer.idleTimeoutSeconds)))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(OperationsHTTPHandler(status: status))
                }
            }
        let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let bound: any Channel
        do {
            bound = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw ListenError(shown, binding: error)
        }
        channel.withLock { $0 = bound }
        logger.info("metrics and health served", metadata: ["metrics_listen": "\(bound.localAddress.map { "\($0)" } ?? shown)"])
        if !Self.isLoopback(host) {
            logger.warning("the metrics listener \(shown) is not on loopback: /metrics and the health endpoints need no token")
        }
    }

    /// Closes the listener and its event loop.
    public func shutdown() async {
        let bound = channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
        try? await group.shutdownGracefully()
    }

    /// What a scrape is answered with: the text exposition format 0.0.4, which
    /// swift-prometheus's `emit(into:)` writes.
    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Seconds an HTTP connection may stay silent (scrapes come every 15–60 s).
    static let idleTimeoutSeconds: Int64 = 120

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// Answers one HTTP connection's requests, in order (keep-alive honoured).
final class OperationsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let status: ServingStatus
    private var request: HTTPRequestHead?

    init(status: ServingStatus) {
        self.status = status
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let (status, contentType, body) = answer(head)
            respond(head, status: status, contentType: contentType, body: body, context: context)
        }
    }

    /// The answer to a request: only GET (and HEAD) of the three paths.
    private func answer(_ head: HTTPRequestHead) -> (HTTPResponseStatus, String, [UInt8]) {
        let plain = "text/plain; charset=utf-8"
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let known = ["/metrics", "/healthz", "/readyz"]
        guard known.contains(path) else { return (.notFound, plain, Array("not found\n".utf8)) }
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, plain, Array("only GET\n".utf8))
        }
        switch path {
        case "/metrics":
            return (.ok, MetricsServer.prometheusContentType, status.metricsPage())
        case "/healthz":
            return (.ok, plain, Array("ok\n".utf8))
        default:
            switch status.readiness {
            case .ready: return (.ok, plain, Array("ready\n".utf8))
            case .notReady(let reason): return (.serviceUnavailable, plain, Array((reason + "\n").utf8))
            }
        }
    }

    private func respond(_ head: HTTPRequestHead, status: HTTPResponseStatus, contentType: String, body: [UInt8],
                         context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(bytes: body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(buffer.readableBytes)")
        if status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                      promise: nil)
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
