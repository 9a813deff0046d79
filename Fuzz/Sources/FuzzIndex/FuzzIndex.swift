import PermdCore
import PermdIndex
import PermdPolicy

/// The differential target: the input's bytes pick a small policy set (a few permissions,
/// roles with includes, `*` and `prefix*`) and a sequence of writes as the store logs them
/// (users, organizations, memberships, roles, direct grants, removals, bursts like an
/// import's, and changes naming unknown things, which the index ignores). The incremental
/// snapshot follows the log batch by batch as the server's catch-up does
/// (`applying(changesFrom:)`, through `ChangePipeline`, or `applying(_:)`); at checkpoints
/// it, a full build of the same state (through `StatePipeline`) and the plain `Reference`
/// answer CHECK (every form), EXPLAIN, PERMS, ROLES, ORGS, WHO and the counts for every
/// user, organization and permission. Any difference traps, printing the input decoded.
///
/// Built with `-D DEBUG` (make fuzz-build): the index's chunks are then tiny, so that small
/// inputs cross chunk, slab and member-list boundaries and the pipeline's second thread.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIndex(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(UnsafeBufferPointer(start: data, count: size))
    var run = DifferentialRun(&input)
    run.play(&input)
    return 0
}

/// The input, read a byte at a time; zeros once it is used up.
struct FuzzBytes {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var isEmpty: Bool { position >= bytes.count }

    mutating func next() -> Int {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return Int(bytes[position])
    }

    mutating func pick<T>(_ choices: [T]) -> T { choices[next() % choices.count] }
}

/// Names of every length class the index treats apart: short keys held inline (≤ 15
/// bytes), exactly 15 and 16 bytes, long ones, and ids that are prefixes of others.
let userPool = ["u0", "u1", "u", "u00", "user-000000000a", "member-00000000b",
                "a-rather-long-user-id-from-another-system-1"]
let organizationPool = ["org_default", "org_declared", "o1", "o2", "organization-with-a-long-code-1"]
let resources = ["inv", "invoice", "p", "a-resource-name-long-enough-to-pass-31-bytes"]
let actions = ["read", "write", "r", "x"]
let roleNames = ["viewer", "admin", "b", "a-role-with-a-long-key-name-over-31-bytes", "support", "x", "billing"]

struct DifferentialRun {
    let policy: PolicySet
    let policyText: String
    var reference: Reference
    var log: [ChangeRecord] = []
    var revision: UInt64 = 0
    var snapshot: IndexSnapshot
    var bulkUsers: [String] = []
    /// An earlier snapshot and the answers it gave, asked again at the end: snapshots are immutable.
    var kept: (snapshot: IndexSnapshot, reference: Reference, users: [String])?

    init(_ input: inout FuzzBytes) {
        var keys: Set<String> = []
        for _ in 0...(input.next() % 10) {
            let byte = input.next()
            keys.insert("\(resources[byte % 4]):\(actions[(byte / 4) % 4])")
        }
        let sortedKeys = keys.sorted()
        var roles: [String: Reference.Role] = [:]
        var roleJSON: [String] = []
        for index in 0..<(input.next() % (roleNames.count + 1)) {
            var patterns: [String] = []
            for _ in 0..<(input.next() % 4) {
                let byte = input.next()
                let key = sortedKeys[input.next() % sortedKeys.count]
                switch byte % 8 {
                case 0: patterns.append("*")
                case 1: patterns.append(resources[(byte / 8) % 4] + ":*")
                case 2: patterns.append(resources[(byte / 8) % 4] + "*")
                case 3: patterns.append(String(key.prefix(1 + (byte / 8) % key.count)) + "*")
                default: patterns.append(key)
                }
            }
            // Includes of roles made before this one: no cycles, and in key order they
            // point both ways.
            let includes = roleNames[..<index].filter { _ in input.next() % 4 == 0 }
            let isDefault = input.next() % 3 == 0
            let unique = Array(Set(patterns)).sorted()
            roles[roleNames[index]] = Reference.Role(patterns: unique, includes: includes, isDefault: isDefault)
            roleJSON.append("""
                {"key": "\(roleNames[index])", "permissions": [\(unique.map { "\"\($0)\"" }.joined(separator: ", "))], \
                "includes": [\(includes.map { "\"\($0)\"" }.joined(separator: ", "))], \
                "default_for_new_users": \(isDefault)}
                """)
        }
        let declared = input.next() % 2 == 0 ? ["org_default", "org_declared"] : ["org_default"]
        policyText = """
            {"permissions": [\(sortedKeys.map { "{\"key\": \"\($0)\"}" }.joined(separator: ", "))],
             "roles": [\(roleJSON.joined(separator: ",\n  "))],
             "organizations": [\(declared.map { "{\"code\": \"\($0)\"}" }.joined(separator: ", "))],
             "settings": {"default_organization": "org_default"}}
            """
        var diagnostics: [Diagnostic] = []
        let document = PolicyDocument.parse(file: "policy.json", bytes: Array(policyText.utf8), diagnostics: &diagnostics)
        let result = PolicyValidator.validate(document.map { [$0] } ?? [], directory: "policies", diagnostics: diagnostics)
        guard let policy = result.policy else {
            fatalError("a valid generated policy set was refused: \(result.diagnostics)\n\(policyText)")
        }
        self.policy = policy
        reference = Reference(permissionKeys: sortedKeys, roles: roles, declared: declared,
                              defaultOrganization: "org_default")
        snapshot = IndexSnapshot.build(policy: policy, state: InMemoryState(organizations: declared), revision: 0)
    }

    // MARK: The writes

    /// Plays the writes the input describes, catching up and comparing as it says.
    mutating func play(_ input: inout FuzzBytes) {
        var pending: [ChangeRecord] = []
        var checkpoints = 0
        var operations = 0
        while !input.isEmpty && operations < 300 {
            operations += 1
            let changes = write(&input)
            if !changes.isEmpty {
                revision += 1
                for change in changes {
                    reference.apply(change)
                    pending.append(ChangeRecord(revision: revision, change: change))
                }
                log += pending.suffix(changes.count)
            }
            let control = input.next()
            if control % 4 == 0 {
                catchUp(mode: control / 4, pending: &pending)
                if (control / 16) % 8 == 0 && checkpoints < 2 {
                    checkpoints += 1
                    compareAll(at: "checkpoint \(checkpoints)")
                }
            }
        }
        catchUp(mode: 0, pending: &pending)
        compareAll(at: "the end")
        if let kept {
            compare(kept.snapshot, kept.reference, users: kept.users, "an earlier snapshot, asked again at the end,")
        }
    }

    /// One write, as the store logs it: the changes of one revision (none when the write
    /// would change nothing, as the store answers an idempotent write).
    mutating func write(_ input: inout FuzzBytes) -> [StateChange] {
        let operation = input.next()
        let user = input.pick(userPool)
        let organization = input.pick(organizationPool)
        let member = Reference.Pair(user: user, organization: organization)
        let membership = reference.memberships[member]
        let roleKeys = reference.roles.keys.sorted()
        switch operation % 16 {
        case 0, 1:
            guard !reference.users.contains(user) else { return [] }
            return [.userAdded(user: user), .membershipAdded(user: user, organization: reference.defaultOrganization)]
                + reference.defaultRoles.map { .roleAssigned(user: user, organization: reference.defaultOrganization, role: $0) }
        case 2:
            return reference.users.contains(user) ? [.userRemoved(user: user)] : []
        case 3:
            return reference.organizations.contains(organization) ? [] : [.organizationAdded(code: organization)]
        case 4:
            guard reference.organizations.contains(organization), !reference.declared.contains(organization) else { return [] }
            return [.organizationRemoved(code: organization)]
        case 5:
            guard membership == nil, reference.users.contains(user), reference.organizations.contains(organization) else {
                return []
            }
            // The default roles, or an explicit list (MEMBER.ADD with roles).
            let roles = input.next() % 2 == 0 ? reference.defaultRoles : roleKeys.filter { _ in input.next() % 3 == 0 }
            return [.membershipAdded(user: user, organization: organization)]
                + roles.map { .roleAssigned(user: user, organization: organization, role: $0) }
        case 6:
            return membership == nil ? [] : [.membershipRemoved(user: user, organization: organization)]
        case 7, 8:
            guard let membership, !roleKeys.isEmpty else { return [] }
            let role = input.pick(roleKeys)
            return membership.roles.contains(role) ? [] : [.roleAssigned(user: user, organization: organization, role: role)]
        case 9:
            guard let membership, !membership.roles.isEmpty else { return [] }
            let role = input.pick(sortedBytes(membership.roles))
            return [.roleUnassigned(user: user, organization: organization, role: role)]
        case 10, 11:
            guard let membership else { return [] }
            let permission = input.pick(sortedBytes(reference.permissionKeys))
            return membership.permissions.contains(permission)
                ? [] : [.permissionGranted(user: user, organization: organization, permission: permission)]
        case 12:
            guard let membership, !membership.permissions.isEmpty else { return [] }
            let permission = input.pick(sortedBytes(membership.permissions))
            return [.permissionRevoked(user: user, organization: organization, permission: permission)]
        case 13:
            return reference.users.contains(user) ? [.profileUpdated(user: user)] : [.organizationUpdated(code: organization)]
        case 14:
            return burst(&input, organization: organization)
        default:
            return [strayChange(&input, user: user, organization: organization)]
        }
    }

    /// New users, each with a membership, roles and a grant, in one revision (an import).
    mutating func burst(_ input: inout FuzzBytes, organization: String) -> [StateChange] {
        // Bounded, so that comparing every answer stays quick.
        guard reference.organizations.contains(organization), bulkUsers.count < 60 else { return [] }
        var changes: [StateChange] = []
        let roleKeys = reference.roles.keys.sorted()
        for _ in 0...(input.next() % 24) {
            let number = bulkUsers.count
            let id = switch number % 3 {
            case 0: "b\(number)"
            case 1: "bulk-user-" + String(repeating: "0", count: max(0, 5 - "\(number)".count)) + "\(number)"
            default: "a-bulk-user-with-a-long-identifier-\(number)"
            }
            bulkUsers.append(id)
            changes += [.userAdded(user: id), .membershipAdded(user: id, organization: organization)]
            if !roleKeys.isEmpty && input.next() % 2 == 0 {
                changes.append(.roleAssigned(user: id, organization: organization, role: input.pick(roleKeys)))
            }
            if input.next() % 3 == 0 {
                let permission = input.pick(sortedBytes(reference.permissionKeys))
                changes.append(.permissionGranted(user: id, organization: organization, permission: permission))
            }
        }
        return changes
    }

    /// A change the store would not log as it stands (a name unknown, a grant without a
    /// membership, a duplicate): the index must ignore what it cannot apply, as the
    /// reference does.
    mutating func strayChange(_ input: inout FuzzBytes, user: String, organization: String) -> StateChange {
        let role = input.pick(reference.roles.keys.sorted() + ["ghost-role"])
        let permission = input.pick(sortedBytes(reference.permissionKeys) + ["ghost:perm"])
        let code = reference.declared.contains(organization) ? "ghost-org" : organization
        return switch input.next() % 10 {
        case 0: .userAdded(user: user)
        case 1: .userRemoved(user: "ghost")
        case 2: .organizationAdded(code: organization)
        case 3: .organizationRemoved(code: code)
        case 4: .membershipAdded(user: user, organization: organization)
        case 5: .membershipRemoved(user: user, organization: organization)
        case 6: .roleAssigned(user: user, organization: organization, role: role)
        case 7: .roleUnassigned(user: user, organization: organization, role: role)
        case 8: .permissionGranted(user: user, organization: organization, permission: permission)
        default: .permissionRevoked(user: user, organization: organization, permission: permission)
        }
    }

    // MARK: Catching up

    /// Brings the snapshot to the last revision: through the store's path (the log read
    /// after the snapshot's revision, through `ChangePipeline`), the pending records, or
    /// the whole log (what the snapshot has is skipped).
    mutating func catchUp(mode: Int, pending: inout [ChangeRecord]) {
        let next: IndexSnapshot?
        switch mode % 4 {
        case 0, 1: next = try! snapshot.applying(changesFrom: LogReader(records: log))
        case 2: next = snapshot.applying(pending)
        default: next = snapshot.applying(log)
        }
        guard let next else { fatalError("catching up asked for a full build without a policy reload\n\(decoded)") }
        precondition(next.revision == revision, "caught up to \(next.revision), not \(revision)\n\(decoded)")
        pending = []
        snapshot = next
        if kept == nil && mode % 8 == 5 {
            compare(snapshot, reference, users: queryUsers, "the snapshot kept for later")
            kept = (snapshot, reference, queryUsers)
        }
    }

    // MARK: Comparing

    /// Every user of the pool, one bulk user in four (every length class among them), and
    /// one never added.
    var queryUsers: [String] { userPool + stride(from: 0, to: bulkUsers.count, by: 4).map { bulkUsers[$0] } + ["ghost"] }
    var queryOrganizations: [String] { organizationPool + ["ghost-org"] }
    var queryPermissions: [String] { sortedBytes(reference.permissionKeys) + ["ghost:perm", "inv:*"] }

    /// The full build of the reference's state, in the store's order (sorted) or another.
    func fullBuild() -> IndexSnapshot {
        let organizations = sortedBytes(reference.organizations)
        let users = sortedBytes(reference.users)
        let memberships = reference.memberships.sorted {
            ($0.key.user, $0.key.organization) < ($1.key.user, $1.key.organization)
        }.map { pair, membership in
            InMemoryState.Membership(user: pair.user, organization: pair.organization,
                                     roles: sortedBytes(membership.roles), permissions: sortedBytes(membership.permissions))
        }
        let state = InMemoryState(organizations: organizations, users: users, memberships: memberships,
                                  revision: revision)
        return try! IndexSnapshot.build(policy: policy, reader: state)
    }

    func compareAll(at point: String) {
        compare(snapshot, reference, users: queryUsers, "the incremental snapshot at \(point)")
        compare(fullBuild(), reference, users: queryUsers, "the full build at \(point)")
    }

    /// Every answer of `snapshot` against `reference`, for every user of `users`, every
    /// organization and every permission; traps at the first difference. Answers are compared
    /// as values, and words are made only for a report (allocations dominate otherwise).
    func compare(_ snapshot: IndexSnapshot, _ reference: Reference, users: [String], _ what: String) {
        let organizations = queryOrganizations
        let permissions = queryPermissions
        let lists = reference.lists()
        func expect<T: Equatable>(_ got: T, _ expected: T, _ query: @autoclosure () -> String) {
            guard got != expected else { return }
            fatalError("\(what) differs from the reference: \(query())\n  got      \(got)\n  expected \(expected)\n\(decoded)")
        }
        for user in users {
            expect(snapshot.organizations(user: user), sortedBytes(lists.organizations[user] ?? []), "ORGS \(user)")
            for permission in permissions {
                expect(snapshot.organizations(user: user, permission: permission),
                       sortedBytes(lists.organizationsHolding[user]?[permission] ?? []), "ORGS \(user) \(permission)")
            }
            for organization in organizations {
                expect(snapshot.permissions(user: user, organization: organization),
                       reference.permissions(user: user, organization: organization), "PERMS \(user) \(organization)")
                expect(snapshot.roles(user: user, organization: organization),
                       reference.roles(user: user, organization: organization), "ROLES \(user) \(organization)")
                for permission in permissions {
                    let expected = reference.explain(user: user, organization: organization, permission: permission)
                    let explained = snapshot.explain(user: user, organization: organization, permission: permission)
                    expect(explained, expected, "EXPLAIN \(user) \(organization) \(permission)")
                    let forms = withBytes(user, organization, permission) { user, organization, permission in
                        [snapshot.check(user: user, organization: organization, permission: permission),
                         snapshot.decide(snapshot.membershipSlot(user: user, organization: organization), permission),
                         snapshot.explain(user: user, organization: organization, permission: permission) == expected,
                         snapshot.check(user: String(decoding: user, as: UTF8.self),
                                        organization: String(decoding: organization, as: UTF8.self),
                                        permission: String(decoding: permission, as: UTF8.self))]
                    }
                    expect(forms, [expected.allows, expected.allows, true, expected.allows],
                           "CHECK \(user) \(organization) \(permission) (bytes, membership slot, EXPLAIN bytes, String)")
                }
            }
        }
        for organization in organizations {
            for permission in permissions {
                let holders = sortedBytes(lists.holders[organization]?[permission] ?? [])
                let all = snapshot.who(organization: organization, permission: permission, after: nil, limit: 100_000)
                expect(all.users, holders, "WHO \(organization) \(permission)")
                expect(all.more, false, "WHO \(organization) \(permission) (MORE)")
                var paged: [String] = []
                var after: String?
                repeat {
                    let page = snapshot.who(organization: organization, permission: permission, after: after, limit: 3)
                    paged += page.users
                    after = page.more ? page.users.last : nil
                } while after != nil
                expect(paged, holders, "WHO \(organization) \(permission) in pages of 3")
            }
        }
        let statistics = snapshot.statistics
        expect([statistics.users, statistics.organizations, statistics.memberships],
               [reference.users.count, reference.organizations.count, reference.memberships.count],
               "STATS users, organizations, memberships")
    }

    var decoded: String {
        // Made only for a report: a reflected description per change is slow.
        "policy:\n\(policyText)\nlog:\n" + log.map { "r\($0.revision) \($0.change)" }.joined(separator: "\n")
    }
}

/// The change log as the store hands it to a catching-up index.
struct LogReader: StateReader {
    let records: [ChangeRecord]

    func readState(into sink: inout some StateSink) throws -> UInt64 { 0 }

    func changes(after revision: UInt64) throws -> [ChangeRecord]? { records.filter { $0.revision > revision } }
}

/// Calls `body` with the UTF-8 bytes of three names (the byte forms of CHECK and EXPLAIN).
func withBytes<R>(_ first: String, _ second: String, _ third: String,
                  _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R {
    Array(first.utf8).withUnsafeBytes { first in
        Array(second.utf8).withUnsafeBytes { second in
            Array(third.utf8).withUnsafeBytes { third in body(first, second, third) }
        }
    }
}

