@testable import PermdLoad
import Testing

/// How a run cuts replies out of the bytes it receives, and judges them: fed whole and one
/// byte at a time, as the framing of pipelined answers must hold either way.
@Suite struct ReplyFramingTests {
    /// The lengths of the complete replies in `bytes`, in order.
    private func replies(_ dialect: Dialect, _ bytes: [UInt8]) -> [Int] {
        var lengths: [Int] = []
        var offset = 0
        bytes.withUnsafeBytes { all in
            while let length = dialect.replyLength(UnsafeRawBufferPointer(rebasing: all[offset...])) {
                lengths.append(length)
                offset += length
            }
        }
        return lengths
    }

    /// Whether `bytes` holds a complete reply only once its last byte has arrived.
    private func completesOnlyAtTheEnd(_ dialect: Dialect, _ bytes: [UInt8]) -> Bool {
        (1..<bytes.count).allSatisfy { count in
            bytes.withUnsafeBytes { dialect.replyLength(UnsafeRawBufferPointer(rebasing: $0[..<count])) } == nil
        } && replies(dialect, bytes) == [bytes.count]
    }

    @Test func respRepliesAreFramedWholeAndByteByByte() {
        let integer = Array(":1\r\n".utf8)
        let array = Array("*2\r\n$13\r\nread:invoices\r\n$9\r\nread:a\r\nb\r\n".utf8)
        let empty = Array("*0\r\n".utf8)
        let error = Array("-WRONGTYPE Operation against a key\r\n".utf8)
        for reply in [integer, array, empty, error] {
            #expect(completesOnlyAtTheEnd(.redis, reply), "\(String(decoding: reply, as: UTF8.self))")
        }
        #expect(replies(.redis, integer + array + empty + error) == [integer.count, array.count, empty.count, error.count])
    }

    @Test func lineRepliesEndAtTheirNewline() {
        let lines = Array("ALLOW\nOK read:a read:b\nDENY not-member\n".utf8)
        #expect(replies(.permd, lines) == [6, 17, 16])
        #expect(completesOnlyAtTheEnd(.permd, Array("ALLOW role:admin direct\n".utf8)))
    }

    @Test func expectedAnswersAreJudgedByteForByte() {
        let check = LineDialect.plan(.check(user: "u1", organization: "org_a", permission: "read:a"),
                                     expected: .decision(true))
        #expect(check.wire == Array("CHECK u1 org_a read:a\n".utf8))
        #expect(Array("ALLOW\n".utf8).withUnsafeBytes { Dialect.permd.verify($0, check.check) })
        #expect(!Array("DENY\n".utf8).withUnsafeBytes { Dialect.permd.verify($0, check.check) })
        let perms = LineDialect.plan(.permissions(user: "u1", organization: "org_a"), expected: .permissions(["a:b", "c:d"]))
        #expect(Array("OK a:b c:d\n".utf8).withUnsafeBytes { Dialect.permd.verify($0, perms.check) })
        let members = RESPDialect.plan(.permissions(user: "u1", organization: "org_a"), expected: .permissions(["a:b", "c:d"]))
        #expect(members.text == "SMEMBERS perms:org_a:u1")
        #expect(Array("*2\r\n$3\r\nc:d\r\n$3\r\na:b\r\n".utf8).withUnsafeBytes { Dialect.redis.verify($0, members.check) })
        #expect(!Array("*1\r\n$3\r\na:b\r\n".utf8).withUnsafeBytes { Dialect.redis.verify($0, members.check) })
        #expect(Array("OK 42\n".utf8).withUnsafeBytes { Dialect.permd.verify($0, .revision) })
        #expect(!Array("OK\n".utf8).withUnsafeBytes { Dialect.permd.verify($0, .revision) })
        #expect(!Array("ERR NOAUTH admin token needed\n".utf8).withUnsafeBytes { Dialect.permd.verify($0, .notError) })
    }

    @Test func aMixIsParsedAndRefusedWhenMalformed() {
        #expect(RequestMix(argument: "check=90,perms=5,explain=5")?.description == "check=90,perms=5,explain=5")
        #expect(RequestMix(argument: "write=1")?.includes(.write) == true)
        for bad in ["", "check", "check=x", "check=-1", "chek=5", "check=0", "check=1,check=2"] {
            #expect(RequestMix(argument: bad) == nil, "\(bad)")
        }
    }
}
