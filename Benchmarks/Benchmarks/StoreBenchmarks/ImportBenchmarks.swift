import Benchmark
import Foundation
import Logging
import PermdCore
import PermdPolicy
import PermdStore

/// A generated Kinde CSV import: 1,000,000 rows for 600,000 users (two thirds of them in two
/// organizations), with roles, default roles and direct permissions mixed in.
enum ImportFixture {
    static let rows = 1_000_000
    static let organizations = ["org_acme", "org_beta", "org_default"]

    static let policy = PolicySet(
        permissions: [PermissionDefinition(key: "read:invoices"), PermissionDefinition(key: "write:invoices"),
                      PermissionDefinition(key: "refund:payments")],
        roles: [RoleDefinition(key: "viewer", permissions: ["read:*"], defaultForNewUsers: true),
                RoleDefinition(key: "billing-admin", permissions: ["write:invoices", "refund:payments"])],
        organizations: organizations.map { OrganizationDefinition(code: $0) },
        settings: PolicySettings(defaultOrganization: "org_default"))

    /// The CSV file's bytes.
    static func csv() -> [UInt8] {
        var text = "id,email,first_name,last_name,external_organization_id,role_key,permission_key\n"
        text.reserveCapacity(rows * 80)
        var written = 0
        var user = 0
        while written < rows {
            let count = min(user % 3 == 0 ? 1 : 2, rows - written)
            for k in 0..<count {
                let n = user + k
                let role = n % 5 == 0 ? "billing-admin" : (n % 2 == 1 ? "" : "viewer")
                let permission = n % 7 == 0 ? "refund:payments" : ""
                text += "user_\(user),user\(user)@example.com,First\(user),Last\(user),"
                    + "\(organizations[n % 3]),\(role),\(permission)\n"
            }
            written += count
            user += 1
        }
        return Array(text.utf8)
    }

    static let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("permd-import-benchmark-\(ProcessInfo.processInfo.processIdentifier)").path

    /// A fresh, empty store in a temporary folder.
    static func emptyStore() throws -> SQLiteStore {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try SQLiteStore(path: directory + "/permd.db", policy: policy, logger: Logger(label: "bench"))
    }

    /// Parses and plans the file as `permd import` does.
    static func plan(_ bytes: [UInt8], organizations: [OrganizationRecord]) -> ImportPlan {
        let rows = ImportFormat.kindeCSV.parse(bytes, file: "users.csv")
        let plan = ImportPlanner(policy: policy, organizations: organizations, file: "users.csv").plan(rows)
        precondition(plan.isValid && plan.users.count == 600_000, "the generated file must plan cleanly")
        return plan
    }
}

/// Registers the import benchmarks; `StoreBenchmarks.swift`'s `benchmarks` closure calls it.
func registerImportBenchmarks() {
    let once = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .peakMemoryResident], maxDuration: .seconds(300), maxIterations: 1)

    // The pure part: CSV reading, checking against the policies, merging rows per user.
    Benchmark("Import 1M CSV rows: parse and plan", configuration: once) { benchmark, bytes in
        for _ in benchmark.scaledIterations {
            blackHole(ImportFixture.plan(bytes, organizations: []))
        }
    } setup: {
        ImportFixture.csv()
    }

    // The whole `permd import`: parse, plan, and one applyImport transaction into an empty database.
    Benchmark("Import 1M CSV rows into an empty database", configuration: once) { benchmark, bytes in
        for _ in benchmark.scaledIterations {
            let store = try ImportFixture.emptyStore()
            let plan = ImportFixture.plan(bytes, organizations: try store.organizations())
            let summary = try store.applyImport(plan.users, dryRun: false, actor: .importFile(name: "benchmark.csv"))
            precondition(summary.usersCreated == 600_000, "every user must be created")
        }
    } setup: {
        ImportFixture.csv()
    } teardown: {
        try? FileManager.default.removeItem(atPath: ImportFixture.directory)
    }
}
