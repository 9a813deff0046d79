public import PermdCore
import PermdJSON
public import PermdPolicy

/// The formats `permd export` writes; each is read back by `permd import` to the same state.
public enum ExportFormat: String, Sendable, CaseIterable {
    case kindeCSV = "kinde-csv"
    case kindeNDJSON = "kinde-ndjson"
}

/// An organization that export cannot name so that import finds it again.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    public var description: String

    /// - Parameter description: what cannot be exported, and why.
    public init(description: String) {
        self.description = description
    }
}

/// Turns user records into export text, one user at a time (so export streams).
///
/// Organizations are written by code (import matches external ids first, then codes);
/// when an organization's code is another organization's external id, its own external
/// id is written instead. Memberships without roles are written as an explicit empty
/// list (`(none)` in CSV, `"roles": []` in NDJSON) so that re-importing them does not
/// give them the default roles. Blank profile values are no value (SPEC §1): never written.
/// With the policies, grants of roles and permissions they no longer define are left out
/// (an import would refuse them); `staleGrants(in:)` counts them for the notice.
public struct ExportWriter {
    public let format: ExportFormat
    private let references: [String: String]
    private let policy: PolicySet?

    /// - Parameters:
    ///   - format: the output format.
    ///   - organizations: every organization in the database.
    ///   - policy: the policies; grants of roles and permissions they do not define are left
    ///     out (nil writes every grant).
    /// - Throws: `ExportError` when an organization has no name that import resolves to it.
    public init(format: ExportFormat, organizations: [OrganizationRecord], policy: PolicySet? = nil) throws(ExportError) {
        self.format = format
        self.policy = policy
        var externalIDs: [String: [String]] = [:]
        for organization in organizations {
            if let externalID = organization.externalID, !externalID.isEmpty {
                externalIDs[externalID, default: []].append(organization.code)
            }
        }
        var references: [String: String] = [:]
        for organization in organizations {
            let byCode = externalIDs[organization.code]
            if byCode == nil || byCode == [organization.code] {
                references[organization.code] = organization.code
            } else if let externalID = organization.externalID, externalIDs[externalID] == [organization.code] {
                references[organization.code] = externalID
            } else {
                throw ExportError(description: "organization \(quoted(organization.code)) cannot be exported: "
                    + "its code is the external_id of \(quoted(byCode?.first ?? "")), which import would match first")
            }
        }
        self.references = references
    }

    /// The header line, ending in a newline (CSV), or nil (NDJSON).
    public var header: String? {
        switch format {
        case .kindeCSV: CSVWriter.line(KindeCSVFormat.exportHeader)
        case .kindeNDJSON: nil
        }
    }

    /// The grants of `user` that `lines(for:)` leaves out: roles and permissions the
    /// policies no longer define.
    public func staleGrants(in user: UserRecord) -> StaleGrants {
        var stale = StaleGrants()
        guard let policy else { return stale }
        for membership in user.memberships {
            stale.roles += (membership.roles ?? []).count { policy.role($0) == nil }
            stale.permissions += membership.permissions.count { policy.permission($0) == nil }
        }
        return stale
    }

    /// The lines for one user, each ending in a newline: one CSV row per membership,
    /// sorted by organization code, or one NDJSON object.
    public func lines(for given: UserRecord) -> String {
        var user = given
        user.profile = Self.withoutBlanks(user.profile)
        if let policy {
            for index in user.memberships.indices {
                user.memberships[index].roles = user.memberships[index].roles?.filter { policy.role($0) != nil }
                user.memberships[index].permissions.removeAll { policy.permission($0) == nil }
            }
        }
        let memberships = user.memberships.sorted { $0.organization < $1.organization }
        switch format {
        case .kindeCSV:
            return csvLines(user, memberships)
        case .kindeNDJSON:
            return ndjsonLine(user, memberships)
        }
    }

    /// The profile without its blank values (a database from before blanks were refused may hold them).
    private static func withoutBlanks(_ profile: UserProfile) -> UserProfile {
        func value(_ text: String?) -> String? {
            guard let text, !text.unicodeScalars.allSatisfy(\.properties.isWhitespace) else { return nil }
            return text
        }
        return UserProfile(email: value(profile.email), username: value(profile.username), phone: value(profile.phone),
                           firstName: value(profile.firstName), lastName: value(profile.lastName),
                           picture: value(profile.picture))
    }

    private func reference(_ code: String) -> String {
        references[code] ?? code
    }

    private func csvLines(_ user: UserRecord, _ memberships: [MembershipRecord]) -> String {
        func flag(_ value: Bool?) -> String { value.map { $0 ? "true" : "false" } ?? "" }
        let profile = [
            user.id ?? "", user.profile.email ?? "", flag(user.emailVerified), user.profile.phone ?? "",
            flag(user.phoneVerified), user.profile.username ?? "", user.profile.firstName ?? "",
            user.profile.lastName ?? "", user.profile.picture ?? "",
        ]
        // A user always has a membership; should one have none, the row still carries the profile.
        let rows = memberships.isEmpty ? [nil] : memberships.map { Optional($0) }
        var text = ""
        for membership in rows {
            let roles = membership.map { roles in
                let keys = (roles.roles ?? []).sorted()
                return keys.isEmpty ? KindeCSVFormat.noRoles : keys.joined(separator: ",")
            } ?? ""
            text += CSVWriter.line(profile + [
                membership.map { reference($0.organization) } ?? "", roles,
                membership.map { $0.permissions.sorted().joined(separator: ",") } ?? "",
            ])
        }
        return text
    }

    private func ndjsonLine(_ user: UserRecord, _ memberships: [MembershipRecord]) -> String {
        var members: [JSONMember] = []
        func add(_ key: String, _ value: String?) {
            if let value { members.append(JSONMember(key, .string(value))) }
        }
        add("id", user.id)
        add("first_name", user.profile.firstName)
        add("last_name", user.profile.lastName)
        add("picture", user.profile.picture)
        var identities: [JSONValue] = []
        func identity(_ type: String, _ value: String?, verified: Bool?) {
            guard let value else { return }
            var fields = [JSONMember("type", .string(type)), JSONMember("identity", .string(value))]
            if let verified { fields.append(JSONMember("is_verified", .bool(verified))) }
            identities.append(.object(fields))
        }
        identity("email", user.profile.email, verified: user.emailVerified)
        identity("phone", user.profile.phone, verified: user.phoneVerified)
        identity("username", user.profile.username, verified: nil)
        let external = user.identities.sorted { ($0.provider, $0.providerUserID) < ($1.provider, $1.providerUserID) }
        for each in external {
            identity(KindeNDJSONFormat.oauthPrefix + each.provider, each.providerUserID, verified: nil)
        }
        if !identities.isEmpty { members.append(JSONMember("identities", .array(identities))) }
        members.append(JSONMember("organizations", .array(memberships.map { membership in
            .object([
                JSONMember("external_id", .string(reference(membership.organization))),
                JSONMember("roles", .array((membership.roles ?? []).sorted().map { .string($0) })),
                JSONMember("permissions", .array(membership.permissions.sorted().map { .string($0) })),
            ])
        })))
        return JSONValue.object(members).serialized() + "\n"
    }
}

/// Grants an export left out because the policies no longer define their role or permission.
public struct StaleGrants: Sendable, Hashable {
    /// Role assignments of roles the policies do not define.
    public var roles = 0
    /// Direct grants of permissions the policies do not define.
    public var permissions = 0

    /// None left out.
    public init() {}

    /// How many grants were left out.
    public var count: Int { roles + permissions }

    /// Adds the counts of `other`.
    public static func += (lhs: inout StaleGrants, rhs: StaleGrants) {
        lhs.roles += rhs.roles
        lhs.permissions += rhs.permissions
    }

    /// The notice an export prints when it left grants out; nil when it left none out.
    public var notice: String? {
        guard count > 0 else { return nil }
        return "notice: left out \(count) grant\(count == 1 ? "" : "s") of roles or permissions the policies no "
            + "longer define (\(roles) role assignment\(roles == 1 ? "" : "s"), \(permissions) direct "
            + "permission\(permissions == 1 ? "" : "s")); they grant nothing, and `permd validate --db` lists them"
    }
}
