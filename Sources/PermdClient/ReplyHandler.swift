import NIOCore
import PermdProtocol

/// Requests written together, with the promises their replies complete, in order.
struct RequestBatch: Sendable {
    var bytes: ByteBuffer
    var replies: [EventLoopPromise<ReplyLine>]
}

/// Matches reply lines to requests in the order they were written (the server answers each
/// connection's requests in order, SPEC §5): a queue of promises, lines framed by
/// PermdProtocol's `LineFramer`.
final class ReplyHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RequestBatch
    typealias OutboundOut = ByteBuffer

    /// The longest reply line read: a `WHO` page of `Query.maxWhoLimit` users of the longest ids.
    static let maxReplyLength = 64 << 20

    private var framer = LineFramer(maxLineLength: maxReplyLength)
    private var inbound = ByteBuffer()
    private var waiting = CircularBuffer<EventLoopPromise<ReplyLine>>()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let batch = unwrapOutboundIn(data)
        for reply in batch.replies { waiting.append(reply) }
        context.write(wrapOutboundOut(batch.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        inbound.writeBuffer(&bytes)
        while let event = framer.next(in: &inbound) {
            switch event {
            case .line(let line):
                guard let reply = waiting.popFirst() else {
                    // A line nobody asked for: the stream is out of step, nothing after it can be trusted.
                    context.close(promise: nil)
                    return
                }
                reply.succeed(ReplyLine(String(buffer: line)))
            case .tooLong:
                context.close(promise: nil)
                return
            }
        }
        inbound.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll()
        context.close(promise: nil)
    }

    private func failAll() {
        while let reply = waiting.popFirst() { reply.fail(PermdClientError(.closed)) }
    }
}
