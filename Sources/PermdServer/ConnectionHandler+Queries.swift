import NIOCore
import PermdIndex
import PermdProtocol
import Synchronization

extension ConnectionHandler {
    /// The longest page `WHO` returns, whatever limit the client asks for.
    static let maxWhoLimit = 100_000
    /// The longest wait `SYNC` accepts, in milliseconds.
    static let maxSyncTimeout: Int64 = 60_000

    /// Answers a query (or AUTH, QUIT, SYNC) into the outbound buffer.
    func answer(_ request: Request, context: ChannelHandlerContext) {
        if request.command == .check && mayQuery {
            check(request)
            return
        }
        if request.command != .auth && request.command != .quit, let refusal = queryRefusal() {
            Reply.writeError(refusal, into: &outbound)
            return
        }
        do throws(ProtocolError) {
            try answerOffHotPath(request, context: context)
        } catch {
            Reply.writeError(error, into: &outbound)
        }
    }

    /// `CHECK <user> <org> <perm>...`: byte slices straight from the line, no allocation.
    func check(_ request: Request) {
        request.withArguments { words in
            guard let user = words.next(), let organization = words.next() else { return }
            // The membership is looked up once for all the permissions of the line.
            let membership = snapshot.membershipSlot(user: user, organization: organization)
            var first = true
            while let permission = words.next() {
                let allowed = snapshot.decide(membership, permission)
                if allowed { allows += 1 } else { denies += 1 }
                checks += 1
                if first && words.isAtEnd {
                    outbound.writeImmutableBuffer(allowed ? Reply.allow : Reply.deny)
                    return
                }
                Reply.writeDecision(allowed, first: first, into: &outbound)
                first = false
            }
            Reply.endLine(into: &outbound)
        }
    }

    private func answerOffHotPath(_ request: Request, context: ChannelHandlerContext) throws(ProtocolError) {
        let arguments = request.arguments
        switch request.command {
        case .perms:
            Reply.writeOK(snapshot.permissions(user: arguments[0], organization: arguments[1]), into: &outbound)
        case .roles:
            Reply.writeOK(snapshot.roles(user: arguments[0], organization: arguments[1]), into: &outbound)
        case .orgs:
            let permission = arguments.count > 1 ? arguments[1] : nil
            Reply.writeOK(snapshot.organizations(user: arguments[0], permission: permission), into: &outbound)
        case .who:
            let after = arguments.count > 2 && arguments[2] != "-" ? arguments[2] : nil
            let limit = arguments.count > 3 ? try Self.number(arguments[3], name: "limit", in: 1...Self.maxWhoLimit) : 1000
            let page = snapshot.who(organization: arguments[0], permission: arguments[1], after: after, limit: limit)
            Reply.writeOK(page.more ? page.users + ["MORE"] : page.users, into: &outbound)
        case .explain:
            let explanation = snapshot.explain(user: arguments[0], organization: arguments[1], permission: arguments[2])
            Reply.writeLine(explanation.description, into: &outbound)
        case .revision:
            Reply.writeOK(["\(snapshot.revision)"], into: &outbound)
        case .sync:
            let revision = try Self.number(arguments[0], name: "revision", in: UInt64(0)...UInt64.max)
            let timeout = arguments.count > 1
                ? try Self.number(arguments[1], name: "timeout_ms", in: Int64(0)...Self.maxSyncTimeout) : 1000
            sync(to: revision, timeoutMilliseconds: timeout, context: context)
        case .ping:
            outbound.writeImmutableBuffer(Reply.pong)
        case .stats:
            Reply.writeOK(statistics(), into: &outbound)
        case .help:
            Reply.writeOK(Command.allCases.map(\.word), into: &outbound)
        case .quit:
            outbound.writeImmutableBuffer(Reply.ok)
            closing = true
        case .auth:
            try authenticate(arguments[0])
            outbound.writeImmutableBuffer(Reply.ok)
        case .check:
            check(request)
        case .userAdd, .userDel, .orgAdd, .orgDel, .memberAdd, .memberDel, .roleAdd, .roleDel,
             .permAdd, .permDel, .signIn, .reload:
            throw ProtocolError(.internal, "a write reached the query path")
        }
    }

    private func authenticate(_ token: String) throws(ProtocolError) {
        let configuration = shared.configuration
        if let admin = configuration.adminToken, tokensMatch(token, admin) {
            isAdmin = true
            mayQuery = true
            return
        }
        if let query = configuration.queryToken, tokensMatch(token, query) {
            mayQuery = true
            return
        }
        if configuration.adminToken == nil && configuration.queryToken == nil {
            throw ProtocolError(.noAuth, "this server has no tokens configured")
        }
        throw ProtocolError(.noAuth, "wrong token")
    }

    /// `SYNC`: answers now when the snapshot has the revision, else suspends the
    /// connection and checks again on timers (never blocking the event loop).
    private func sync(to revision: UInt64, timeoutMilliseconds: Int64, context: ChannelHandlerContext) {
        if snapshot.revision >= revision {
            Reply.writeOK(["\(snapshot.revision)"], into: &outbound)
            return
        }
        suspended = true
        shared.writer.requestRefresh()
        let deadline = NIODeadline.now() + .milliseconds(timeoutMilliseconds)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        func poll() {
            let (handler, context) = loopBound.value
            handler.refreshSnapshot()
            let current = handler.snapshot.revision
            if current >= revision {
                Reply.writeOK(["\(current)"], into: &handler.outbound)
            } else if NIODeadline.now() >= deadline {
                Reply.writeError(ProtocolError(.stale, "\(current)"), into: &handler.outbound)
            } else {
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(2)) { poll() }
                return
            }
            handler.resume(context: context)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(1)) { poll() }
    }

    private func statistics() -> [String] {
        let index = snapshot.statistics
        let shared = shared.statistics
        addCounts()
        return [
            "revision=\(snapshot.revision)",
            "users=\(index.users)",
            "organizations=\(index.organizations)",
            "memberships=\(index.memberships)",
            "roles=\(index.roles)",
            "permissions=\(index.permissions)",
            "index_bytes=\(index.indexBytes)",
            "build_ms=\(index.buildMilliseconds)",
            "connections=\(shared.connections.load(ordering: .relaxed))",
            "checks=\(shared.checks.load(ordering: .relaxed))",
            "allows=\(shared.allows.load(ordering: .relaxed))",
            "denies=\(shared.denies.load(ordering: .relaxed))",
            "uptime_s=\(shared.uptimeSeconds)",
        ]
    }

    /// A decimal argument within `range`, else `ERR SYNTAX`.
    static func number<Value: FixedWidthInteger>(_ text: String, name: String, in range: ClosedRange<Value>)
        throws(ProtocolError) -> Value
    {
        guard let value = Value(text, radix: 10), range.contains(value) else {
            throw ProtocolError(.syntax, "\(name) must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
