import NIOCore
import PermdProtocol

/// permd's line protocol (SPEC §5). Expected replies are encoded by `Reply`, the encoder
/// the server uses, so that a reply is judged byte for byte without a second copy of the
/// protocol's spelling here.
enum LineDialect {
    static func plan(_ request: LoadRequest, expected: ExpectedAnswer?) -> PlannedRequest {
        let line = text(request)
        let check: ReplyCheck = switch expected {
        case nil: .notError
        case .changed: .revision
        case .decision(let allowed): .exact(bytes(allowed ? Reply.allow : Reply.deny))
        case .permissions(let keys): .exact(encoded { Reply.writeOK(keys, into: &$0) })
        case .explanation(let explanation): .exact(encoded { Reply.write(explanation, into: &$0) })
        }
        return PlannedRequest(wire: Array((line + "\n").utf8), check: check, text: line)
    }

    /// The request line without its newline.
    static func text(_ request: LoadRequest) -> String {
        switch request {
        case .check(let user, let organization, let permission): "CHECK \(user) \(organization) \(permission)"
        case .permissions(let user, let organization): "PERMS \(user) \(organization)"
        case .explain(let user, let organization, let permission): "EXPLAIN \(user) \(organization) \(permission)"
        case .write(let target, let add):
            "\(add ? "ROLE.ADD" : "ROLE.DEL") \(target.user) \(target.organization) \(target.role)"
        }
    }

    /// A reply is one line: up to and including the first `\n`.
    @inline(__always)
    static func replyLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        bytes.firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }
    }

    /// `OK <digits>\n`.
    static func isRevision(_ reply: UnsafeRawBufferPointer) -> Bool {
        guard reply.count > 4, reply.starts(with: "OK ".utf8), reply.last == UInt8(ascii: "\n") else { return false }
        return reply[3..<(reply.count - 1)].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func encoded(_ write: (inout ByteBuffer) -> Void) -> [UInt8] {
        var buffer = ByteBuffer()
        write(&buffer)
        return bytes(buffer)
    }

    private static func bytes(_ buffer: ByteBuffer) -> [UInt8] {
        buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
    }
}
