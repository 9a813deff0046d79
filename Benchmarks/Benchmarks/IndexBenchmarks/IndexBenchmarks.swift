import Benchmark
import Foundation
import Logging
import PermdCore
import PermdIndex
import PermdPolicy
import PermdStore

/// The dataset of the index targets: 1,000,000 users, 2,000,000 memberships in 1,000
/// organizations, 200 permissions, 50 roles (each user holds one or two roles per
/// membership; one membership in ten has a direct grant).
enum IndexDataset {
    static let userCount = 1_000_000
    static let organizationCount = 1_000
    static let permissionCount = 200
    static let roleCount = 50

    static let permissionKeys = (0..<permissionCount).map { "resource\(pad($0 / 4, 2)):\(["read", "write", "delete", "share"][$0 % 4])" }

    static let policy: PolicySet = {
        var generator = SplitMix(state: 7)
        let roles = (0..<roleCount).map { number in
            let permissions = (0..<20).map { _ in permissionKeys[Int(generator.next() % UInt64(permissionCount))] }
            let includes = number >= 10 && number % 5 == 0 ? ["role-\(pad(number - 10, 2))"] : []
            return RoleDefinition(key: "role-\(pad(number, 2))", permissions: Array(Set(permissions)).sorted()
                                  + (number == 0 ? ["resource00:*"] : []), includes: includes)
        }
        // Every organization is declared, so that the benchmark database has them all.
        return PolicySet(permissions: permissionKeys.map { PermissionDefinition(key: $0) }, roles: roles,
                         organizations: (0..<organizationCount).map { OrganizationDefinition(code: organization($0)) },
                         settings: PolicySettings(defaultOrganization: "org-0000"))
    }()

    static func user(_ number: Int) -> String { "user-" + pad(number, 7) }
    static func organization(_ number: Int) -> String { "org-" + pad(number, 4) }

    /// The two organizations of user `number` (distinct, in code order, as the store
    /// feeds a user's memberships).
    static func organizations(ofUser number: Int) -> (Int, Int) {
        let first = number % organizationCount
        let second = (first + 1 + (number / organizationCount) % (organizationCount - 1)) % organizationCount
        return (min(first, second), max(first, second))
    }

    static func pad(_ number: Int, _ width: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Generates the state row by row, as the SQLite store would feed it (ids sorted).
    struct Reader: StateReader {
        func readState(into sink: inout some StateSink) throws -> UInt64 {
            for number in 0..<organizationCount { sink.organization(organization(number)) }
            for number in 0..<userCount { sink.user(user(number)) }
            for number in 0..<userCount {
                let (first, second) = organizations(ofUser: number)
                sink.membership(user: user(number), organization: organization(first))
                sink.membership(user: user(number), organization: organization(second))
            }
            for number in 0..<userCount {
                let id = user(number)
                let (first, second) = organizations(ofUser: number)
                for (index, code) in [organization(first), organization(second)].enumerated() {
                    sink.roleAssignment(user: id, organization: code, role: "role-" + pad((number + index) % roleCount, 2))
                    if number % 3 == 0 {
                        sink.roleAssignment(user: id, organization: code, role: "role-" + pad((number / 3) % roleCount, 2))
                    }
                    if (number + index) % 10 == 0 {
                        sink.directGrant(user: id, organization: code, permission: permissionKeys[number % permissionCount])
                    }
                }
            }
            return 1
        }

        func changes(after revision: UInt64) throws -> [ChangeRecord]? { nil }

        func stateCounts() throws -> StateCounts? {
            StateCounts(users: userCount, organizations: organizationCount, memberships: 2 * userCount)
        }
    }

    static let snapshot: IndexSnapshot = try! IndexSnapshot.build(policy: policy, reader: Reader())

    /// 4,096 CHECK requests over the whole dataset: members, non-members and unknown users.
    static let queries: [(String, String, String)] = {
        var generator = SplitMix(state: 11)
        return (0..<4096).map { index in
            let number = Int(generator.next() % UInt64(userCount))
            let (first, _) = organizations(ofUser: number)
            let code = index % 8 == 7 ? organization((first + 500) % organizationCount) : organization(first)
            let id = index % 16 == 15 ? "nobody-\(index)" : user(number)
            return (id, code, permissionKeys[Int(generator.next() % UInt64(permissionCount))])
        }
    }()

    /// A request for user `number`: 1 in 8 to an organization it is not a member of,
    /// 1 in 16 for a user that does not exist.
    static func request(index: Int, user number: Int, generator: inout SplitMix) -> (String, String, String) {
        let (first, second) = organizations(ofUser: number)
        let code = index % 8 == 7 ? organization((first + 500) % organizationCount)
            : organization(index % 2 == 0 ? first : second)
        let id = index % 16 == 15 ? "nobody-\(index)" : user(number)
        return (id, code, permissionKeys[Int(generator.next() % UInt64(permissionCount))])
    }

    /// 262,144 requests over users drawn uniformly from all 1M (every request misses the
    /// CPU caches).
    static let uniformRequests: RequestBuffer = {
        var generator = SplitMix(state: 13)
        return RequestBuffer((0..<(1 << 18)).map { index in
            request(index: index, user: Int(generator.next() % UInt64(userCount)), generator: &generator)
        })
    }()

    /// 262,144 requests of which 9 in 10 go to a hot set of 10,000 users (1 %), the rest
    /// uniformly to all users: a service whose active users are a small part of its
    /// directory.
    static let hotSetRequests: RequestBuffer = {
        var generator = SplitMix(state: 17)
        return RequestBuffer((0..<(1 << 18)).map { index in
            let hot = generator.next() % 10 != 0
            let number = hot ? Int(generator.next() % 10_000) * (userCount / 10_000) : Int(generator.next() % UInt64(userCount))
            return request(index: index, user: number, generator: &generator)
        })
    }()
}

/// CHECK requests as fixed 64-byte records in one flat buffer (lengths, then the user id,
/// organization code and permission key), so that reading a request costs the benchmark
/// no pointer chasing of its own.
struct RequestBuffer: Sendable {
    static let recordBytes = 64
    let bytes: [UInt8]
    var count: Int { bytes.count / RequestBuffer.recordBytes }

    init(_ requests: [(String, String, String)]) {
        var bytes = [UInt8](repeating: 0, count: requests.count * RequestBuffer.recordBytes)
        for (index, (user, organization, permission)) in requests.enumerated() {
            let base = index * RequestBuffer.recordBytes
            for (field, (start, text)) in [(4, user), (28, organization), (40, permission)].enumerated() {
                let utf8 = Array(text.utf8)
                precondition(utf8.count <= [24, 12, 24][field])
                bytes[base + field] = UInt8(utf8.count)
                bytes.replaceSubrange(base + start..<base + start + utf8.count, with: utf8)
            }
        }
        self.bytes = bytes
    }
}

/// Where a CHECK benchmark's next sample starts in its request buffer.
/// `@unchecked Sendable`: the harness runs one sample at a time.
final class RequestCursor: @unchecked Sendable {
    var next = 0
}

/// A state sink that only counts the rows it is fed.
struct RowCounter: StateSink {
    var rows = 0
    mutating func organization(_ code: UnsafeRawBufferPointer) { rows += 1 }
    mutating func user(_ id: UnsafeRawBufferPointer) { rows += 1 }
    mutating func membership(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) { rows += 1 }
    mutating func roleAssignment(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                 role: UnsafeRawBufferPointer) { rows += 1 }
    mutating func directGrant(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                              permission: UnsafeRawBufferPointer) { rows += 1 }
}

/// A small deterministic generator, so that the dataset is the same on every run.
struct SplitMix {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.timeUnits = .nanoseconds

    // One CHECK per iteration step through the byte-slice hot path, cycling through 4,096
    // requests over the whole dataset. Expect 0 allocations.
    checkBenchmark("CHECK by bytes, 4,096 requests (2M memberships)", requests: RequestBuffer(IndexDataset.queries))
    Benchmark(
        "Full build (1M users, 2M memberships, 200 permissions, 50 roles)",
        configuration: .init(metrics: [.wallClock, .peakMemoryResident], timeUnits: .milliseconds,
                             maxDuration: .seconds(60), maxIterations: 3)
    ) { _ in
        let snapshot = try IndexSnapshot.build(policy: IndexDataset.policy, reader: IndexDataset.Reader())
        blackHole(snapshot)
    }

    // The target's measure: open the SQLite database of the same dataset and build the
    // index from it, as `permd serve` does at start and on a policy reload.
    Benchmark(
        "Full build from SQLite (1M users, 2M memberships, 200 permissions, 50 roles)",
        configuration: .init(metrics: [.wallClock, .peakMemoryResident], timeUnits: .milliseconds,
                             maxDuration: .seconds(60), maxIterations: 5)
    ) { benchmark, path in
        for _ in benchmark.scaledIterations {
            let store = try SQLiteStore(path: path, policy: IndexDataset.policy, logger: Logger(label: "permd.benchmark"))
            let snapshot = try IndexSnapshot.build(policy: IndexDataset.policy, reader: store)
            precondition(snapshot.statistics.memberships == 2 * IndexDataset.userCount, "every membership must be read")
            blackHole(snapshot)
        }
    } setup: {
        try IndexDatabase.prepare()
    }

    // The share of that build spent in SQLite: the same read, into a sink that only counts.
    Benchmark(
        "Read the SQLite state only (baseline of the full build from SQLite)",
        configuration: .init(metrics: [.wallClock], timeUnits: .milliseconds, maxDuration: .seconds(60), maxIterations: 5)
    ) { benchmark, path in
        for _ in benchmark.scaledIterations {
            let store = try SQLiteStore(path: path, policy: IndexDataset.policy, logger: Logger(label: "permd.benchmark"))
            var counter = RowCounter()
            blackHole(try store.readState(into: &counter))
            precondition(counter.rows > 2 * IndexDataset.userCount, "the database must hold the dataset")
        }
    } setup: {
        try IndexDatabase.prepare()
    }

    // The share of the full build spent generating the rows' strings (no index at all).
    Benchmark(
        "Generate the dataset's rows only (baseline of the full build)",
        configuration: .init(metrics: [.wallClock], timeUnits: .milliseconds, maxDuration: .seconds(60), maxIterations: 3)
    ) { _ in
        var counter = RowCounter()
        blackHole(try IndexDataset.Reader().readState(into: &counter))
        blackHole(counter.rows)
    }

    // The same CHECK over 64 requests, whose data stays in the CPU caches.
    checkBenchmark("CHECK by bytes, cache-resident (64 requests)",
                   requests: RequestBuffer(Array(IndexDataset.queries.prefix(64))))
    checkBenchmark("CHECK by bytes, uniformly random users (2M memberships)", requests: IndexDataset.uniformRequests)
    checkBenchmark("CHECK by bytes, hot set: 90 % of requests to 1 % of users", requests: IndexDataset.hotSetRequests)

    // Hashing and finding a permission key (17 bytes) in the 200-key table: the cost of
    // the byte hash itself, with everything in cache.
    Benchmark(
        "Permission key lookup (byte hash + probe, 17 bytes)",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo,
                             maxDuration: .seconds(5), maxIterations: 2_000)
    ) { benchmark in
        let snapshot = IndexDataset.snapshot
        // The first 128 keys as 32-byte records (length, then the key) in one flat buffer.
        var keys = [UInt8](repeating: 0, count: 128 * 32)
        for (index, key) in IndexDataset.permissionKeys.prefix(128).enumerated() {
            keys[index * 32] = UInt8(key.utf8.count)
            keys.replaceSubrange(index * 32 + 1..<index * 32 + 1 + key.utf8.count, with: Array(key.utf8))
        }
        keys.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!
            var next = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let record = base + next &* 32
                blackHole(snapshot.permissionSlot(UnsafeRawBufferPointer(start: record + 1, count: Int(record.load(as: UInt8.self)))))
                next = (next &+ 1) & 127
            }
        }
    } setup: {
        _ = IndexDataset.snapshot
    }

    // The index's own bytes per membership (chunk capacities included, ids included).
    Benchmark(
        "Index bytes per membership",
        configuration: .init(metrics: [.custom("bytes/membership", useScalingFactor: false)], maxIterations: 1)
    ) { benchmark in
        let statistics = IndexDataset.snapshot.statistics
        benchmark.measurement(.custom("bytes/membership", useScalingFactor: false),
                              statistics.indexBytes / statistics.memberships)
    } setup: {
        _ = IndexDataset.snapshot
    }

    // A new snapshot with one change, derived from the 2M-membership snapshot: grants and
    // revokes alternate, each on a different membership.
    Benchmark(
        "Apply one change (2M memberships)",
        configuration: .init(metrics: [.wallClock, .mallocCountTotal], timeUnits: .microseconds,
                             maxDuration: .seconds(10), maxIterations: 2_000)
    ) { benchmark in
        var snapshot = IndexDataset.snapshot
        var revision = snapshot.revision
        for step in benchmark.scaledIterations {
            revision += 1
            let number = (step &* 7919) % IndexDataset.userCount
            let code = IndexDataset.organization(IndexDataset.organizations(ofUser: number).0)
            let change: StateChange = step % 2 == 0
                ? .permissionGranted(user: IndexDataset.user(number), organization: code, permission: "resource49:share")
                : .roleAssigned(user: IndexDataset.user(number), organization: code, role: "role-49")
            snapshot = snapshot.applying([ChangeRecord(revision: revision, change: change)])!
        }
        blackHole(snapshot)
    } setup: {
        _ = IndexDataset.snapshot
    }
}

/// A CHECK per iteration step over the flat request buffer, in order.
func checkBenchmark(_ name: String, requests: @autoclosure @escaping @Sendable () -> RequestBuffer) {
    let cursor = RequestCursor()
    Benchmark(
        name,
        configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput], scalingFactor: .kilo,
                             maxDuration: .seconds(10), maxIterations: 2_000)
    ) { benchmark in
        let snapshot = IndexDataset.snapshot
        let buffer = requests()
        let mask = buffer.count - 1
        buffer.bytes.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!
            // The harness calls this closure once per sample: each sample goes on where the
            // last one stopped, so that every request of the buffer is measured (starting
            // at 0 each time would repeat the first thousand, which then sit in the caches).
            var next = cursor.next
            // The answers are counted and the count handed to `blackHole` once per
            // iteration: a call per step would cost as much as a third of a CHECK.
            var allowed = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let record = base + next &* RequestBuffer.recordBytes
                next = (next &+ 1) & mask
                if snapshot.check(
                    user: UnsafeRawBufferPointer(start: record + 4, count: Int(record.load(as: UInt8.self))),
                    organization: UnsafeRawBufferPointer(start: record + 28, count: Int(record.load(fromByteOffset: 1, as: UInt8.self))),
                    permission: UnsafeRawBufferPointer(start: record + 40, count: Int(record.load(fromByteOffset: 2, as: UInt8.self)))) {
                    allowed &+= 1
                }
            }
            benchmark.stopMeasurement()
            cursor.next = next
            blackHole(allowed)
        }
    } setup: {
        _ = IndexDataset.snapshot
        _ = requests()
    }
}
