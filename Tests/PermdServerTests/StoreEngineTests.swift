import Foundation
import Logging
import PermdCore
import PermdIndex
import PermdPolicy
import PermdProtocol
@testable import PermdServer
import PermdStore
import Testing

/// The writer brings its index up to date from its own batch's changes, without reading them
/// back from the log — unless another process committed since the index: then from the log,
/// which holds both.
@Suite struct StoreEngineTests {
    @Test(arguments: StoreFixture.backends)
    func aBatchAfterAnOutsideCommitIncludesBothAndEqualsAFullBuild(_ backend: String) throws {
        try StoreFixture.with(backend) { store in
            let (location, policiesPath, policy) = (store.location, store.policiesPath, store.policy)
            let logger = Logger(label: "engine-test")
            let engine = try StoreEngine(store: location.open(policy: policy, logger: logger), policiesDirectory: policiesPath,
                                         logger: logger)
            let start = engine.snapshot.revision
            let actor = ChangeActor.cli(user: "ops")

            // Only this engine writes: the index follows its own batch.
            let added = engine.perform([.write(.addUser(NewUser(id: "ana", organizations: ["org_acme"])))], by: [actor])
            #expect(try added[0].get().revision == start + 1)
            #expect(engine.snapshot.revision == start + 1)
            #expect(engine.snapshot.check(user: "ana", organization: "org_acme", permission: "read:invoices"))

            // Another process commits; the engine has not looked. Its next batch follows that commit.
            let other = try location.open(policy: policy, logger: logger)
            _ = try other.perform([.addUser(NewUser(id: "bo", organizations: ["org_acme"]))], by: actor)[0].get()
            let assigned = engine.perform([
                .write(.assignRole(user: "ana", organization: "org_acme", role: "admin")),
                .write(.grantPermission(user: "bo", organization: "org_acme", permission: "delete:org")),
            ], by: [actor, actor])
            #expect(try assigned.map { try $0.get().revision } == [start + 3, start + 4])
            #expect(engine.snapshot.revision == start + 4)
            #expect(engine.snapshot.check(user: "bo", organization: "org_acme", permission: "read:invoices"))
            #expect(engine.snapshot.check(user: "bo", organization: "org_acme", permission: "delete:org"))
            #expect(engine.snapshot.check(user: "ana", organization: "org_acme", permission: "write:invoices"))

            // A refused write and one that changes nothing leave the index as it was.
            let unchanged = engine.perform([
                .write(.assignRole(user: "ana", organization: "org_acme", role: "admin")),
                .write(.assignRole(user: "nobody", organization: "org_acme", role: "admin")),
            ], by: [actor, actor])
            #expect(try unchanged[0].get().revision == start + 4)
            #expect((try? unchanged[1].get()) == nil)
            #expect(engine.snapshot.revision == start + 4)

            let rebuilt = try IndexSnapshot.build(policy: policy, reader: other)
            #expect(rebuilt.revision == engine.snapshot.revision)
            for user in ["ana", "bo"] {
                for organization in ["org_acme", "org_default"] {
                    #expect(engine.snapshot.permissions(user: user, organization: organization)
                        == rebuilt.permissions(user: user, organization: organization), "\(user) in \(organization)")
                }
            }
            other.close()
            engine.close()
        }
    }
}
