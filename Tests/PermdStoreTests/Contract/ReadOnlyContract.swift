import CSQLite
import Foundation
import Logging
import PermdCore
import PermdPolicy
import PermdStore
import PermdTestSupport
import Testing

extension StoreContract {
    /// Opening read-only (SPEC §3: `export`, `check`, `user show`, `import --dry-run`, ...):
    /// nothing is created, migrated or synced, and no write goes through.
    @Suite struct ReadOnly {
        /// Policies that declare one more organization and rename one: opened read-write,
        /// they would make a revision.
        static let otherPolicy = testPolicy(organizations: [
            OrganizationDefinition(code: "org_default", name: "Default"),
            OrganizationDefinition(code: "org_acme", name: "Acme Group", externalID: "acme-456"),
            OrganizationDefinition(code: "org_new"),
        ])

        static func openReadOnly(_ place: StorePlace, policy: PolicySet = otherPolicy) throws(StoreError) -> any StateStore {
            try place.location.open(policy: policy, logger: Logger(label: "contract"), access: .readOnly)
        }

        /// The bytes of the place's files, for the backends that are files.
        static func fileBytes(_ place: StorePlace) -> [String: Data] {
            switch place.location {
            case .sqliteFile(let path):
                var files: [String: Data] = [:]
                for name in [path, path + "-wal"] {
                    if let data = try? fileContents(URL(fileURLWithPath: name)), !data.isEmpty { files[name] = data }
                }
                return files
            case .postgres, .invalidPostgres:
                return [:]
            }
        }

        @Test(arguments: StoreBackend.all)
        func aMissingStoreIsNotCreated(_ backend: StoreBackend) throws {
            let place = try backend.makePlace()
            do {
                _ = try Self.openReadOnly(place)
                Issue.record("opened a store that does not exist")
            } catch {
                #expect(error.kind == .notFound)
                #expect(error.message == "database not found")
            }
            #expect(Self.fileBytes(place).isEmpty)
            if case .sqliteFile(let path) = place.location {
                for name in [path, path + "-wal", path + "-shm"] {
                    #expect(!FileManager.default.fileExists(atPath: name), "\(name) was created")
                }
            }
        }

        @Test(arguments: StoreBackend.all)
        func readingChangesNothingAndSyncsNoOrganization(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", email: "a@x.io", organizations: ["org_acme"], roles: ["billing-admin"])
            let revision = try db.store.currentRevision()
            let organizations = try db.store.organizations()
            let lines = try db.stateLines()
            let alice = try db.store.user("alice")
            let bytes = Self.fileBytes(db.place)

            let reader = try Self.openReadOnly(db.place)
            #expect(try reader.currentRevision() == revision)
            #expect(try reader.organizations() == organizations, "the state as stored, not as the policies declare it")
            #expect(try reader.user("alice") == alice)
            #expect(try reader.userIDs(inOrganization: "org_acme") == ["alice"])
            #expect(try reader.changes(after: revision) == [])
            var sink = RecordingSink()
            #expect(try reader.readState(into: &sink) == revision)
            #expect(sink.lines == lines)
            var exported: [String?] = []
            try reader.forEachUser { exported.append($0.id) }
            #expect(exported == ["alice"])
            #expect(try db.store.currentRevision() == revision)
            #expect(Self.fileBytes(db.place) == bytes)
        }

        @Test(arguments: StoreBackend.all)
        func aWriteThroughAReadOnlyStoreIsRefused(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", organizations: ["org_acme"])
            let revision = try db.store.currentRevision()
            let lines = try db.stateLines()
            let bytes = Self.fileBytes(db.place)
            let reader = try Self.openReadOnly(db.place, policy: testPolicy())
            let writes: [(String, () throws -> Void)] = [
                ("perform", { _ = try reader.perform([.addUser(NewUser(id: "bob"))]) }),
                ("reload", { _ = try reader.reload(policy: Self.otherPolicy) }),
                ("import", { _ = try reader.applyImport([UserRecord(id: "carol")], dryRun: false) }),
            ]
            for (name, write) in writes {
                do {
                    try write()
                    Issue.record("\(name) wrote through a read-only store")
                } catch let error as StoreError {
                    #expect(error.kind == .readOnly, "\(name): \(error)")
                }
            }
            #expect(try db.store.currentRevision() == revision)
            #expect(try db.stateLines() == lines)
            #expect(Self.fileBytes(db.place) == bytes)
        }

        @Test(arguments: StoreBackend.all)
        func aDryRunImportAnswersAsAWritableStoreWouldAndWritesNothing(_ backend: StoreBackend) throws {
            let db = try StoreUnderTest(backend)
            try db.addUser("alice", email: "a@x.io", organizations: ["org_acme"])
            let records = [
                UserRecord(id: "alice", memberships: [MembershipRecord(organization: "org_default", roles: nil)]),
                UserRecord(id: "bob", memberships: [MembershipRecord(organization: "org_new", roles: ["auditor"])]),
            ]
            let revision = try db.store.currentRevision()
            let bytes = Self.fileBytes(db.place)
            let summary = try Self.openReadOnly(db.place).applyImport(records, dryRun: true)
            #expect(summary.usersCreated == 1 && summary.usersUpdated == 1 && summary.membershipsAdded == 2,
                    "org_new, declared by the policies, is joined as the real import would: \(summary)")
            #expect(summary.rolesAdded == 2, "alice's default role in org_default, bob's auditor")
            #expect(try db.store.currentRevision() == revision)
            #expect(try db.store.userIDs(inOrganization: nil) == ["alice"])
            #expect(Self.fileBytes(db.place) == bytes)
        }

        /// SQLite: a file whose schema is older than this permd's is refused read-only, with a
        /// message that says what migrates it; nothing in the file changes.
        @Test func anOlderSchemaIsRefusedReadOnlyAndLeftUnchanged() throws {
            let place = try StoreBackend.sqlite.makePlace()
            guard case .sqliteFile(let path) = place.location else { return }
            _ = try place.location.open(policy: testPolicy(), logger: Logger(label: "contract"))
            var handle: OpaquePointer?
            #expect(sqlite3_open(path, &handle) == SQLITE_OK)
            var statement: OpaquePointer?
            #expect(sqlite3_prepare_v2(handle, "PRAGMA user_version", -1, &statement, nil) == SQLITE_OK)
            #expect(sqlite3_step(statement) == SQLITE_ROW)
            let current = Int(sqlite3_column_int64(statement, 0))
            sqlite3_finalize(statement)
            #expect(sqlite3_exec(handle, "PRAGMA user_version = \(current - 1)", nil, nil, nil) == SQLITE_OK)
            sqlite3_close(handle)
            let bytes = Self.fileBytes(place)
            do {
                _ = try Self.openReadOnly(place)
                Issue.record("read an older schema as if it were current")
            } catch {
                #expect(error.kind == .olderSchema(found: current - 1, supported: current))
                #expect(error.message.contains("a command that writes (or `permd serve`) migrates it"), "\(error)")
            }
            #expect(Self.fileBytes(place) == bytes)
        }

        /// SQLite: a file that holds no permd schema (empty, or another program's) is refused read-only.
        @Test func aFileWithoutPermdSchemaIsRefusedReadOnly() throws {
            let place = try StoreBackend.sqlite.makePlace()
            guard case .sqliteFile(let path) = place.location else { return }
            #expect(FileManager.default.createFile(atPath: path, contents: Data()))
            do {
                _ = try Self.openReadOnly(place)
                Issue.record("read an empty file as a database")
            } catch {
                guard case .olderSchema(found: 0, supported: _) = error.kind else {
                    Issue.record("\(error)")
                    return
                }
                #expect(error.message.contains("holds no permd data"), "\(error)")
            }
            #expect(try fileContents(URL(fileURLWithPath: path)) == Data())
        }
    }
}
