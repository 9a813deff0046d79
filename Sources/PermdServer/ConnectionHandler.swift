import Logging
import NIOCore
import PermdIndex
import PermdProtocol
import Synchronization

/// What every connection shares: the configuration, the current snapshot, the writer.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let publisher: SnapshotPublisher
    let writer: StateWriter
    let statistics: ServerStatistics
    let logger: Logger

    init(configuration: ServerConfiguration, publisher: SnapshotPublisher, writer: StateWriter,
         statistics: ServerStatistics, logger: Logger) {
        self.configuration = configuration
        self.publisher = publisher
        self.writer = writer
        self.statistics = statistics
        self.logger = logger
    }
}

/// Sent through a connection's pipeline at shutdown: answer what was received, then close.
struct DrainEvent: Sendable {}

/// One connection of the line protocol. Lines are found in the inbound buffer in place,
/// queries are answered synchronously from the current snapshot into one outbound buffer
/// per read burst (written with a nil promise, flushed once in `channelReadComplete`).
///
/// Writes and `SYNC` suspend the connection: later lines stay in the inbound buffer (and
/// reading stops) until the answer is in, so replies keep request order and a query after
/// a write sees it.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let shared: ServerContext
    /// Whether the connection came through the Unix socket (trusted for writes when no
    /// admin token is configured).
    let isLocal: Bool

    var framer: LineFramer
    var inbound = ByteBuffer()
    var outbound = ByteBuffer()
    var snapshot: IndexSnapshot
    var generation: UInt64

    /// A write or SYNC is outstanding: process no more lines until its answer is in.
    var suspended = false
    /// `read` was asked for while reading is held back.
    var readHeldBack = false
    /// The client closed its side: answer the rest, then close.
    var inputClosed = false
    /// QUIT: answer what is due, then close.
    var closing = false
    /// Shutdown: answer the complete lines received, then close.
    var draining = false
    var closed = false
    var isAdmin = false
    var mayQuery: Bool

    // Counted locally, added to the shared statistics once per burst.
    var checks = 0
    var allows = 0
    var denies = 0

    init(shared: ServerContext, isLocal: Bool) {
        self.shared = shared
        self.isLocal = isLocal
        self.framer = LineFramer(maxLineLength: shared.configuration.maxLineLength)
        (generation, snapshot) = shared.publisher.latest
        mayQuery = shared.configuration.queryToken == nil
    }

    // MARK: Channel events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if inbound.readableBytes == 0 {
            inbound = bytes
        } else {
            inbound.writeImmutableBuffer(bytes)
        }
        processInbound(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
    }

    func read(context: ChannelHandlerContext) {
        if suspended || closing || draining || !context.channel.isWritable {
            readHeldBack = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReading(context: context)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let event as ChannelEvent where event == .inputClosed:
            inputClosed = true
            processInbound(context: context)
            flush(context: context)
        case is DrainEvent:
            draining = true
            processInbound(context: context)
            flush(context: context)
        case let event as IdleStateHandler.IdleStateEvent where event == .read:
            shared.logger.debug("closing an idle connection")
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Processing

    /// Answers every complete line in the inbound buffer until a write or SYNC suspends
    /// the connection (consecutive writes go to the writer as one job).
    func processInbound(context: ChannelHandlerContext) {
        refreshSnapshot()
        var writes: [WriteRequest] = []
        lines: while !suspended && !closing {
            let savedFramer = framer
            let savedReaderIndex = inbound.readerIndex
            let event = inputClosed ? framer.finish(in: &inbound) : framer.next(in: &inbound)
            guard let event else { break }
            let reply: ProtocolError?
            switch event {
            case .tooLong:
                reply = .tooLong(limit: framer.maxLineLength)
            case .line(let line):
                switch request(from: line) {
                case .failure(let error):
                    reply = error
                case .success(.write(let write)):
                    writes.append(write)
                    continue lines
                case .success(.query(let query)) where writes.isEmpty:
                    answer(query, context: context)
                    continue lines
                case .success(.session(let command)) where writes.isEmpty:
                    answer(command)
                    continue lines
                case .success:
                    reply = nil
                }
            }
            if !writes.isEmpty {
                // This line must wait for the writes before it.
                framer = savedFramer
                inbound.moveReaderIndex(to: savedReaderIndex)
                break
            }
            if let reply { Reply.writeError(reply, into: &outbound) }
        }
        if !writes.isEmpty { submit(writes, context: context) }
        if inbound.readableBytes == 0 {
            inbound.clear()
        } else if inbound.readerIndex > 65_536 {
            inbound.discardReadBytes()
        }
        if (inputClosed || closing || draining) && !suspended {
            closeWhenWritten(context: context)
        }
    }

    /// Takes the latest snapshot when the writer published a new one (one atomic load).
    func refreshSnapshot() {
        if shared.publisher.latestGeneration != generation {
            (generation, snapshot) = shared.publisher.latest
        }
    }

    /// Why this connection may not write, or nil when it may.
    func writeRefusal() -> ProtocolError? {
        if let refusal = queryRefusal() { return refusal }
        if isAdmin { return nil }
        if shared.configuration.adminToken != nil {
            return ProtocolError(.noAuth, "writes need AUTH with the admin token")
        }
        if isLocal { return nil }
        return ProtocolError(.noAuth, "writes are refused over the network: the server has no admin token (--admin-token-file)")
    }

    /// Why this connection may not query, or nil when it may.
    func queryRefusal() -> ProtocolError? {
        mayQuery ? nil : ProtocolError(.noAuth, "this server needs AUTH with the query token first")
    }

    /// Sends writes to the writer thread; their replies come back on this event loop.
    func submit(_ writes: [WriteRequest], context: ChannelHandlerContext) {
        suspended = true
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        shared.writer.submit(StateWriter.Job(requests: writes) { results in
            eventLoop.execute {
                let (handler, context) = loopBound.value
                for result in results { Reply.write(result, into: &handler.outbound) }
                handler.resume(context: context)
            }
        })
    }

    /// A suspension ended: go on with the buffered lines, send, read again.
    func resume(context: ChannelHandlerContext) {
        guard !closed else { return }
        suspended = false
        processInbound(context: context)
        flush(context: context)
        resumeReading(context: context)
    }

    func resumeReading(context: ChannelHandlerContext) {
        if readHeldBack && !suspended && !closing && !draining && context.channel.isWritable {
            readHeldBack = false
            context.read()
        }
    }

    /// Writes this burst's replies (one write, nil promise) and flushes.
    func flush(context: ChannelHandlerContext) {
        addCounts()
        guard outbound.readableBytes > 0, !closed else { return }
        context.write(wrapOutboundOut(outbound), promise: nil)
        outbound = ByteBuffer()
        context.flush()
    }

    /// Flushes what is due, then closes once it is written.
    func closeWhenWritten(context: ChannelHandlerContext) {
        guard !closed else { return }
        addCounts()
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(outbound), promise: promise)
        outbound = ByteBuffer()
        closed = true
        let channel = context.channel
        promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    func addCounts() {
        guard checks > 0 else { return }
        shared.statistics.checks.add(checks, ordering: .relaxed)
        shared.statistics.allows.add(allows, ordering: .relaxed)
        shared.statistics.denies.add(denies, ordering: .relaxed)
        (checks, allows, denies) = (0, 0, 0)
    }
}
