import NIOCore
public import PermdProtocol
import Synchronization

/// A fixed number of connections to one server, shared by many tasks: each request goes to
/// the next connection in turn (connections pipeline, so none waits for another's answer).
/// A connection that closed is replaced on its next turn; a request in flight when it closed
/// fails with `PermdClientError.closed` and is not sent again (a write may have been applied).
public final class PermdPool: PermdRequester {
    /// Opens one connection (with its `AUTH`).
    public typealias Connect = @Sendable () async throws -> PermdConnection

    private let connect: Connect
    private let slots: Mutex<[PermdConnection?]>
    private let turn = Atomic<UInt>(0)

    /// - Parameters:
    ///   - size: how many connections (at least 1).
    ///   - connect: opens one; called when a slot is first used or its connection closed.
    public init(size: Int, connect: @escaping Connect) {
        precondition(size > 0, "a pool holds at least one connection")
        self.connect = connect
        slots = Mutex(Array(repeating: nil, count: size))
    }

    /// A pool of TCP connections, each authenticated with `token` when one is given.
    public convenience init(host: String = "127.0.0.1", port: Int = 7468, token: String? = nil, size: Int = 4) {
        self.init(size: size) { try await PermdConnection.connect(host: host, port: port, token: token) }
    }

    public func send(_ requests: [ClientRequest]) async throws -> [ReplyLine] {
        try await connection().send(requests)
    }

    /// The connection whose turn it is, opened if need be.
    public func connection() async throws -> PermdConnection {
        // Wrapping: after 2^64 turns it starts again from slot 0.
        let index = Int(turn.wrappingAdd(1, ordering: .relaxed).oldValue % UInt(slots.withLock { $0.count }))
        if let open = slots.withLock({ $0[index] }), open.isOpen { return open }
        let fresh = try await connect()
        // Another task may have filled the slot meanwhile: keep theirs, close ours.
        let kept = slots.withLock { slots -> PermdConnection in
            if let other = slots[index], other.isOpen { return other }
            slots[index] = fresh
            return fresh
        }
        if kept !== fresh { await fresh.close() }
        return kept
    }

    /// Closes every connection.
    public func close() async {
        let open = slots.withLock { slots in
            defer { slots = Array(repeating: nil, count: slots.count) }
            return slots.compactMap { $0 }
        }
        for connection in open { await connection.close() }
    }
}
