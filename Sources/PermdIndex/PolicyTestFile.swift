public import PermdCore
import PermdJSON
public import PermdPolicy

/// One policy test file (SPEC §6): fixtures added to the policies' declared organizations,
/// and expectations about who may do what.
///
/// Fixture rules follow SPEC §1: a membership without `roles` gets the default roles; a
/// user without `memberships` joins the default organization with the default roles.
/// Fixtures and expectations must name roles and permissions the policies define, and
/// memberships must name an organization of the file or of the policies: a typo there is
/// an error of the test file, not a silently passing test.
public struct PolicyTestFile: Sendable {
    /// One expectation: these permissions allowed, those denied, for one user in one org.
    public struct Expectation: Sendable, Hashable {
        public var user: String
        public var organization: String
        public var allow: [String]
        public var deny: [String]
    }

    /// The path as printed in reports.
    public var path: String
    /// The file's `name`, else its path.
    public var name: String
    /// The fixtures (without the policies' declared organizations).
    public var state: InMemoryState
    public var expectations: [Expectation]

    /// Parses and checks a test file against the policies.
    /// - Returns: the test file when it has no problem, and every problem found, as
    ///   diagnostics naming `path`.
    public static func parse(path: String, bytes: [UInt8], policy: PolicySet)
        -> (file: PolicyTestFile?, problems: [Diagnostic])
    {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            return (nil, [Diagnostic(file: path, line: error.line, column: error.column, severity: .error,
                                     message: "invalid JSON: \(error.message)")])
        }
        var reader = Reader(path: path, policy: policy)
        let file = reader.testFile(root)
        return (reader.problems.isEmpty ? file : nil, reader.problems)
    }

    /// Runs every expectation against a full build of the policies plus the fixtures.
    /// - Returns: one outcome per (expectation, permission), in file order.
    public func run(policy: PolicySet) -> [PolicyTestOutcome] {
        let snapshot = IndexSnapshot.build(policy: policy, state: state, revision: 0)
        var outcomes: [PolicyTestOutcome] = []
        for expectation in expectations {
            for (permissions, expected) in [(expectation.allow, true), (expectation.deny, false)] {
                for permission in permissions {
                    let answer = snapshot.explain(user: expectation.user, organization: expectation.organization,
                                                  permission: permission)
                    outcomes.append(PolicyTestOutcome(
                        file: path, user: expectation.user, organization: expectation.organization,
                        permission: permission, expectedAllow: expected, answer: answer))
                }
            }
        }
        return outcomes
    }
}

/// The result of one expected answer of a policy test.
public struct PolicyTestOutcome: Sendable, Hashable {
    public var file: String
    public var user: String
    public var organization: String
    public var permission: String
    public var expectedAllow: Bool
    public var answer: Explanation

    /// Whether the answer is the expected one.
    public var passed: Bool { answer.allows == expectedAllow }
}

/// Reads the JSON of a test file, collecting every problem with its pointer.
private struct Reader {
    let path: String
    let policy: PolicySet
    var problems: [Diagnostic] = []
    var organizations: Set<String> = []

    init(path: String, policy: PolicySet) {
        self.path = path
        self.policy = policy
        organizations = Set(policy.organizations.map(\.code))
    }

    mutating func problem(_ pointer: JSONPointer, _ message: String) {
        problems.append(Diagnostic(file: path, pointer: pointer.description, severity: .error, message: message))
    }

    /// The members of an object, reporting a non-object or an unknown member.
    mutating func members(_ value: JSONValue, at pointer: JSONPointer, allowed: [String]) -> [String: JSONValue]? {
        guard let members = value.objectValue else {
            problem(pointer, "expected an object, found \(value.kindDescription)")
            return nil
        }
        var found: [String: JSONValue] = [:]
        for member in members {
            if allowed.contains(member.key) {
                found[member.key] = member.value
            } else {
                problem(pointer.appending(member.key), "unknown field \"\(member.key)\"")
            }
        }
        return found
    }

    mutating func string(_ value: JSONValue?, at pointer: JSONPointer, required: Bool = true) -> String? {
        guard let value else {
            if required { problem(pointer, "missing required field") }
            return nil
        }
        guard let text = value.stringValue else {
            problem(pointer, "expected a string, found \(value.kindDescription)")
            return nil
        }
        if let issue = Identifier.problemWithID(text) {
            problem(pointer, issue)
            return nil
        }
        return text
    }

    mutating func array(_ value: JSONValue?, at pointer: JSONPointer) -> [(JSONValue, JSONPointer)] {
        guard let value else { return [] }
        guard let elements = value.arrayValue else {
            problem(pointer, "expected an array, found \(value.kindDescription)")
            return []
        }
        return elements.enumerated().map { ($1, pointer.appending($0)) }
    }

    /// A list of role or permission keys the policies must define.
    mutating func keys(_ value: JSONValue?, at pointer: JSONPointer, kind: String,
                       defined: (String) -> Bool) -> [String]? {
        guard value != nil else { return nil }
        var keys: [String] = []
        for (element, place) in array(value, at: pointer) {
            guard let key = string(element, at: place) else { continue }
            if defined(key) { keys.append(key) } else { problem(place, "unknown \(kind) \"\(key)\"") }
        }
        return keys
    }

    mutating func testFile(_ root: JSONValue) -> PolicyTestFile {
        var file = PolicyTestFile(path: path, name: path, state: InMemoryState(), expectations: [])
        let top = JSONPointer.root
        let policy = self.policy
        guard let fields = members(root, at: top, allowed: ["name", "organizations", "users", "expect"]) else {
            return file
        }
        if let name = fields["name"] {
            if let text = name.stringValue { file.name = text } else {
                problem(top.appending("name"), "expected a string, found \(name.kindDescription)")
            }
        }
        for code in policy.organizations.map(\.code) { file.state.addOrganization(code) }
        for (element, place) in array(fields["organizations"], at: top.appending("organizations")) {
            guard let organization = members(element, at: place, allowed: ["code", "name", "external_id"]),
                  let code = string(organization["code"], at: place.appending("code")) else { continue }
            file.state.addOrganization(code)
            organizations.insert(code)
        }
        for (element, place) in array(fields["users"], at: top.appending("users")) {
            guard let user = members(element, at: place, allowed: ["id", "memberships"]),
                  let id = string(user["id"], at: place.appending("id")) else { continue }
            file.state.addUser(id)
            if user["memberships"] == nil {
                file.state.addMembership(user: id, organization: policy.settings.defaultOrganization,
                                         roles: policy.defaultRoles)
            }
            for (membershipValue, membershipPlace) in array(user["memberships"], at: place.appending("memberships")) {
                guard let membership = members(membershipValue, at: membershipPlace,
                                               allowed: ["org", "roles", "permissions"]),
                      let code = string(membership["org"], at: membershipPlace.appending("org")) else { continue }
                guard organizations.contains(code) else {
                    problem(membershipPlace.appending("org"), "unknown organization \"\(code)\"")
                    continue
                }
                let roles = keys(membership["roles"], at: membershipPlace.appending("roles"), kind: "role") {
                    policy.role($0) != nil
                } ?? policy.defaultRoles
                let permissions = keys(membership["permissions"], at: membershipPlace.appending("permissions"),
                                       kind: "permission") { policy.permission($0) != nil } ?? []
                file.state.addMembership(user: id, organization: code, roles: roles, permissions: permissions)
            }
        }
        for (element, place) in array(fields["expect"], at: top.appending("expect")) {
            guard let expectation = members(element, at: place, allowed: ["user", "org", "allow", "deny"]) else {
                continue
            }
            let user = string(expectation["user"], at: place.appending("user"))
            let organization = string(expectation["org"], at: place.appending("org"))
            let allow = keys(expectation["allow"], at: place.appending("allow"), kind: "permission") {
                policy.permission($0) != nil
            } ?? []
            let deny = keys(expectation["deny"], at: place.appending("deny"), kind: "permission") {
                policy.permission($0) != nil
            } ?? []
            if let user, let organization {
                file.expectations.append(PolicyTestFile.Expectation(
                    user: user, organization: organization, allow: allow, deny: deny))
            }
        }
        return file
    }
}
