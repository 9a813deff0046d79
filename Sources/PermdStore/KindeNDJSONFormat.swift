import PermdCore
import PermdJSON

/// Kinde's NDJSON user export (SPEC §4): one JSON object per line with `id`, `first_name`,
/// `last_name`, `identities` and `organizations`. permd also reads and writes `picture`.
public enum KindeNDJSONFormat {
    /// The identity types that fill profile fields; `oauth2:<provider>` becomes an identity.
    static let oauthPrefix = "oauth2:"

    static let knownFields: Set<String> = ["id", "first_name", "last_name", "picture", "identities", "organizations"]
    static let identityFields: Set<String> = ["type", "identity", "is_verified"]
    static let organizationFields: Set<String> = ["external_id", "roles", "permissions"]

    /// Parses the file; each object becomes one record. An object without `organizations`
    /// (or with an empty list) goes to the default organization; an organization without
    /// `roles` gets the default roles when the membership is new, `"roles": []` none.
    public static func parse(_ bytes: [UInt8], file: String, progress: ImportProgress? = nil) -> ImportedRows {
        var ignoredFields = IgnoredInput()
        var ignoredTypes = IgnoredInput()
        var repeated = IgnoredInput()
        return ImportJSONReader.records(in: bytes, file: file, progress: progress, notices: {
            [ignoredFields.notice(file: file, what: "fields"),
             ignoredTypes.notice(file: file, what: "identity types"),
             repeated.notice(file: file, what: "identities beyond the first of their type")]
        }) { object in
            let line = object.line, members = object.members
            var record = UserRecord(id: object.string("id"), line: line)
            record.profile.firstName = object.string("first_name")
            record.profile.lastName = object.string("last_name")
            record.profile.picture = object.string("picture")
            for member in members where !knownFields.contains(member.key) {
                ignoredFields.note(member.key, line: line)
            }
            for var identity in object.objects("identities") ?? [] {
                for member in identity.members where !identityFields.contains(member.key) {
                    ignoredFields.note("identities[]." + member.key, line: line)
                }
                guard let type = identity.string("type") else {
                    identity.error("an identity needs a \"type\"")
                    object.diagnostics += identity.diagnostics
                    continue
                }
                let value = identity.string("identity")
                let verified = identity.bool("is_verified")
                object.diagnostics += identity.diagnostics
                guard let value else {
                    object.diagnostics.append(Diagnostic(
                        file: file, pointer: identity.pointer.description, line: line, severity: .error,
                        message: "identity of type \"\(type)\" has no \"identity\""))
                    continue
                }
                switch type {
                case "email":
                    if record.profile.email == nil {
                        record.profile.email = value
                        record.emailVerified = verified
                    } else {
                        repeated.note("email", line: line)
                    }
                case "phone":
                    if record.profile.phone == nil {
                        record.profile.phone = value
                        record.phoneVerified = verified
                    } else {
                        repeated.note("phone", line: line)
                    }
                case "username":
                    if record.profile.username == nil { record.profile.username = value } else { repeated.note("username", line: line) }
                case _ where type.hasPrefix(oauthPrefix) && type.count > oauthPrefix.count:
                    record.identities.append(Identity(provider: String(type.dropFirst(oauthPrefix.count)), providerUserID: value))
                default:
                    ignoredTypes.note(type, line: line)
                }
            }
            for var organization in object.objects("organizations") ?? [] {
                for member in organization.members where !organizationFields.contains(member.key) {
                    ignoredFields.note("organizations[]." + member.key, line: line)
                }
                let reference = organization.string("external_id") ?? ""
                let roles = organization.strings("roles")
                let permissions = organization.strings("permissions") ?? []
                object.diagnostics += organization.diagnostics
                record.memberships.append(MembershipRecord(organization: reference, roles: roles, permissions: permissions))
            }
            if record.memberships.isEmpty {
                record.memberships = [MembershipRecord(organization: "", roles: nil)]
            }
            return record
        }
    }
}
