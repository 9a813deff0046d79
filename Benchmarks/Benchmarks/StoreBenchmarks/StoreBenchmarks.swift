import Benchmark
import Foundation
import Logging
import PermdCore
import PermdPolicy
import PermdStore

/// A store in a temporary file with one member, ready to take grants.
enum GrantFixture {
    static let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("permd-store-benchmark-\(ProcessInfo.processInfo.processIdentifier)").path

    static let policy = PolicySet(
        permissions: [PermissionDefinition(key: "read:invoices"), PermissionDefinition(key: "refund:payments")],
        roles: [RoleDefinition(key: "viewer", permissions: ["read:*"], defaultForNewUsers: true)],
        organizations: [OrganizationDefinition(code: "org_default")],
        settings: PolicySettings(defaultOrganization: "org_default"))

    static func open() throws -> SQLiteStore {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory + "/permd.db", policy: policy, logger: Logger(label: "bench"))
        _ = try store.perform([.addUser(NewUser(id: "alice"))], by: .cli(user: "benchmark"))
        return store
    }
}

let benchmarks: @Sendable () -> Void = {
    // Each iteration commits one change with synchronous=FULL (one fsync of the WAL):
    // grants and revokes alternate so that every write really changes the state.
    Benchmark(
        "One grant committed with full sync",
        configuration: .init(metrics: [.wallClock, .syscalls], maxDuration: .seconds(10), maxIterations: 2_000)
    ) { benchmark, store in
        var granted = false
        for _ in benchmark.scaledIterations {
            let write: Write = granted
                ? .revokePermission(user: "alice", organization: "org_default", permission: "refund:payments")
                : .grantPermission(user: "alice", organization: "org_default", permission: "refund:payments")
            let result = try store.perform([write], by: .cli(user: "benchmark"))
            precondition((try? result[0].get()) != nil, "the write must commit")
            granted.toggle()
        }
    } setup: {
        try GrantFixture.open()
    } teardown: {
        try? FileManager.default.removeItem(atPath: GrantFixture.directory)
    }

    registerImportBenchmarks()
}
