// A plain timing loop for the CHECK hot path, outside the benchmark harness (no
// blackHole call, no harness bookkeeping), so that its ns/check and its instruction
// count under `valgrind --tool=callgrind` show the index's own cost. On Linux it also
// prints how much of the process is backed by huge pages after the build (with 1,000,000
// users the index is ~230 MB, nearly all of it in the slabs).
//
//     swift build -c release --product CheckLoop && .build/release/CheckLoop [iterations] [users] [requests] [lookahead]
//
// `requests` (a power of two, 64 by default) is how many distinct requests the loop cycles
// through: 64 keep their data in the CPU caches, 4,096 or more over many users do not.
#if canImport(Glibc)
import Glibc
#endif
import PermdIndex
import PermdPolicy

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 20_000_000
let userCount = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2])! : 10_000
let organizationCount = 100, permissionCount = 200, roleCount = 50

func pad(_ number: Int, _ width: Int) -> String {
    let digits = String(number)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

let permissionKeys = (0..<permissionCount).map { "resource\(pad($0 / 4, 2)):\(["read", "write", "delete", "share"][$0 % 4])" }
let roles = (0..<roleCount).map { number in
    RoleDefinition(key: "role-\(pad(number, 2))",
                   permissions: (0..<20).map { permissionKeys[(number * 37 + $0 * 11) % permissionCount] }.sorted())
}
let policy = PolicySet(permissions: permissionKeys.map { PermissionDefinition(key: $0) }, roles: roles,
                       organizations: [OrganizationDefinition(code: "org-0000")],
                       settings: PolicySettings(defaultOrganization: "org-0000"))

func user(_ number: Int) -> String { "user-" + pad(number, 7) }
func organization(_ number: Int) -> String { "org-" + pad(number, 4) }

var memberships: [InMemoryState.Membership] = []
for number in 0..<userCount {
    for offset in [0, 1 + number % 7] {
        memberships.append(.init(user: user(number), organization: organization((number + offset) % organizationCount),
                                 roles: ["role-" + pad((number + offset) % roleCount, 2)]))
    }
}
let state = InMemoryState(organizations: (0..<organizationCount).map(organization),
                          users: (0..<userCount).map(user), memberships: memberships, revision: 1)
let snapshot = IndexSnapshot.build(policy: policy, state: state, revision: 1)
print("index of \(userCount) users: \(snapshot.statistics.indexBytes >> 20) MB\(hugePages())")

/// ", N MB in huge pages" from the process's `AnonHugePages`, where Linux reports it.
func hugePages() -> String {
    #if os(Linux)
    guard let file = fopen("/proc/self/smaps_rollup", "r") else { return "" }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.hasPrefix("AnonHugePages:") else { continue }
        let kilobytes = Int(text.dropFirst("AnonHugePages:".count).filter(\.isNumber)) ?? 0
        return ", \(kilobytes >> 10) MB of the process in huge pages"
    }
    #endif
    return ""
}

// The requests as 64-byte records: lengths at 0...2, user at 4, organization at 28,
// permission at 40 (as the benchmark's RequestBuffer). 1 in 8 to a non-member
// organization, 1 in 16 for an unknown user.
let recordBytes = 64
let requestCount = CommandLine.arguments.count > 3 ? Int(CommandLine.arguments[3])! : 64
precondition(requestCount > 0 && requestCount & (requestCount - 1) == 0, "requests must be a power of two")
var buffer = [UInt8](repeating: 0, count: requestCount * recordBytes)
var seed: UInt64 = 11
for index in 0..<requestCount {
    seed = seed &* 6364136223846793005 &+ 1442695040888963407
    let number = Int(seed >> 33) % userCount
    let id = index % 16 == 15 ? "nobody-\(index)" : user(number)
    let code = organization((number + (index % 8 == 7 ? 50 : 0)) % organizationCount)
    let permission = permissionKeys[Int(seed >> 20) % permissionCount]
    for (field, (start, text)) in [(4, id), (28, code), (40, permission)].enumerated() {
        let utf8 = Array(text.utf8)
        buffer[index * recordBytes + field] = UInt8(utf8.count)
        buffer.replaceSubrange(index * recordBytes + start..<index * recordBytes + start + utf8.count, with: utf8)
    }
}

/// This thread's CPU time: on a machine shared with other work, the loop's own time per
/// CHECK without the time it waited for a core (the wall-clock figure includes that).
func threadCPUNanoseconds() -> Double {
    #if canImport(Glibc)
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
    #else
    return 0
    #endif
}

@inline(never)
func run(_ snapshot: IndexSnapshot, _ base: UnsafeRawPointer, _ iterations: Int) -> Int {
    var allowed = 0
    var next = 0
    for _ in 0..<iterations {
        let (user, organization, permission) = fields(base + next &* recordBytes)
        next = (next &+ 1) & (requestCount - 1)
        if snapshot.check(user: user, organization: organization, permission: permission) { allowed &+= 1 }
    }
    return allowed
}

// `lookahead` (a fourth argument, 0 by default): answer the requests in groups of that
// many, first starting every lookup of the group (`prefetchUser`, then
// `prefetchMemberships`), as the server does for the CHECK lines of a pipelined burst.
// (Compiled only where the index has them, so that checkloop-compare.sh can build this
// file against an older index: CPrefetch came with them.)
let lookahead = CommandLine.arguments.count > 4 ? Int(CommandLine.arguments[4])! : 0
precondition(lookahead >= 0 && (lookahead == 0 || requestCount % lookahead == 0), "lookahead must divide requests")

@inline(__always)
func fields(_ record: UnsafeRawPointer) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
    (UnsafeRawBufferPointer(start: record + 4, count: Int(record.load(as: UInt8.self))),
     UnsafeRawBufferPointer(start: record + 28, count: Int(record.load(fromByteOffset: 1, as: UInt8.self))),
     UnsafeRawBufferPointer(start: record + 40, count: Int(record.load(fromByteOffset: 2, as: UInt8.self))))
}

#if canImport(CPrefetch)
@inline(never)
func runAhead(_ snapshot: IndexSnapshot, _ base: UnsafeRawPointer, _ iterations: Int) -> Int {
    var allowed = 0
    var next = 0
    for _ in 0..<iterations / lookahead {
        for offset in 0..<lookahead { snapshot.prefetchUser(fields(base + (next &+ offset) &* recordBytes).0) }
        for offset in 0..<lookahead { snapshot.prefetchMemberships(ofUser: fields(base + (next &+ offset) &* recordBytes).0) }
        for offset in 0..<lookahead {
            let (user, organization, permission) = fields(base + (next &+ offset) &* recordBytes)
            if snapshot.check(user: user, organization: organization, permission: permission) { allowed &+= 1 }
        }
        next = (next &+ lookahead) & (requestCount - 1)
    }
    return allowed
}
#else
func runAhead(_ snapshot: IndexSnapshot, _ base: UnsafeRawPointer, _ iterations: Int) -> Int {
    fatalError("this index has no prefetch")
}
#endif

buffer.withUnsafeBytes { bytes in
    let base = bytes.baseAddress!
    let loop = lookahead > 0 ? runAhead : run
    _ = loop(snapshot, base, min(iterations, 1_000_000))  // warm up
    for _ in 0..<3 {
        let start = ContinuousClock.now
        let cpuStart = threadCPUNanoseconds()
        let allowed = loop(snapshot, base, iterations)
        let cpu = threadCPUNanoseconds() - cpuStart
        let elapsed = ContinuousClock.now - start
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        print("\(iterations) checks: \(String(format: "%.1f", nanoseconds / Double(iterations))) ns/check, "
              + "\(String(format: "%.1f", cpu / Double(iterations))) ns of CPU time (\(allowed) allowed)")
    }
}
