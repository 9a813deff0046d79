import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 13 (4), the soak: mixed queries, writes, reloads (SIGHUP) and reconnects for
/// `PERMD_SOAK_SECONDS` (`make soak` gives 600); off in `make test`. Resident memory stays
/// flat after the warm-up (the first fifth) and no answer is an error.
@Suite(.serialized) struct SoakTests {
    static let seconds = ProcessInfo.processInfo.environment["PERMD_SOAK_SECONDS"].flatMap(Int.init)

    @Test(.enabled(if: seconds != nil, "set PERMD_SOAK_SECONDS (make soak)"))
    func mixedLoadKeepsMemoryFlatAndAnswersNoError() async throws {
        let seconds = try #require(Self.seconds)
        let folder = try ServeFolder()
        let server = try await ServeProcess(folder: folder)
        let clock = ContinuousClock()
        let start = clock.now
        let warmUp = start + .seconds(seconds / 5)
        let end = start + .seconds(seconds)
        var afterWarmUp: Int?
        var peak = 0
        var requests = 0
        var unexpected: [String] = []
        var nextReload = start + .seconds(5)
        var random = ModelRandom(seed: UInt64.random(in: 1...UInt64.max))
        while clock.now < end {
            // A fresh connection every round: reconnects are part of the load.
            let client = try server.client()
            #expect(try client.request("AUTH tok3n") == "OK")
            for _ in 0..<200 {
                let user = "s\(random.next() % 5000)"
                let line: String
                switch random.next() % 10 {
                case 0: line = "USER.ADD {\"id\": \"\(user)\"}"
                case 1: line = "MEMBER.ADD \(user) org_acme admin"
                case 2: line = "PERMS \(user) org_acme"
                case 3: line = "WHO org_acme write:invoices - 50"
                case 4: line = "EXPLAIN \(user) org_acme delete:org"
                default: line = "CHECK \(user) org_acme read:invoices write:invoices"
                }
                let reply = try client.request(line)
                requests += 1
                // MEMBER.ADD for a user not added yet is the one expected refusal.
                if reply.hasPrefix("ERR") && !(line.hasPrefix("MEMBER.ADD") && reply.hasPrefix("ERR NOT_FOUND")) {
                    unexpected.append("\(line) → \(reply)")
                }
            }
            if clock.now >= nextReload {
                server.signal(SIGHUP)
                nextReload = clock.now + .seconds(5)
            }
            let resident = try server.residentKiB()
            if clock.now >= warmUp {
                if afterWarmUp == nil { afterWarmUp = resident }
                peak = max(peak, resident)
            }
        }
        let baseline = try #require(afterWarmUp)
        print("soak: \(requests) requests in \(seconds) s, resident \(baseline) KiB after warm-up, peak \(peak) KiB")
        #expect(unexpected.isEmpty, "\(unexpected.count) unexpected errors, first: \(unexpected.prefix(5))")
        #expect(peak - baseline < 32 * 1024, "resident memory grew from \(baseline) KiB to \(peak) KiB after the warm-up")
    }
}
