import ArgumentParser

/// The wire a run speaks: permd's line protocol, or RESP to Redis. One load generator for
/// both, so that a comparison measures the servers and not two clients.
enum Dialect: String, CaseIterable, Sendable, ExpressibleByArgument {
    case permd
    case redis

    /// The server address when `--server` is not given.
    var defaultServer: String {
        switch self {
        case .permd: Endpoint.defaultServer
        case .redis: "127.0.0.1:6379"
        }
    }

    /// The request in this dialect's words, and how its answer is checked (`expected` nil:
    /// answers are not checked).
    func plan(_ request: LoadRequest, expected: ExpectedAnswer?) -> PlannedRequest {
        switch self {
        case .permd: LineDialect.plan(request, expected: expected)
        case .redis: RESPDialect.plan(request, expected: expected)
        }
    }

    /// `AUTH <token>` in this dialect, and the reply that accepts it.
    func authentication(_ token: String) -> (request: [UInt8], accepted: [UInt8]) {
        switch self {
        case .permd: (Array("AUTH \(token)\n".utf8), Array("OK\n".utf8))
        case .redis: (RESPDialect.command(["AUTH", token]), Array("+OK\r\n".utf8))
        }
    }

    /// The length of the first complete reply in `bytes`, or nil when it is not all there.
    @inline(__always)
    func replyLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        switch self {
        case .permd: LineDialect.replyLength(bytes)
        case .redis: RESPDialect.replyLength(bytes)
        }
    }

    /// Whether `reply` (one complete reply) passes `check`.
    @inline(__always)
    func verify(_ reply: UnsafeRawBufferPointer, _ check: ReplyCheck) -> Bool {
        switch check {
        case .exact(let expected):
            return reply.count == expected.count && expected.withUnsafeBytes { reply.elementsEqual($0) }
        case .notError:
            return !isError(reply)
        case .revision:
            return LineDialect.isRevision(reply)
        case .members(let members):
            return RESPDialect.arrayMembers(reply).map { $0.sorted() == members.sorted() } ?? false
        }
    }

    /// Whether `reply` is an error (`ERR ...` or RESP's `-...`).
    @inline(__always)
    func isError(_ reply: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .permd: reply.starts(with: "ERR ".utf8)
        case .redis: reply.first == UInt8(ascii: "-")
        }
    }
}
