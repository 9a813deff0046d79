/// Redis's RESP2, for the same workload against Redis: each membership is one set holding
/// its effective permissions (`fill-redis` writes them), so `SISMEMBER` is Redis's nearest
/// equivalent of a `CHECK`.
enum RESPDialect {
    /// The key of a membership's set. One place for the naming, shared by `fill-redis`.
    static func key(user: String, organization: String) -> String {
        "perms:\(organization):\(user)"
    }

    static func plan(_ request: LoadRequest, expected: ExpectedAnswer?) -> PlannedRequest {
        let words: [String]
        switch request {
        case .check(let user, let organization, let permission):
            words = ["SISMEMBER", key(user: user, organization: organization), permission]
        case .permissions(let user, let organization):
            words = ["SMEMBERS", key(user: user, organization: organization)]
        case .explain:
            preconditionFailure("EXPLAIN has no Redis form; LoadCommand.validate refuses it")
        case .write(let target, let add):
            words = [add ? "SADD" : "SREM", key(user: target.user, organization: target.organization), target.member]
        }
        let check: ReplyCheck = switch expected {
        case nil: .notError
        case .decision(let member): .exact(Array((member ? ":1\r\n" : ":0\r\n").utf8))
        case .changed: .exact(Array(":1\r\n".utf8))
        case .permissions(let keys): .members(keys)
        case .explanation: .notError
        }
        return PlannedRequest(wire: command(words), check: check, text: words.joined(separator: " "))
    }

    /// A command as a RESP array of bulk strings.
    static func command(_ words: [String]) -> [UInt8] {
        var bytes = Array("*\(words.count)\r\n".utf8)
        for word in words {
            bytes += Array("$\(word.utf8.count)\r\n".utf8)
            bytes += Array(word.utf8)
            bytes += [13, 10]
        }
        return bytes
    }

    /// The length of the first complete reply in `bytes`, or nil when it is not all there
    /// (or is not RESP: the run then waits for more, and the server's answer is judged when
    /// it ends a line).
    static func replyLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var offset = 0
        return element(bytes, &offset) ? offset : nil
    }

    /// The members of a complete RESP array of bulk strings; nil for anything else.
    static func arrayMembers(_ reply: UnsafeRawBufferPointer) -> [String]? {
        guard reply.first == UInt8(ascii: "*") else { return nil }
        var offset = 1
        guard let count = number(reply, &offset) else { return nil }
        var members: [String] = []
        for _ in 0..<max(count, 0) {
            guard offset < reply.count, reply[offset] == UInt8(ascii: "$") else { return nil }
            offset += 1
            guard let length = number(reply, &offset), length >= 0, offset + length + 2 <= reply.count else { return nil }
            members.append(String(decoding: UnsafeRawBufferPointer(rebasing: reply[offset..<(offset + length)]), as: UTF8.self))
            offset += length + 2
        }
        return members
    }

    /// Steps over one element at `offset`; false when it is incomplete.
    private static func element(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) -> Bool {
        guard offset < bytes.count else { return false }
        let type = bytes[offset]
        offset += 1
        switch type {
        case UInt8(ascii: "$"):
            guard let length = number(bytes, &offset) else { return false }
            guard length >= 0 else { return true }  // the nil bulk string
            guard offset + length + 2 <= bytes.count else { return false }
            offset += length + 2
            return true
        case UInt8(ascii: "*"):
            guard let count = number(bytes, &offset) else { return false }
            for _ in 0..<max(count, 0) {
                guard element(bytes, &offset) else { return false }
            }
            return true
        default:  // + - : and anything unexpected: one line
            guard let end = lineEnd(bytes, from: offset) else { return false }
            offset = end
            return true
        }
    }

    /// Reads the decimal number ending a header line (`:12\r\n`), moving past its CRLF.
    private static func number(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) -> Int? {
        guard let end = lineEnd(bytes, from: offset) else { return nil }
        let digits = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(end - 2)]), as: UTF8.self)
        offset = end
        return Int(digits)
    }

    /// The offset just past the next CRLF at or after `start`.
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 13 && bytes[index + 1] == 10 { return index + 2 }
            index += 1
        }
        return nil
    }
}
