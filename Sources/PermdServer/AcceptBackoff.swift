import NIOCore

/// On a listener's pipeline: when an accept fails (out of descriptors: EMFILE, ENFILE; out
/// of memory), stops accepting for `pause`, then tries again; the failures are logged at
/// most one line a second with a count. Connections already open are served meanwhile;
/// new ones wait in the kernel's backlog until a descriptor is free.
///
/// NIO's `AcceptBackoffHandler` is not enough on its own: a failed accept leaves the
/// listener's read pending, so NIO never asks to read again (the handler's delay is never
/// reached) and the level-triggered poll reports the listener readable at once, again
/// and again — tens of thousands of failed accepts a second. Turning `autoRead` off takes
/// the listener out of the poll until the pause ends.
final class AcceptBackoff: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    /// How long accepting stops after a failed accept: short enough that a freed
    /// descriptor is soon used, long enough that a listener out of descriptors does not spin.
    static let pause = TimeAmount.milliseconds(100)

    private let failures: ThrottledLog
    private var resume: Scheduled<Void>?

    init(failures: ThrottledLog) {
        self.failures = failures
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failures.record((error as? IOError).map { errnoMessage($0.errnoCode) } ?? "\(error)", on: context.eventLoop)
        guard error is IOError, resume == nil, let options = context.channel.syncOptions else { return }
        try? options.setOption(.autoRead, value: false)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: Self.pause) {
            let (handler, context) = loopBound.value
            handler.resume = nil
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }
}
