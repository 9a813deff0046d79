import Foundation
import Logging
import PermdCore
import PermdPolicy
import PermdStore
import PermdTestSupport
import Testing

/// The store contract (SPEC §1, §3, §4, §5): the rules every `StateStore` must pass, written
/// once against `any StateStore` and run against every backend in `StoreBackend.all`.
///
/// Each topic is a nested suite in its own file (Opening, Users, Organizations, Memberships,
/// SignIn, Revisions, ChangeLog, ImportExport); every test takes the backend as its argument
/// and opens a fresh store through `StoreLocation.open`, as `serve` and the CLI do. Only public
/// API is used, so a store in another module passes the same suite. Refusals are asserted
/// through `Refusal` (Refusals.swift) alone.
@Suite struct StoreContract {}

/// A backend the contract runs against: how to make an empty place for a store.
///
/// Adding a backend is one value here and one entry in `all`; a backend that needs a
/// server (PostgreSQL) makes a fresh database in `makePlace` and drops it in the cleanup.
struct StoreBackend: Sendable, CustomTestStringConvertible {
    var name: String
    /// Makes a location where no store exists yet.
    var makePlace: @Sendable () throws -> StorePlace

    var testDescription: String { name }

    /// A database file in a fresh temporary folder (a real file, WAL and all).
    static let sqlite = StoreBackend(name: "sqlite") {
        let directory = TemporaryDirectory()
        // The cleanup holds the folder: it is removed when the place is released.
        return StorePlace(.sqliteFile(path: directory.path("permd.db"))) { _ = directory }
    }

    /// A fresh database on the throwaway cluster (`PostgresCluster`), dropped with the place.
    static let postgres = StoreBackend(name: "postgres") {
        let database = try PostgresCluster.shared().makeDatabase()
        return StorePlace(StoreLocation(db: database.uri)) { _ = database }
    }

    /// Every backend the contract suite runs against: PostgreSQL unless `PERMD_TEST_POSTGRES=0`
    /// (then its runs are left out, as the `.needsPostgres` tests are skipped).
    static let all: [StoreBackend] = PostgresCluster.isEnabled ? [.sqlite, .postgres] : [.sqlite]
}

/// A location made for one test, removed when the test lets go of it.
final class StorePlace: Sendable {
    let location: StoreLocation
    private let cleanup: @Sendable () -> Void

    /// - Parameters:
    ///   - location: where the store will live.
    ///   - cleanup: removes it (runs when the place is released, after the test).
    init(_ location: StoreLocation, cleanup: @escaping @Sendable () -> Void) {
        self.location = location
        self.cleanup = cleanup
    }

    deinit { cleanup() }
}

/// A store opened in a fresh place of one backend, with the few helpers the contract tests share.
final class StoreUnderTest {
    let place: StorePlace
    let store: any StateStore

    /// Opens a store in a fresh place of `backend`.
    init(_ backend: StoreBackend, policy: PolicySet = testPolicy()) throws {
        place = try backend.makePlace()
        store = try place.location.open(policy: policy, logger: Logger(label: "contract"))
    }

    /// Another handle on the same state (another connection; for SQLite, another open of the file).
    func reopen(policy: PolicySet = testPolicy()) throws -> any StateStore {
        try place.location.open(policy: policy, logger: Logger(label: "contract"))
    }

    /// Performs one write and returns its result.
    @discardableResult
    func write(_ write: Write) throws -> Result<WriteOutcome, WriteRefusal> {
        let results = try store.perform([write])
        try #require(results.count == 1)
        return results[0]
    }

    /// Performs one write that must succeed; returns its revision.
    @discardableResult
    func ok(_ request: Write, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> UInt64 {
        let result = try write(request)
        guard case .success(let outcome) = result else {
            Issue.record("\(request) was refused: \(result)", sourceLocation: sourceLocation)
            return try store.currentRevision()
        }
        return outcome.revision
    }

    /// Adds a user that must be accepted; returns the revision.
    @discardableResult
    func addUser(_ id: String, email: String? = nil, organizations: [String]? = nil, roles: [String]? = nil,
                 sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> UInt64 {
        try ok(.addUser(NewUser(id: id, profile: UserProfile(email: email), organizations: organizations, roles: roles)),
               sourceLocation: sourceLocation)
    }

    /// The memberships of `user` as stored (nil for an unknown user).
    func memberships(_ user: String) throws -> [MembershipRecord]? {
        try store.user(user)?.memberships
    }

    /// The membership of `user` in `organization`, or nil.
    func membership(_ user: String, _ organization: String) throws -> MembershipRecord? {
        try memberships(user)?.first { $0.organization == organization }
    }

    /// The changes logged after `revision`, without their revisions (nil when the log does not reach back).
    func changes(after revision: UInt64) throws -> [StateChange]? {
        try store.changes(after: revision)?.map(\.change)
    }

    /// The whole state feed as lines (`org …`, `user …`, `member …`, `role …`, `grant …`).
    func stateLines() throws -> [String] {
        var sink = RecordingSink()
        _ = try store.readState(into: &sink)
        return sink.lines
    }
}
