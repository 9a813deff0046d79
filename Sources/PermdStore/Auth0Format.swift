import PermdCore
import PermdJSON

/// Auth0's user export (SPEC §4), as NDJSON or one JSON array. Every user goes to the
/// default organization with the default roles; identities become permd identities.
public enum Auth0Format {
    static let knownFields: Set<String> = [
        "user_id", "email", "email_verified", "given_name", "family_name", "name", "nickname", "username",
        "picture", "phone_number", "phone_verified", "identities",
    ]

    /// Parses the file. Names: `given_name`/`family_name` fill first and last name; when
    /// both are absent, `name` (unless it is just the email, as Auth0 writes for database
    /// users) becomes the first name. `username`, else `nickname`, becomes the username.
    public static func parse(_ bytes: [UInt8], file: String, progress: ImportProgress? = nil) -> ImportedRows {
        var ignored = IgnoredInput()
        return ImportJSONReader.records(in: bytes, file: file, progress: progress, notices: {
            [ignored.notice(file: file, what: "fields")]
        }) { object in
            let line = object.line, members = object.members
            var record = UserRecord(id: object.string("user_id"), line: line)
            record.profile.email = object.string("email")
            record.emailVerified = object.bool("email_verified")
            record.profile.firstName = object.string("given_name")
            record.profile.lastName = object.string("family_name")
            let name = object.string("name")
            if record.profile.firstName == nil && record.profile.lastName == nil, let name, name != record.profile.email {
                record.profile.firstName = name
            }
            record.profile.username = object.string("username") ?? object.string("nickname")
            record.profile.picture = object.string("picture")
            record.profile.phone = object.string("phone_number")
            record.phoneVerified = object.bool("phone_verified")
            for member in members where !knownFields.contains(member.key) {
                ignored.note(member.key, line: line)
            }
            for var identity in object.objects("identities") ?? [] {
                let provider = identity.string("provider")
                // Auth0 writes some providers' user ids as numbers.
                let userID = identity["user_id"]?.integerValue.map { String($0) } ?? identity.string("user_id")
                object.diagnostics += identity.diagnostics
                guard let provider, let userID else {
                    object.diagnostics.append(Diagnostic(
                        file: file, pointer: identity.pointer.description, line: line, severity: .error,
                        message: "an identity needs \"provider\" and \"user_id\""))
                    continue
                }
                record.identities.append(Identity(provider: provider, providerUserID: userID))
            }
            record.memberships = [MembershipRecord(organization: "", roles: nil)]
            return record
        }
    }
}
