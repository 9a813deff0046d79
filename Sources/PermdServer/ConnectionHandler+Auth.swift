import NIOCore
import PermdProtocol

extension ConnectionHandler {
    /// How long a wrong token waits for its `ERR NOAUTH` (SPEC §5 `AUTH`): the lines after
    /// it wait too, so guesses pipelined on one connection cost this much each.
    static let refusedTokenDelay = TimeAmount.milliseconds(100)

    /// Raises this connection's access for a token, or throws the refusal to answer.
    func authenticate(_ token: String) throws(ProtocolError) {
        let configuration = shared.configuration
        switch shared.tokens.match(token) {
        case .admin(let name):
            access.raise(to: .admin, adminToken: name)
            return
        case .query:
            access.raise(to: .query)
            return
        case nil:
            break
        }
        if configuration.adminToken == nil && configuration.queryToken == nil {
            throw ProtocolError(.noAuth, "this server has no tokens configured")
        }
        throw ProtocolError(.noAuth, "wrong token")
    }

    /// Suspends the connection for the delay, then answers `refusal` and goes on with the
    /// lines held back. The event loop is not held: the answer is a scheduled task.
    func refuseToken(_ refusal: ProtocolError, context: ChannelHandlerContext) {
        state.tokenRefused()
        shared.refusedTokens.record(peer(of: context.channel), on: context.eventLoop)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        refusalDelay = context.eventLoop.assumeIsolated().scheduleTask(in: Self.refusedTokenDelay) {
            let (handler, context) = loopBound.value
            handler.refusalDue(refusal, context: context)
        }
    }

    private func refusalDue(_ refusal: ProtocolError, context: ChannelHandlerContext) {
        refusalDelay = nil
        switch state.refusalDue() {
        case .resume:
            counts.error(refusal.code)
            Reply.writeError(refusal, into: &outbound)
            processLines(context: context)
            flush(context: context)
        case .none:
            break
        }
    }

    /// Where a connection comes from, for the log (`127.0.0.1:51234`, or the Unix socket).
    private func peer(of channel: any Channel) -> String {
        guard let address = channel.remoteAddress, let ip = address.ipAddress else { return "unix socket" }
        return address.protocol == .inet6 ? "[\(ip)]:\(address.port ?? 0)" : "\(ip):\(address.port ?? 0)"
    }
}
