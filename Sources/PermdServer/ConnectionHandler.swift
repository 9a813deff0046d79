import Logging
import NIOCore
import PermdCore
import PermdIndex
import PermdProtocol
import PermdStore
import Synchronization

/// What every connection shares: the configuration, the current snapshot, the writer.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let publisher: SnapshotPublisher
    let writer: StateWriter
    let statistics: ServerStatistics
    let logger: Logger
    /// What `AUTH` is checked against (re-read by `RELOAD`).
    let tokens: ServerTokens
    /// Wrong `AUTH` tokens, logged at most one line a second (never the token).
    let refusedTokens: ThrottledLog
    /// Failed accepts (out of descriptors), logged at most one line a second.
    let acceptFailures: ThrottledLog
    /// Which database the state is in (`STATS`).
    let backend: StoreBackend
    /// A shared database's link (`STATS`, `SYNC` during an outage); nil for SQLite.
    let link: ReplicaLink?

    init(configuration: ServerConfiguration, publisher: SnapshotPublisher, writer: StateWriter,
         statistics: ServerStatistics, tokens: ServerTokens, logger: Logger, backend: StoreBackend, link: ReplicaLink?) {
        self.configuration = configuration
        self.backend = backend
        self.link = link
        self.tokens = tokens
        self.publisher = publisher
        self.writer = writer
        self.statistics = statistics
        self.logger = logger
        refusedTokens = ThrottledLog("AUTH refused: wrong token", logger: logger)
        acceptFailures = ThrottledLog("cannot accept connections; accepting pauses after each failure", level: .error, logger: logger)
    }
}

/// Sent through a connection's pipeline at shutdown: answer what was received, then close.
struct DrainEvent: Sendable {}

/// One connection of the line protocol. Lines are found in the inbound buffer in place,
/// queries are answered synchronously from the current snapshot into one outbound buffer
/// per read burst (written with a nil promise, flushed once in `channelReadComplete`).
///
/// The flow — when to take lines, hold reading back, hand writes to the writer, close —
/// is decided by a `ConnectionStateMachine`; this handler reports the channel's events to
/// it and carries out the actions it returns.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let shared: ServerContext
    /// Whether the connection came through the Unix socket (trusted for writes when no
    /// admin token is configured).
    let isLocal: Bool
    /// Where the connection comes from, for the audit log.
    let peer: ConnectionPeer

    var state = ConnectionStateMachine()
    var access: ConnectionAccess
    var framer: LineFramer
    /// The bytes received and not yet answered: the read's own buffer while it is being
    /// worked through, our copy only when a line is left incomplete.
    var inbound = ByteBuffer()
    /// This burst's replies. Kept from burst to burst (cleared, not replaced): once the
    /// flush has written it, no one else holds its storage, so the next burst writes into
    /// it without allocating. It grows with the first reply, to what the bursts need.
    var outbound = ByteBuffer()
    /// An empty buffer of this connection's own, what `inbound` holds between reads: it
    /// lets go of the read's buffer, which NIO's receive pool then reuses for the next read
    /// (a buffer still referenced here would make the pool take a new one), without
    /// `ByteBuffer()`'s one storage that every connection on every loop would retain.
    let noBytes: ByteBuffer
    var snapshot: IndexSnapshot
    var generation: UInt64
    /// The wake-ups of the SYNC being waited for, cancelled once it is answered.
    var syncWait: (wakeUp: SnapshotPublisher.WakeUpID, deadline: Scheduled<Void>)?
    /// The delayed answer to a wrong token, cancelled if the channel closes first.
    var refusalDelay: Scheduled<Void>?

    // Counted locally, added to the shared statistics once per burst.
    var checks = 0
    var allows = 0
    var denies = 0
    var counts = ConnectionCounts()

    init(shared: ServerContext, isLocal: Bool, peer: ConnectionPeer) {
        self.shared = shared
        self.isLocal = isLocal
        self.peer = peer
        self.framer = LineFramer(maxLineLength: shared.configuration.maxLineLength)
        noBytes = ByteBufferAllocator().buffer(capacity: 1)
        (generation, snapshot) = shared.publisher.latest
        access = ConnectionAccess(queryTokenRequired: shared.configuration.queryToken != nil)
    }

    /// Whether this connection may query.
    var mayQuery: Bool { access.mayQuery }

    // MARK: Channel events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state.bytesRead() {
        case .processLines:
            append(unwrapInboundIn(data))
            processLines(context: context)
        case .buffer:
            append(unwrapInboundIn(data))
        case .discard:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
    }

    func read(context: ChannelHandlerContext) {
        switch state.readRequested() {
        case .read: context.read()
        case .none: break
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        switch state.writabilityChanged(isWritable: context.channel.isWritable) {
        case .read: context.read()
        case .none: break
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let event as ChannelEvent where event == .inputClosed:
            switch state.inputClosed() {
            case .processLines: processLines(context: context)
            case .none: break
            }
            flush(context: context)
        case is DrainEvent:
            refreshSnapshot()
            switch state.drain(current: snapshot.revision) {
            case .processLines: processLines(context: context)
            case .answerSync(let answer): endSync(answer, context: context)
            case .none: break
            }
            flush(context: context)
        case let event as IdleStateHandler.IdleStateEvent where event == .read:
            switch state.idleTimedOut() {
            case .closeNow:
                shared.logger.debug("closing an idle connection")
                context.close(promise: nil)
            case .none:
                break
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shared.logger.debug("connection error", metadata: ["error": "\(error)"])
        switch state.errorCaught() {
        case .closeNow: context.close(promise: nil)
        case .none: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.channelClosed()
        endSyncWait()
        refusalDelay?.cancel()
        refusalDelay = nil
        context.fireChannelInactive()
    }

    // MARK: Processing

    func append(_ bytes: ByteBuffer) {
        if inbound.readableBytes == 0 {
            inbound = bytes
        } else {
            inbound.writeImmutableBuffer(bytes)
        }
    }

    /// Answers the complete lines in the inbound buffer for as long as the state machine
    /// lets it take them (consecutive writes go to the writer as one job).
    func processLines(context: ChannelHandlerContext) {
        refreshSnapshot()
        var writes: [WriteRequest] = []
        var linesStarted = 0
        lines: while true {
            if linesStarted <= 0 { linesStarted = startCheckLookups() }
            if state.answersQueriesAtOnce && mayQuery {
                let answered = answerPlainChecks(maxLines: max(linesStarted, 1))
                if answered > 0 {
                    linesStarted -= answered
                    continue
                }
            }
            let savedFramer = framer
            let savedReaderIndex = inbound.readerIndex
            let found: LineFramer.Event?
            switch state.nextLine() {
            case .takeLine: found = framer.next(in: &inbound)
            case .takeLineOrRest: found = framer.finish(in: &inbound)
            case .stop: break lines
            }
            guard let found else { break }
            linesStarted -= 1
            switch request(on: found) {
            case .success(.write(let write)):
                state.writeFound()
                writes.append(write)
            case let decoded:
                switch state.answerableLineFound() {
                case .holdForWrites:
                    framer = savedFramer
                    inbound.moveReaderIndex(to: savedReaderIndex)
                    break lines
                case .answer:
                    switch decoded {
                    case .success(.query(let query)): answer(query, context: context)
                    case .success(.session(let command)): answer(command, context: context)
                    case .success(.write): break  // taken by the case above
                    case .failure(let error): counts.error(error.code); Reply.writeError(error, into: &outbound)
                    }
                }
            }
        }
        if inbound.readableBytes == 0 {
            inbound = noBytes
        } else if inbound.readerIndex > 65_536 {
            inbound.discardReadBytes()
        }
        switch state.linesProcessed() {
        case .submitWrites: submit(writes, context: context)
        case .closeWhenWritten: closeWhenWritten(context: context)
        case .read: context.read()
        case .none: break
        }
    }

    /// The request on a framed line, or the error that answers it (a write this
    /// connection may not make is refused here, before it reaches the writer).
    func request(on found: LineFramer.Event) -> Result<Request, ProtocolError> {
        guard case .line(let line) = found else { return .failure(.tooLong(limit: framer.maxLineLength)) }
        return request(from: line)
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
        if access.isAdmin { return nil }
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
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        shared.writer.submit(StateWriter.Job(requests: writes, actor: access.actor(from: peer)) { results in
            eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.writesAnswered(results, context: context)
            }
        })
    }

    /// The writer's replies: send them, go on with the lines held back.
    func writesAnswered(_ results: [Result<WriteOutcome, WriteFailure>], context: ChannelHandlerContext) {
        switch state.writesAnswered() {
        case .resume:
            for result in results { counts.count(result); Reply.write(result, into: &outbound) }
            processLines(context: context)
            flush(context: context)
        case .none:
            break
        }
    }

    /// Writes this burst's replies (one write, nil promise) and flushes.
    func flush(context: ChannelHandlerContext) {
        addCounts()
        guard outbound.readableBytes > 0 else { return }
        context.write(wrapOutboundOut(outbound), promise: nil)
        context.flush()
        recycleOutbound()
    }

    /// The largest outbound buffer a connection keeps between bursts (a large `WHO` page
    /// is not held for the small replies that follow).
    static let keptOutboundCapacity = 65_536

    /// Empties the outbound buffer for the next burst: in place when the flush wrote it all
    /// (no allocation), a new storage when NIO still holds it (a partial write).
    func recycleOutbound() {
        if outbound.capacity > Self.keptOutboundCapacity {
            outbound = ByteBuffer()
        } else {
            outbound.clear()
        }
    }

    /// Flushes what is due, then closes once it is written.
    func closeWhenWritten(context: ChannelHandlerContext) {
        addCounts()
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(outbound), promise: promise)
        recycleOutbound()
        let channel = context.channel
        promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    func addCounts() {
        counts.flush(into: shared.statistics.operations)
        guard checks > 0 else { return }
        shared.statistics.checks.add(checks, ordering: .relaxed)
        shared.statistics.allows.add(allows, ordering: .relaxed)
        shared.statistics.denies.add(denies, ordering: .relaxed)
        (checks, allows, denies) = (0, 0, 0)
    }
}
