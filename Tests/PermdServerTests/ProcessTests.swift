import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import PermdTestSupport
#endif

@Suite(.serialized) struct ProcessTests {
    @Test func acknowledgedWritesSurviveSIGKILL() async throws {
        let folder = try ServeFolder()
        let first = try await ServeProcess(folder: folder)
        let client = try first.client()
        #expect(try client.request("AUTH tok3n") == "OK")
        let users = (0..<50).map { "u\($0)" }
        try client.send(users.map { "USER.ADD {\"id\": \"\($0)\"}\n" }.joined())
        let replies = try client.readLines(users.count)
        #expect(replies.allSatisfy { $0.hasPrefix("OK ") })
        first.signal(SIGKILL)
        first.process.waitUntilExit()

        let second = try await ServeProcess(folder: folder)
        let check = try second.client()
        for user in users {
            #expect(try check.request("CHECK \(user) org_default read:invoices") == "ALLOW")
        }
    }

    @Test func sigtermAnswersWhatWasReceivedThenExitsZero() async throws {
        let folder = try ServeFolder()
        let serve = try await ServeProcess(folder: folder)
        // A connection's first read takes up to 2 KiB, so a smaller batch sent at once is
        // read whole; PONG is sent as soon as it is read, before the writes are committed.
        let users = (0..<8).map { "t\($0)" }
        let batch = "PING\nAUTH tok3n\n" + users.map { "USER.ADD {\"id\": \"\($0)\"}\n" }.joined()
            + "CHECK t7 org_default read:invoices\nMEMBER.ADD t0 org_acme admin\nCHECK t0 org_acme write:invoices\nPING\n"
        #expect(batch.utf8.count < 2048)
        let client = try serve.client()
        try client.send(batch)
        #expect(try client.readLine() == "PONG")
        serve.signal(SIGTERM)
        let replies = try client.readLines(users.count + 5)
        #expect(replies[0] == "OK")
        #expect(replies[1...users.count].allSatisfy { $0.hasPrefix("OK t") })
        #expect(Array(replies[(users.count + 1)...]) == ["ALLOW", replies[users.count + 2], "ALLOW", "PONG"])
        #expect(replies[users.count + 2].hasPrefix("OK "))
        #expect(try client.readLine() == nil)
        serve.process.waitUntilExit()
        #expect(serve.process.terminationReason == .exit)
        #expect(serve.process.terminationStatus == 0)

        let again = try await ServeProcess(folder: folder)
        let check = try again.client()
        for user in users {
            #expect(try check.request("CHECK \(user) org_default read:invoices") == "ALLOW")
        }
        #expect(try check.request("CHECK t0 org_acme write:invoices") == "ALLOW")
    }

    @Test func sighupReloadsAndKeepsTheOldPoliciesWhenTheNewAreInvalid() async throws {
        let folder = try ServeFolder()
        let serve = try await ServeProcess(folder: folder)
        let client = try serve.client()
        #expect(try client.request("AUTH tok3n") == "OK")
        #expect(try client.request(#"USER.ADD {"id": "ana"}"#).hasPrefix("OK ana "))
        #expect(try client.request("CHECK ana org_default write:invoices") == "DENY")

        let viewerWrites = TestServer.policyJSON.replacingOccurrences(
            of: #""permissions": ["read:*"]"#, with: #""permissions": ["read:*", "write:invoices"]"#)
        #expect(viewerWrites != TestServer.policyJSON)
        try folder.writePolicy(viewerWrites)
        serve.signal(SIGHUP)
        try await serve.waitForLog("SIGHUP: OK")
        #expect(try client.request("CHECK ana org_default write:invoices") == "ALLOW")

        // The old policy again, plus a broken file: the reload is refused as a whole.
        try folder.writePolicy(TestServer.policyJSON)
        try folder.writePolicy("{ not json", file: "broken.json")
        serve.signal(SIGHUP)
        try await serve.waitForLog("SIGHUP: ERR INVALID")
        #expect(try client.request("CHECK ana org_default write:invoices") == "ALLOW")
        #expect(try serve.client().request("CHECK ana org_default write:invoices read:invoices") == "ALLOW ALLOW")
        #expect(try client.request("PING") == "PONG")
    }

    /// A client that pipelines CHECKs without reading: its sends stall far below the total
    /// (the server stops reading it once its replies back up), the server's memory stays
    /// bounded, and once the client reads, every answer arrives in order.
    @Test func aClientThatDoesNotReadIsSlowedNotBuffered() async throws {
        let folder = try ServeFolder()
        let serve = try await ServeProcess(folder: folder)
        let admin = try serve.client()
        #expect(try admin.request("AUTH tok3n") == "OK")
        #expect(try admin.request(#"USER.ADD {"id": "ana"}"#).hasPrefix("OK ana "))
        let baseline = try serve.residentKiB()

        let flood = PipelineFlood()
        // Small client buffers, so that what stays queued is the server's doing.
        let client = try LineClient(port: serve.port, socketBuffer: 16 * 1024)
        let total = 64 << 20
        let sent = try flood.sendUntilStalled(fd: client.fd, limit: total, seconds: 10)
        let stalledAt = try serve.residentKiB()
        #expect(sent.stalled, "the client pushed \(sent.bytes) bytes in 10 s without stalling")
        #expect(sent.bytes < total / 8, "the client pushed \(sent.bytes) of \(total) bytes")
        // Under a sanitizer the resident size measures its shadow memory and quarantine (ASan:
        // 64 MiB here); the stall above is the behaviour, checked either way.
        if Sanitizer.active == nil {
            #expect(stalledAt - baseline < 32 * 1024, "the server grew from \(baseline) KiB to \(stalledAt) KiB")
        }

        let mismatch = try flood.readReplies(fd: client.fd, lines: sent.lines, unsent: sent.unsent)
        #expect(mismatch == nil, "\(mismatch ?? "")")
        #expect(try admin.request("PING") == "PONG")
    }
}

/// Pipelined `CHECK` lines whose answers spell out the line's number: line `i` asks for
/// 64 permissions, the first 20 of them `read:invoices` (ALLOW) where bit k of `i` is set
/// and `x` (DENY) elsewhere, so any reply out of order or lost shows.
private struct PipelineFlood {
    static let bits = 20
    static let words = 64

    func line(_ index: Int) -> [UInt8] {
        var bytes = Array("CHECK ana org_default".utf8)
        for word in 0..<Self.words {
            bytes += word < Self.bits && index & (1 << word) != 0 ? Self.granted : Self.unknown
        }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    func reply(_ index: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for word in 0..<Self.words {
            if word > 0 { bytes.append(UInt8(ascii: " ")) }
            bytes += word < Self.bits && index & (1 << word) != 0 ? Self.allow : Self.deny
        }
        return bytes
    }

    private static let granted = Array(" read:invoices".utf8)
    private static let unknown = Array(" x".utf8)
    private static let allow = Array("ALLOW".utf8)
    private static let deny = Array("DENY".utf8)

    /// Sends lines without reading until no byte goes out for a second (`stalled`), or
    /// `limit` bytes are sent, or `seconds` have passed. Returns the bytes sent, the lines
    /// begun and what is left of the last one.
    func sendUntilStalled(fd: Int32, limit: Int, seconds: Int)
        throws -> (stalled: Bool, bytes: Int, lines: Int, unsent: [UInt8]) {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var bytes = 0
        var lines = 0
        var chunk: [UInt8] = []
        var offset = 0
        while true {
            if offset == chunk.count {
                if bytes >= limit || ContinuousClock.now > deadline { return (false, bytes, lines, []) }
                chunk = line(lines)
                offset = 0
                lines += 1
            }
            let count = chunk[offset...].withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if count > 0 {
                offset += count
                bytes += count
                continue
            }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw ClientError(description: "send failed: \(errno)") }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&poller, 1, 1000) == 0 { return (true, bytes, lines, Array(chunk[offset...])) }
        }
    }

    /// Reads `lines` replies (sending what is left of the last line when it can) and
    /// compares each with its expected answer; returns the first difference, or nil.
    func readReplies(fd: Int32, lines: Int, unsent: [UInt8]) throws -> String? {
        var unsent = unsent[...]
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1 << 20)
        defer { buffer.deallocate() }
        var start = 0
        var end = 0
        var index = 0
        while index < lines {
            if let newline = (start..<end).first(where: { buffer[$0] == UInt8(ascii: "\n") }) {
                let got = UnsafeMutableBufferPointer(rebasing: buffer[start..<newline])
                if !got.elementsEqual(reply(index)) {
                    return "line \(index): \(String(decoding: got, as: UTF8.self))"
                }
                start = newline + 1
                index += 1
                continue
            }
            if start > 0 {
                _ = UnsafeMutableRawBufferPointer(buffer).baseAddress.map { memmove($0, $0 + start, end - start) }
                end -= start
                start = 0
            }
            var poller = pollfd(fd: fd, events: Int16(unsent.isEmpty ? POLLIN : POLLIN | POLLOUT), revents: 0)
            guard poll(&poller, 1, 5000) > 0 else { return "no reply after \(index) of \(lines) for 5 s" }
            if poller.revents & Int16(POLLOUT) != 0 {
                let count = unsent.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if count > 0 { unsent = unsent.dropFirst(count) }
            }
            if poller.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let count = recv(fd, buffer.baseAddress! + end, buffer.count - end, Int32(MSG_DONTWAIT))
                guard count > 0 else { return "the connection ended after \(index) of \(lines) replies (errno \(errno))" }
                end += count
            }
        }
        return nil
    }
}
