import NIOCore
import PermdIndex
import PermdPolicy
import PermdProtocol
import PermdStore
import Synchronization

extension ConnectionHandler {
    /// The typed request on `line`, or the error to answer: a malformed line, then a
    /// command this connection may not use, then a malformed argument or payload.
    func request(from line: ByteBuffer) -> Result<Request, ProtocolError> {
        let parsed: RequestLine
        switch RequestLine.parse(line) {
        case .success(let line): parsed = line
        case .failure(let error): return .failure(error)
        }
        counts.request(parsed.command)
        let refusal = switch parsed.command.kind {
        case .query: queryRefusal()
        case .write: writeRefusal()
        case .session: nil as ProtocolError?
        }
        if let refusal { return .failure(refusal) }
        do throws(ProtocolError) {
            return .success(try parsed.decode())
        } catch {
            return .failure(error)
        }
    }

    /// Answers a query into the outbound buffer.
    func answer(_ query: Query, context: ChannelHandlerContext) {
        switch query {
        case .check(let check):
            self.check(check)
        case .permissions(let user, let organization):
            Reply.writeOK(snapshot.permissions(user: user, organization: organization), into: &outbound)
        case .roles(let user, let organization):
            Reply.writeOK(snapshot.roles(user: user, organization: organization), into: &outbound)
        case .organizations(let user, let permission):
            Reply.writeOK(snapshot.organizations(user: user, permission: permission), into: &outbound)
        case .who(let organization, let permission, let after, let limit):
            let page = snapshot.who(organization: organization, permission: permission, after: after, limit: limit)
            Reply.writeWho(page.users, more: page.more, into: &outbound)
        case .explain(let user, let organization, let permission):
            let explanation = snapshot.explain(user: user, organization: organization, permission: permission)
            Reply.write(explanation, into: &outbound)
        case .revision:
            Reply.writeRevision(snapshot.revision, into: &outbound)
        case .sync(let revision, let timeout):
            sync(to: revision, timeoutMilliseconds: timeout, context: context)
        case .ping:
            outbound.writeImmutableBuffer(Reply.pong)
        case .stats:
            Reply.write(statistics(), into: &outbound)
        case .help:
            Reply.writeHelp(into: &outbound)
        }
    }

    /// Answers AUTH or QUIT into the outbound buffer (a wrong token after a delay).
    func answer(_ command: SessionCommand, context: ChannelHandlerContext) {
        switch command {
        case .quit:
            outbound.writeImmutableBuffer(Reply.ok)
            state.quit()
        case .auth(let token):
            do throws(ProtocolError) {
                try authenticate(token)
                outbound.writeImmutableBuffer(Reply.ok)
            } catch {
                refuseToken(error, context: context)
            }
        }
    }

    /// How many received lines ahead of the one being answered `startCheckLookups` looks.
    static let lookaheadLines = 32

    /// Starts the index lookups of the CHECK lines among the next `lookaheadLines` received
    /// lines: first every user's slot, then (those slots arriving meanwhile) every user's
    /// record and membership rows. Answered one after another, a pipelined burst's CHECKs
    /// would each wait for their own cache misses in turn; started together, the misses
    /// overlap. Returns how many lines it covered. A hint: no answer changes, nothing is
    /// allocated, no lock is taken.
    func startCheckLookups() -> Int {
        // Read once: `self.snapshot` in the closures would be retained, released and
        // access-checked for every line.
        let snapshot = snapshot
        return inbound.withUnsafeReadableBytes { bytes in
            let lines = CheckLookahead.forEachUser(in: bytes, maxLines: Self.lookaheadLines) { snapshot.prefetchUser($0) }
            // One line (a client waiting for each answer) has nothing to overlap with.
            guard lines > 1 else { return lines }
            return CheckLookahead.forEachUser(in: bytes, maxLines: Self.lookaheadLines) {
                snapshot.prefetchMemberships(ofUser: $0)
            }
        }
    }

    /// Answers the plain CHECK lines (`PlainCheck`: one permission, single spaces) at the
    /// start of the inbound buffer, at most `maxLines`, straight from the received bytes;
    /// returns how many it answered. The answers are those of `check(_:)` on the same lines,
    /// without making a line buffer, a `RequestLine` or a `Request` for each, and with the
    /// connection's own fields touched once for the lot rather than once per line.
    func answerPlainChecks(maxLines: Int) -> Int {
        let snapshot = snapshot
        var replies = noBytes
        swap(&replies, &outbound)
        defer { swap(&replies, &outbound) }
        var allowed = 0
        let answered = framer.takePlainChecks(in: &inbound, maxLines: maxLines) { check in
            let membership = snapshot.membershipSlot(user: check.user, organization: check.organization)
            let allows = snapshot.decide(membership, check.permission)
            if allows { allowed &+= 1 }
            Reply.writeAnswer(allows, into: &replies)
        }
        guard answered > 0 else { return 0 }
        counts.request(.check, times: answered)
        checks += answered
        allows += allowed
        denies += answered - allowed
        return answered
    }

    /// `CHECK <user> <org> <perm>...`: byte slices straight from the line, no allocation.
    func check(_ request: CheckQuery) {
        request.withWords { words in
            guard let user = words.next(), let organization = words.next() else { return }
            // The membership is looked up once for all the permissions of the line.
            let membership = snapshot.membershipSlot(user: user, organization: organization)
            var first = true
            while let permission = words.next() {
                let allowed = snapshot.decide(membership, permission)
                if allowed { allows += 1 } else { denies += 1 }
                checks += 1
                if first && words.isAtEnd {
                    Reply.writeAnswer(allowed, into: &outbound)
                    return
                }
                Reply.writeDecision(allowed, first: first, into: &outbound)
                first = false
            }
            Reply.endLine(into: &outbound)
        }
    }

    private func statistics() -> Statistics {
        let index = snapshot.statistics
        let shared = shared.statistics
        addCounts()
        return Statistics(
            revision: snapshot.revision, users: index.users, organizations: index.organizations,
            memberships: index.memberships, roles: index.roles, permissions: index.permissions,
            indexBytes: index.indexBytes, buildMilliseconds: index.buildMilliseconds,
            connections: shared.connections.load(ordering: .relaxed),
            checks: shared.checks.load(ordering: .relaxed), allows: shared.allows.load(ordering: .relaxed),
            denies: shared.denies.load(ordering: .relaxed), uptimeSeconds: shared.uptimeSeconds,
            store: self.shared.backend.rawValue, policyDigest: snapshot.policy.digest ?? "none",
            databaseUp: self.shared.link?.databaseUp, lagMilliseconds: self.shared.link?.lagMilliseconds)
    }
}
