import Foundation
import PermdTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 13 (4): clients that attack the server's resources, each against a bound. The
/// server runs as a process so that its memory and descriptors are its own
/// (`/proc/<pid>`). The pipelining flood is `ProcessTests.aClientThatDoesNotReadIsSlowedNotBuffered`.
///
/// The bounds on time are issue 13's 100 ms for nine replies in ten and 1 s for the slowest
/// (`ReplyTimes`): what they show is that a hostile client does not hold others up, not how
/// fast a reply is.
@Suite(.serialized) struct HostileClientTests {
    /// The server's open descriptors.
    static func descriptors(_ server: ServeProcess) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.pid)/fd").count
    }

    /// What the server's descriptors are open on (for a failure's message).
    static func descriptorTargets(_ server: ServeProcess) -> [String] {
        let folder = "/proc/\(server.pid)/fd"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.map {
            "\($0)=\((try? FileManager.default.destinationOfSymbolicLink(atPath: folder + "/" + $0)) ?? "?")"
        }
    }

    /// Raises this process's soft descriptor limit to the hard one (to hold many clients).
    static func raiseOwnDescriptorLimit() -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int(limit.rlim_cur)
    }

    @Test func aHundredMegabyteLineIsRefusedOnceAndTheConnectionGoesOn() async throws {
        let folder = try ServeFolder()
        let server = try await ServeProcess(folder: folder)
        let client = try server.client()
        #expect(try client.request("PING") == "PONG")
        let baseline = try server.residentKiB()
        let chunk = [UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20)
        // The server reads and throws the line away as it comes (its answer waits in this
        // client's receive buffer), so all of it can be sent before reading.
        for _ in 0..<100 { try client.send(chunk) }
        try client.send("\nPING\n")
        #expect(try client.readLine()?.hasPrefix("ERR TOO_LONG") == true)
        #expect(try client.readLine() == "PONG", "the connection did not go on after the long line")
        let grown = try server.residentKiB() - baseline
        // Under a sanitizer the resident size measures the sanitizer: AddressSanitizer keeps
        // every freed read buffer in its quarantine (256 MiB by default) and both keep shadow
        // memory. The bound is then not checked; the plain build (`make test`) checks it.
        if Sanitizer.active == nil {
            #expect(grown < 64 * 1024, "the server grew by \(grown) KiB over a 100 MB line")
        }
    }

    @Test func connectionsThatSendAByteAndCloseLeakNoDescriptor() async throws {
        let folder = try ServeFolder()
        let server = try await ServeProcess(folder: folder)
        #expect(try server.client().request("PING") == "PONG")
        // Under a sanitizer only sockets are counted: matching a suppressed report starts the
        // sanitizer's symbolizer, whose two pipes open in the server mid-test (seen: fds 23, 26).
        let counted = { (server: ServeProcess) throws -> Int in
            Sanitizer.active == nil ? try Self.descriptors(server)
                : Self.descriptorTargets(server).filter { $0.contains("=socket:") }.count
        }
        let before = try counted(server)
        let openBefore = Self.descriptorTargets(server)
        for round in 0..<3 {
            for index in 0..<1000 {
                let client = try LineClient(port: server.port)
                try client.send(index % 2 == 0 ? "P" : "\n")
                if round == 1 { client.shutdownWrite() }
            }
        }
        // The server closes what the clients closed; give it a moment to see every end
        // (longer under a sanitizer, which slows the server many times over).
        var after = try counted(server)
        for _ in 0..<(Sanitizer.active == nil ? 50 : 300) where after > before {
            try await Task.sleep(for: .milliseconds(100))
            after = try counted(server)
        }
        let openAfter = Self.descriptorTargets(server)
        #expect(after <= before, "the server held \(before) descriptors before, \(after) after 3,000 one-byte connections: \(openBefore), then \(openAfter)")
        #expect(try server.client().request("PING") == "PONG")
    }

    @Test func aSlowlorisClientDoesNotHoldOthersUp() async throws {
        let folder = try ServeFolder()
        let server = try await ServeProcess(folder: folder)
        let slow = try server.client()
        let bytes = Array("PERMS ana org_default\n".utf8)
        let other = try server.client()
        let clock = ContinuousClock()
        var times = ReplyTimes()
        // A byte every 300 ms from the slow client; between them, the other one's PINGs.
        for byte in bytes.prefix(12) {
            try slow.send([byte])
            let next = clock.now + .milliseconds(300)
            while clock.now < next {
                let start = clock.now
                #expect(try other.request("PING") == "PONG")
                times.record(clock.now - start)
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try slow.send(Array(bytes.dropFirst(12)))
        #expect(try slow.readLine() == "OK", "the slow client's own line was not answered")
        // At least one PING per byte of the slow client (about 15 each under no load; a
        // loaded machine stretches the 20 ms pauses between them).
        #expect(times.count >= 12)
        print("PING beside a slowloris client: \(times)")
        times.expectWithinIssueBound("a PING beside the slow client")
    }

    @Test func manyIdleConnectionsDoNotKeepNewClientsWaiting() async throws {
        let wanted = ProcessInfo.processInfo.environment["PERMD_IDLE_CONNECTIONS"].flatMap(Int.init) ?? 2000
        let room = Self.raiseOwnDescriptorLimit() - 100
        let count = min(wanted, room)
        try #require(count >= 500, "this process may open only \(room) descriptors")
        let folder = try ServeFolder()
        let server = try await ServeProcess(folder: folder)
        var idle: [LineClient] = []
        for _ in 0..<count { idle.append(try LineClient(port: server.port)) }
        // Every one of them is a connection the server accepted and still serves.
        #expect(try idle[0].request("PING") == "PONG")
        #expect(try idle[count - 1].request("PING") == "PONG")
        let clock = ContinuousClock()
        var times = ReplyTimes()
        for _ in 0..<20 {
            let start = clock.now
            let fresh = try server.client()
            #expect(try fresh.request("PING") == "PONG")
            times.record(clock.now - start)
        }
        print("a new client's connect and PING beside \(count) idle ones: \(times)")
        times.expectWithinIssueBound("a new client beside \(count) idle ones")
        #expect(try Self.descriptors(server) >= count)
    }
}

/// The times of a test's replies, held to issue 13's bound: served "within 100 ms".
///
/// Nine replies in ten, not every one, are held to 100 ms, and the slowest to 1 s: the test
/// machines share two cores with other builds and test runs, and a reply is now and then late
/// by a scheduler slice for reasons that have nothing to do with the hostile client (measured
/// on such a machine: docs/security.md). A hostile client that held the others up would
/// delay most replies, which a few preempted ones do not.
struct ReplyTimes: CustomStringConvertible {
    private(set) var times: [Duration] = []

    var count: Int { times.count }
    var median: Duration { times.sorted()[times.count / 2] }
    /// The time nine replies in ten stay within.
    var ninetiethPercentile: Duration { times.sorted()[(times.count * 9 - 1) / 10] }
    var slowest: Duration { times.max() ?? .zero }

    mutating func record(_ time: Duration) { times.append(time) }

    var description: String {
        let milliseconds = { (time: Duration) in
            String(format: "%.2f ms", Double(time.components.attoseconds) / 1e15 + Double(time.components.seconds) * 1000)
        }
        return "\(times.count) replies, median \(milliseconds(median)), 90th percentile "
            + "\(milliseconds(ninetiethPercentile)), slowest \(milliseconds(slowest))"
    }

    func expectWithinIssueBound(_ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!times.isEmpty && ninetiethPercentile <= .milliseconds(100), "\(what): \(self)", sourceLocation: sourceLocation)
        #expect(slowest < .seconds(1), "\(what): \(self)", sourceLocation: sourceLocation)
    }
}
