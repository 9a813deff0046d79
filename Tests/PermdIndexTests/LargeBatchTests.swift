import PermdCore
import PermdIndex
import PermdPolicy
import PermdTestSupport
import Testing

// An import by another process reaches a running server as one batch of hundreds of
// thousands of changes (SPEC §3: visible within a second), applied at once: new
// memberships join each organization's member list merged in one pass, grants to the
// membership just added skip their lookups and recompute its bits once, and a long log is
// read on one thread while it is applied on another. These tests hold such a batch,
// applied at once, to a full build of the same state.

/// A user id of `number`, in every length class the key tables and the member-list order
/// treat apart: short, exactly 15 and 16 bytes (inline in the key record or not), long, and
/// ids that are prefixes of one another.
private func userID(_ number: Int) -> String {
    switch number % 5 {
    case 0: "u\(number)"
    case 1: "user-" + String(repeating: "0", count: 10 - "\(number)".count) + "\(number)"  // 15 bytes
    case 2: "member-" + String(repeating: "0", count: 9 - "\(number)".count) + "\(number)"  // 16 bytes
    case 3: "a-rather-long-user-id-from-another-system-\(number)"
    default: "u\(number / 10)"  // a prefix of "u\(number)" and of others
    }
}

private let organizations = ["org_default", "o1", "o2", "organization-with-a-long-code"]
private let roleKeys = testPolicy.roles.map(\.key) + ["ghost-role"]
private let permissionKeys = testPolicy.permissions.map(\.key) + ["ghost:perm"]

/// A state of `count` users, each in one or two organizations with a role.
private func existingState(users count: Int, _ generator: inout SeededGenerator) -> InMemoryState {
    var state = InMemoryState(organizations: organizations)
    for number in 0..<count {
        let user = userID(number)
        state.addUser(user)
        for organization in organizations.shuffled(using: &generator).prefix(Int.random(in: 1...2, using: &generator)) {
            state.addMembership(user: user, organization: organization,
                                roles: [roleKeys.randomElement(using: &generator)!])
        }
    }
    return state
}

/// One revision as an import logs it: per new user, the user, its memberships, their roles
/// and grants, in record order — with, mixed in, the other changes a batch of several
/// revisions may hold (removals, a membership re-added, roles taken away, an organization
/// added and filled).
private func importBatch(newUsers: ClosedRange<Int>, existing: Int, revision: UInt64,
                         _ generator: inout SeededGenerator) -> [ChangeRecord] {
    var changes: [StateChange] = []
    var codes = organizations
    for number in newUsers {
        let user = userID(number)
        changes.append(.userAdded(user: user))
        for organization in codes.shuffled(using: &generator).prefix(Int.random(in: 1...2, using: &generator)) {
            changes.append(.membershipAdded(user: user, organization: organization))
            for _ in 0..<Int.random(in: 0...2, using: &generator) {
                changes.append(.roleAssigned(user: user, organization: organization,
                                             role: roleKeys.randomElement(using: &generator)!))
            }
            if Bool.random(using: &generator) {
                changes.append(.permissionGranted(user: user, organization: organization,
                                                  permission: permissionKeys.randomElement(using: &generator)!))
            }
        }
        let other = userID(Int.random(in: 0..<existing, using: &generator))
        let organization = codes.randomElement(using: &generator)!
        switch Int.random(in: 0..<100, using: &generator) {
        case 0..<3: changes.append(.membershipRemoved(user: user, organization: organization))
        case 3..<5: changes.append(.userRemoved(user: other))
        case 5..<8:
            changes.append(.membershipRemoved(user: other, organization: organization))
            changes.append(.membershipAdded(user: other, organization: organization))
        case 8..<12: changes.append(.roleUnassigned(user: other, organization: organization,
                                                    role: roleKeys.randomElement(using: &generator)!))
        case 12..<15: changes.append(.permissionRevoked(user: user, organization: organization,
                                                        permission: permissionKeys.randomElement(using: &generator)!))
        case 15..<20: changes.append(.membershipAdded(user: other, organization: organization))
        case 20:
            let code = "org-added-\(number)"
            codes.append(code)
            changes.append(.organizationAdded(code: code))
        case 21: changes.append(.profileUpdated(user: other))
        default: break
        }
    }
    return changes.map { ChangeRecord(revision: revision, change: $0) }
}

/// The change log of one batch, read by the index in one pass (through `readChanges`'s
/// default over `changes(after:)`).
private struct ChangeLogReader: StateReader {
    let records: [ChangeRecord]

    func readState(into sink: inout some StateSink) throws -> UInt64 { 0 }

    func changes(after revision: UInt64) throws -> [ChangeRecord]? { records.filter { $0.revision > revision } }
}

/// Every answer that can differ between the two snapshots: the answers of `everyAnswer`
/// for a sample of users, and every page of WHO for each organization and permission.
private func answers(_ snapshot: IndexSnapshot, sample: [String], codes: [String]) -> [String] {
    var lines = everyAnswer(snapshot, users: sample, organizations: codes, permissions: permissionKeys)
    for organization in codes {
        for permission in permissionKeys {
            var after: String?
            repeat {
                let page = snapshot.who(organization: organization, permission: permission, after: after, limit: 97)
                lines.append("WHO \(organization) \(permission) \(after ?? "-") \(page.users) \(page.more)")
                after = page.more ? page.users.last : nil
            } while after != nil
        }
    }
    return lines
}

@Test(arguments: [1, 2, 3] as [UInt64])
func aBatchOfThousandsOfChangesAppliedAtOnceEqualsAFullBuild(seed: UInt64) throws {
    var generator = SeededGenerator(state: seed)
    let existing = 300
    var state = existingState(users: existing, &generator)
    let before = IndexSnapshot.build(policy: testPolicy, state: state, revision: 1)
    let sample = stride(from: 0, to: existing + 900, by: 17).map(userID) + ["nobody"]
    let answersBefore = answers(before, sample: sample, codes: organizations)
    // Two revisions in one batch, as a server polling behind two imports reads them.
    let batch = importBatch(newUsers: existing...(existing + 699), existing: existing, revision: 2, &generator)
        + importBatch(newUsers: (existing + 700)...(existing + 899), existing: existing, revision: 3, &generator)
    #expect(batch.count > 3000)
    for record in batch { state.apply(record) }
    let full = IndexSnapshot.build(policy: testPolicy, state: state, revision: 3)

    let applied = try #require(before.applying(batch))
    let streamed = try #require(try before.applying(changesFrom: ChangeLogReader(records: batch)))
    #expect(applied.revision == 3 && streamed.revision == 3)

    let codes = state.organizations + ["org_unknown"]
    let expected = answers(full, sample: sample, codes: codes)
    for (name, snapshot) in [("applying(_:)", applied), ("applying(changesFrom:)", streamed)] {
        let got = answers(snapshot, sample: sample, codes: codes)
        let differences = zip(got, expected).filter { $0 != $1 }.prefix(3)
        #expect(differences.isEmpty && got.count == expected.count, "seed \(seed), \(name): \(Array(differences))")
    }
    #expect(answers(before, sample: sample, codes: organizations) == answersBefore, "the earlier snapshot is immutable")
}

@Test func aPolicyReloadInsideALongLogNeedsAFullBuild() throws {
    var generator = SeededGenerator(state: 7)
    let state = existingState(users: 50, &generator)
    let before = IndexSnapshot.build(policy: testPolicy, state: state, revision: 1)
    var batch = importBatch(newUsers: 50...149, existing: 50, revision: 2, &generator)
    batch.insert(ChangeRecord(revision: 2, change: .policyReloaded), at: batch.count / 2)
    #expect(before.applying(batch) == nil)
    #expect(try before.applying(changesFrom: ChangeLogReader(records: batch)) == nil)
}
