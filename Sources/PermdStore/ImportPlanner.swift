public import PermdCore
public import PermdPolicy

/// What an import will hand to the store: the users, merged and checked, and every
/// diagnostic of the file (parse and plan), in line order.
public struct ImportPlan: Sendable {
    /// One record per user, in the order each first appears; memberships name organization
    /// codes; `roles` nil only where no row gave roles.
    public var users: [UserRecord]
    public var diagnostics: [Diagnostic]
    /// The records the file held (rows for CSV, objects for JSON).
    public var recordCount: Int

    /// Whether the plan may be applied: no diagnostic is an error.
    public var isValid: Bool { !diagnostics.hasErrors }
}

/// Checks every imported record against the policies and the organizations, resolves
/// organization references, and merges the records of one user (SPEC §4). Pure: it reads
/// nothing but its inputs, so the whole file is judged before anything is written.
public struct ImportPlanner {
    private let policy: PolicySet
    private let file: String
    private var codes: Set<String> = []
    private var codesByExternalID: [String: [String]] = [:]

    /// - Parameters:
    ///   - policy: the policies (roles, permissions, the default organization).
    ///   - organizations: the organizations in the database; declared ones are added.
    ///   - file: the file's name for diagnostics.
    public init(policy: PolicySet, organizations: [OrganizationRecord], file: String) {
        self.policy = policy
        self.file = file
        for organization in organizations + policy.organizations.map(\.record)
        where !codes.contains(organization.code) {
            codes.insert(organization.code)
            if let externalID = organization.externalID, !externalID.isEmpty {
                codesByExternalID[externalID, default: []].append(organization.code)
            }
        }
    }

    /// Checks and merges the records of `rows`; the plan holds every problem found.
    public func plan(_ rows: consuming ImportedRows) -> ImportPlan {
        var state = PlanState()
        // Most files hold one or a few rows per user: room for one user per record avoids rehashing.
        state.users.reserveCapacity(rows.records.count)
        state.byID.reserveCapacity(rows.records.count)
        state.byEmail.reserveCapacity(rows.records.count)
        let recordCount = rows.records.count
        for index in rows.records.indices {
            // Moved out, so that resolving and merging change the record's arrays in place.
            var record = UserRecord(id: nil)
            swap(&record, &rows.records[index])
            check(record, into: &state)
        }
        var diagnostics = rows.diagnostics + state.diagnostics
        diagnostics.sort { ($0.line ?? 0) < ($1.line ?? 0) }
        return ImportPlan(users: state.users, diagnostics: diagnostics, recordCount: recordCount)
    }

    /// The planner's working state: merged users and the indexes that find them.
    private struct PlanState {
        var users: [UserRecord] = []
        var byID: [String: Int] = [:]
        /// By lowercased email, username and phone: the values that find a user without an id.
        var byEmail: [String: Int] = [:]
        var byUsername: [String: Int] = [:]
        var byPhone: [String: Int] = [:]
        var byIdentity: [Identity: Int] = [:]
        var diagnostics: [Diagnostic] = []
        var resolved: [String: Result<String, ImportProblem>] = [:]
        var unknownKeys: [String: String] = [:]
    }

    private struct ImportProblem: Error {
        var message: String
    }

    private func check(_ input: consuming UserRecord, into state: inout PlanState) {
        var record = consume input
        record.profile = record.profile.withoutBlanks()  // SPEC §1: a blank value is no value, never a match
        var problems: [String] = []
        if record.id == nil && record.profile.email == nil && record.profile.phone == nil && record.profile.username == nil {
            problems.append("a user needs at least one of id, email, phone, username")
        }
        if let id = record.id, let problem = Identifier.problemWithUserID(id) {
            problems.append("invalid user id \(quoted(id)): \(problem)")
        }
        if let email = record.profile.email, let problem = EmailAddress.problem(email) {
            problems.append("invalid email \(quoted(email)): \(problem)")
        }
        for identity in record.identities {
            if let problem = Identifier.problemWithID(identity.provider) {
                problems.append("invalid identity provider \(quoted(identity.provider)): \(problem)")
            }
            if identity.providerUserID.utf8.contains(where: Self.isControlByte) {
                problems.append("identity user id \(quoted(identity.providerUserID)) holds a control character")
            }
        }
        for index in record.memberships.indices {
            switch resolve(record.memberships[index].organization, &state) {
            case .success(let code): record.memberships[index].organization = code
            case .failure(let problem): problems.append(problem.message)
            }
            for role in record.memberships[index].roles ?? [] where policy.role(role) == nil {
                problems.append(unknown("role", role, among: policy.roles.map(\.key), &state))
            }
            for permission in record.memberships[index].permissions where policy.permission(permission) == nil {
                problems.append(unknown("permission", permission, among: policy.permissions.map(\.key), &state))
            }
        }
        guard problems.isEmpty else {
            report(problems, line: record.line, &state)
            return
        }
        if record.memberships.count > 1 {
            let listed = record.memberships
            record.memberships = []
            for membership in listed {
                add(membership, to: &record.memberships)
            }
        }
        merge(record, into: &state)
    }

    private func report(_ problems: [String], line: Int, _ state: inout PlanState) {
        var seen: Set<String> = []
        for message in problems where seen.insert(message).inserted {
            state.diagnostics.append(Diagnostic(file: file, line: line, severity: .error, message: message))
        }
    }

    /// Merges a checked record with the earlier records of the same user (same id; without
    /// an id, same email, else username, else phone, as the store matches users), or starts a
    /// new user. A record with an id takes over an earlier record without one that has its
    /// email, username or phone.
    private func merge(_ record: UserRecord, into state: inout PlanState) {
        let keys = MatchKeys(record)
        var target: Int?
        if let id = record.id {
            target = state.byID[id]
            if target == nil, let (field, value, other) = keys.firstMatch(in: state) {
                if let otherID = state.users[other].id {
                    let message = "\(field) \(quoted(value)) is already given to user "
                        + "\(quoted(otherID)) (line \(state.users[other].line))"
                    report([message], line: record.line, &state)
                    return
                }
                target = other
            }
        } else {
            target = keys.firstMatch(in: state)?.index
        }
        guard let index = target else {
            state.users.append(record)
            if !register(state.users.count - 1, record: record, &state) { state.users.removeLast() }
            return
        }
        var merged = state.users[index]
        var conflicts: [String] = []
        if merged.id == nil { merged.id = record.id }
        mergeField("email", &merged.profile.email, record.profile.email, &conflicts, caseInsensitive: true)
        mergeField("username", &merged.profile.username, record.profile.username, &conflicts)
        mergeField("phone", &merged.profile.phone, record.profile.phone, &conflicts)
        mergeField("first_name", &merged.profile.firstName, record.profile.firstName, &conflicts)
        mergeField("last_name", &merged.profile.lastName, record.profile.lastName, &conflicts)
        mergeField("picture", &merged.profile.picture, record.profile.picture, &conflicts)
        mergeField("email_verified", &merged.emailVerified, record.emailVerified, &conflicts)
        mergeField("phone_verified", &merged.phoneVerified, record.phoneVerified, &conflicts)
        guard conflicts.isEmpty else {
            let who = merged.id.map { "user \(quoted($0))" } ?? "the same user"
            report(conflicts.map { "\($0) given for \(who) on line \(merged.line)" }, line: record.line, &state)
            return
        }
        for identity in record.identities where !merged.identities.contains(identity) {
            merged.identities.append(identity)
        }
        for membership in record.memberships {
            add(membership, to: &merged.memberships)
        }
        guard register(index, record: merged, &state) else { return }
        state.users[index] = merged
    }

    /// Indexes user `index` by id, email, username, phone and identities; false (with an
    /// error) when one of them already belongs to another user of the file.
    private func register(_ index: Int, record: UserRecord, _ state: inout PlanState) -> Bool {
        var problems: [String] = []
        let keys = MatchKeys(record)
        for (field, value, other) in keys.matches(in: state) where other != index {
            problems.append("\(field) \(quoted(value)) is already given to "
                + "\(describe(other, state)) (line \(state.users[other].line))")
        }
        for identity in record.identities {
            if let other = state.byIdentity[identity], other != index {
                problems.append("identity \(quoted(identity.provider + "|" + identity.providerUserID)) is already given to "
                    + "\(describe(other, state)) (line \(state.users[other].line))")
            }
        }
        guard problems.isEmpty else {
            report(problems, line: record.line, &state)
            return false
        }
        if let id = record.id { state.byID[id] = index }
        if let email = keys.email { state.byEmail[email] = index }
        if let username = keys.username { state.byUsername[username] = index }
        if let phone = keys.phone { state.byPhone[phone] = index }
        for identity in record.identities { state.byIdentity[identity] = index }
        return true
    }

    /// The values of a record that find its user when it has no id, in the order they are tried.
    private struct MatchKeys {
        let record: UserRecord
        /// Lowercased: emails are compared without case.
        let email: String?
        var username: String? { record.profile.username }
        var phone: String? { record.profile.phone }

        init(_ record: UserRecord) {
            self.record = record
            email = record.profile.email?.lowercased()
        }

        /// Each value the record gives that an earlier user of the file holds: the field's name,
        /// the value as the record gives it, and that user.
        func matches(in state: PlanState) -> [(field: String, value: String, index: Int)] {
            var found: [(field: String, value: String, index: Int)] = []
            if let email, let other = state.byEmail[email] { found.append(("email", record.profile.email ?? email, other)) }
            if let username, let other = state.byUsername[username] { found.append(("username", username, other)) }
            if let phone, let other = state.byPhone[phone] { found.append(("phone", phone, other)) }
            return found
        }

        /// The first of `matches`: the user a record without an id belongs to.
        func firstMatch(in state: PlanState) -> (field: String, value: String, index: Int)? {
            matches(in: state).first
        }
    }

    private func describe(_ index: Int, _ state: PlanState) -> String {
        state.users[index].id.map { "user \(quoted($0))" } ?? "another user"
    }

    private func mergeField<Value: Equatable>(
        _ name: String, _ merged: inout Value?, _ new: Value?, _ conflicts: inout [String], caseInsensitive: Bool = false
    ) {
        guard let new else { return }
        guard let old = merged else {
            merged = new
            return
        }
        if old == new { return }
        if caseInsensitive, let a = old as? String, let b = new as? String, a.lowercased() == b.lowercased() { return }
        conflicts.append("\(name) \(quoted("\(new)")) differs from \(quoted("\(old)"))")
    }

    /// Adds `membership` to `memberships`, merging it with one in the same organization:
    /// roles and permissions are joined; roles stay nil only when neither gave any.
    private func add(_ membership: MembershipRecord, to memberships: inout [MembershipRecord]) {
        guard let existing = memberships.firstIndex(where: { $0.organization == membership.organization }) else {
            memberships.append(membership)
            return
        }
        if let roles = membership.roles {
            memberships[existing].roles = union(memberships[existing].roles ?? [], roles)
        }
        memberships[existing].permissions = union(memberships[existing].permissions, membership.permissions)
    }

    private func union(_ a: [String], _ b: [String]) -> [String] {
        var result = a
        for item in b where !result.contains(item) { result.append(item) }
        return result
    }

    /// The code of the organization `reference` names: "" is the default organization;
    /// otherwise an organization's external id, then its code.
    private func resolve(_ reference: String, _ state: inout PlanState) -> Result<String, ImportProblem> {
        if let known = state.resolved[reference] { return known }
        let result: Result<String, ImportProblem>
        if reference.isEmpty {
            result = .success(policy.settings.defaultOrganization)
        } else if let matches = codesByExternalID[reference] {
            result = matches.count == 1 ? .success(matches[0]) : .failure(ImportProblem(
                message: "organization \(quoted(reference)) is ambiguous: it is the external_id of "
                    + matches.map(quoted).joined(separator: ", ")))
        } else if codes.contains(reference) {
            result = .success(reference)
        } else {
            result = .failure(ImportProblem(
                message: "unknown organization \(quoted(reference)) (no organization has it as external_id or code)"))
        }
        state.resolved[reference] = result
        return result
    }

    private func unknown(_ kind: String, _ key: String, among keys: [String], _ state: inout PlanState) -> String {
        let cacheKey = kind + " " + key
        if let message = state.unknownKeys[cacheKey] { return message }
        var message = "unknown \(kind) \(quoted(key))"
        if let suggestion = Suggestion.closest(to: key, among: keys) {
            message += " (did you mean \(quoted(suggestion))?)"
        }
        state.unknownKeys[cacheKey] = message
        return message
    }

    private static func isControlByte(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != 0x09) || byte == 0x7F
    }
}

/// `value` in double quotes, for messages.
func quoted(_ value: String) -> String {
    "\"" + value + "\""
}
