import Foundation
import Logging
import PermdCore
import PermdIndex
import PermdPolicy
import PermdStore
import Synchronization
import Testing
import PermdTestSupport

/// The index over a real SQLite store: a full build, then the store's change log applied
/// incrementally, compared with a new full build.
@Test func incrementalUpdatesFromTheStoreChangeLogMatchAFullBuild() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("permd-index-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteStore(path: directory.appendingPathComponent("permd.db").path, policy: testPolicy,
                                logger: Logger(label: "test"))
    func perform(_ writes: [Write]) throws {
        for result in try store.perform(writes) { _ = try result.get() }
    }
    try perform([
        .addOrganization(OrganizationRecord(code: "org_a")),
        .addUser(NewUser(id: "alice", organizations: ["org_a"], roles: ["billing-admin"])),
        .addUser(NewUser(id: "bob")),
    ])
    // alice in org_a, bob in the default organization (which the store creates, as the
    // policies declare it).
    #expect(try store.stateCounts() == StateCounts(users: 2, organizations: 2, memberships: 2))
    let first = try IndexSnapshot.build(policy: testPolicy, reader: store)
    #expect(first.revision == (try store.currentRevision()))
    #expect(first.explain(user: "alice", organization: "org_a", permission: "refund:payments")
        == .allow([.role("billing-admin")]))
    #expect(first.explain(user: "bob", organization: "org_default", permission: "read:reports") == .allow([.role("viewer")]))

    try perform([
        .grantPermission(user: "bob", organization: "org_default", permission: "delete:org"),
        .addMember(user: "bob", organization: "org_a", roles: ["admin"]),
        .unassignRole(user: "alice", organization: "org_a", role: "billing-admin"),
        .assignRole(user: "alice", organization: "org_a", role: "support"),
        .addUser(NewUser(id: "carol", organizations: ["org_a"], roles: [])),
        .removeMember(user: "bob", organization: "org_default"),
        .removeUser("carol"),
    ])
    let changes = try #require(try store.changes(after: first.revision))
    let incremental = try #require(first.applying(changes))
    let full = try IndexSnapshot.build(policy: testPolicy, reader: store)
    #expect(incremental.revision == full.revision)
    let users = ["alice", "bob", "carol", "zed"]
    let organizations = ["org_default", "org_a", "org_zz"]
    let permissions = testPolicy.permissions.map(\.key)
    #expect(everyAnswer(incremental, users: users, organizations: organizations, permissions: permissions)
        == everyAnswer(full, users: users, organizations: organizations, permissions: permissions))
    #expect(full.explain(user: "alice", organization: "org_a", permission: "manage:users") == .allow([.role("support")]))
    #expect(full.explain(user: "bob", organization: "org_default", permission: "delete:org") == .deny(.notMember))
    #expect(full.explain(user: "carol", organization: "org_a", permission: "read:reports") == .deny(.unknownUser))
}

/// A full build reports its progress every `progressInterval` rows, counting every row
/// the reader feeds, and answers the same as a build without a report.
@Test func aFullBuildReportsItsProgress() throws {
    let users = (0..<40).map { "user\($0)" }
    let state = InMemoryState(
        organizations: ["org_a"], users: users,
        memberships: users.map { InMemoryState.Membership(user: $0, organization: "org_a", roles: ["viewer"]) },
        revision: 3)
    // 2 organizations (one declared), 40 users, 40 memberships, 40 role assignments.
    let reports = Mutex<[Int]>([])
    let reported = try IndexSnapshot.build(policy: testPolicy, reader: state, progressInterval: 25) { rows in
        reports.withLock { $0.append(rows) }
    }
    #expect(reports.withLock { $0 } == [25, 50, 75, 100])
    let quiet = try IndexSnapshot.build(policy: testPolicy, reader: state)
    #expect(everyAnswer(reported, users: users, organizations: ["org_a"], permissions: ["read:invoices", "delete:org"])
        == everyAnswer(quiet, users: users, organizations: ["org_a"], permissions: ["read:invoices", "delete:org"]))
}
