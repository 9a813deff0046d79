import PermdCore
import PermdJSON

/// Auth0's user export (SPEC §4), as NDJSON or one JSON array, also with the column names of
/// Auth0's Import/Export extension (`Id`, `Email`, `Nickname`, ...). Every user goes to the
/// default organization with the default roles; identities become permd identities.
public enum Auth0Format {
    static let knownFields: Set<String> = [
        "user_id", "email", "email_verified", "given_name", "family_name", "name", "nickname", "username",
        "picture", "phone_number", "phone_verified", "identities",
    ]

    /// The Import/Export extension's column names (its "default fields") and the field each one is.
    static let extensionColumns: [String: String] = [
        "Id": "user_id", "Email": "email", "Email Verified": "email_verified", "Given Name": "given_name",
        "Family Name": "family_name", "Name": "name", "Nickname": "nickname", "Username": "username",
        "Picture": "picture", "Phone Number": "phone_number", "Phone Verified": "phone_verified",
    ]

    /// The extension's column for each field it has.
    private static let columnOfField = Dictionary(uniqueKeysWithValues: extensionColumns.map { ($0.value, $0.key) })

    /// Whether an object with these keys is an Auth0 user rather than a Kinde one: it has a
    /// key that Auth0 writes and Kinde's export does not (`user_id`, `email`, `Id`, ...).
    static func isAuth0(keys: some Sequence<String>) -> Bool {
        keys.contains { key in
            (knownFields.contains(key) || extensionColumns[key] != nil || extensionOnlyColumns.contains(key))
                && !KindeNDJSONFormat.knownFields.contains(key)
        }
    }

    /// Columns the extension writes that permd ignores; they still tell an extension file apart.
    private static let extensionOnlyColumns: Set<String> = ["Connection", "Created At", "Updated At", "Last Login"]

    /// Parses the file. Names: `given_name`/`family_name` fill first and last name; when
    /// both are absent, `name` (unless it is just the email, as Auth0 writes for database
    /// users) becomes the first name. `username`, else `nickname`, becomes the username.
    /// An object without a user id is an error: Auth0's ids are how a re-import finds its users.
    public static func parse(_ bytes: [UInt8], file: String, progress: ImportProgress? = nil) -> ImportedRows {
        var ignored = IgnoredInput()
        return ImportJSONReader.records(in: bytes, file: file, progress: progress, notices: {
            [ignored.notice(file: file, what: "fields")]
        }) { object in
            let line = object.line, members = object.members
            func string(_ field: String) -> String? {
                object.string(field) ?? columnOfField[field].flatMap { object.string($0) }
            }
            func bool(_ field: String) -> Bool? {
                object.bool(field) ?? columnOfField[field].flatMap { object.bool($0) }
            }
            var record = UserRecord(id: string("user_id"), line: line)
            if record.id == nil {
                object.error("an Auth0 user needs a \"user_id\" (or \"Id\"); permd does not make one up")
            }
            record.profile.email = string("email")
            record.emailVerified = bool("email_verified")
            record.profile.firstName = string("given_name")
            record.profile.lastName = string("family_name")
            let name = string("name")
            if record.profile.firstName == nil && record.profile.lastName == nil, let name, name != record.profile.email {
                record.profile.firstName = name
            }
            record.profile.username = string("username") ?? string("nickname")
            record.profile.picture = string("picture")
            record.profile.phone = string("phone_number")
            record.phoneVerified = bool("phone_verified")
            for member in members where !knownFields.contains(member.key) && extensionColumns[member.key] == nil {
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
