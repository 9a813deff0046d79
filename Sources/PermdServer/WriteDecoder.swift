import PermdCore
import PermdJSON
import PermdProtocol
import PermdStore

/// Turns a write request line into the store's `Write` (SPEC §5 writes), or the
/// `ERR SYNTAX` that explains what is malformed.
enum WriteDecoder {
    static func write(for request: Request) throws(ProtocolError) -> Write {
        let arguments = request.arguments
        switch request.command {
        case .userAdd:
            let object = try JSONObject(request.json)
            let user = NewUser(
                id: try object.identifier("id"),
                profile: try object.profile(),
                organizations: try object.identifiers("organizations"),
                roles: try object.identifiers("roles"))
            try object.rejectUnknown(["id", "email", "username", "phone", "first_name", "last_name", "picture",
                                      "organizations", "roles"])
            return .addUser(user)
        case .userDel:
            return .removeUser(arguments[0])
        case .orgAdd:
            var record = OrganizationRecord(code: arguments[0])
            if let json = request.json {
                let object = try JSONObject(json)
                record.name = try object.string("name")
                record.externalID = try object.string("external_id")
                try object.rejectUnknown(["name", "external_id"])
            }
            return .addOrganization(record)
        case .orgDel:
            return .removeOrganization(arguments[0])
        case .memberAdd:
            let roles = arguments.count > 2 ? Array(arguments[2...]) : nil
            return .addMember(user: arguments[0], organization: arguments[1], roles: roles)
        case .memberDel:
            return .removeMember(user: arguments[0], organization: arguments[1])
        case .roleAdd:
            return .assignRole(user: arguments[0], organization: arguments[1], role: arguments[2])
        case .roleDel:
            return .unassignRole(user: arguments[0], organization: arguments[1], role: arguments[2])
        case .permAdd:
            return .grantPermission(user: arguments[0], organization: arguments[1], permission: arguments[2])
        case .permDel:
            return .revokePermission(user: arguments[0], organization: arguments[1], permission: arguments[2])
        case .signIn:
            let object = try JSONObject(request.json)
            guard let provider = try object.string("provider"),
                  let providerUserID = try object.string("provider_user_id") else {
                throw ProtocolError(.syntax, "SIGNIN needs \"provider\" and \"provider_user_id\"")
            }
            var profile = try object.profile()
            profile.email = nil
            let signIn = SignInRequest(
                provider: provider, providerUserID: providerUserID,
                email: try object.string("email"), emailVerified: try object.bool("email_verified") ?? false,
                profile: profile, organization: try object.identifier("org"))
            try object.rejectUnknown(["provider", "provider_user_id", "email", "email_verified", "username", "phone",
                                      "first_name", "last_name", "picture", "org"])
            return .signIn(signIn)
        default:
            throw ProtocolError(.internal, "\(request.command.word) is not a write")
        }
    }
}

/// A JSON object from a request line, with typed field access that answers `ERR SYNTAX`.
private struct JSONObject {
    let members: [JSONMember]

    init(_ bytes: [UInt8]?) throws(ProtocolError) {
        guard let bytes else { throw ProtocolError(.syntax, "missing JSON object") }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw ProtocolError(.syntax, "malformed JSON at \(error)")
        }
        guard let members = value.objectValue else {
            throw ProtocolError(.syntax, "expected a JSON object, found \(value.kindDescription)")
        }
        self.members = members
    }

    func value(_ key: String) -> JSONValue? {
        members.first { $0.key == key }?.value
    }

    func string(_ key: String) throws(ProtocolError) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue else {
            throw ProtocolError(.syntax, "\"\(key)\" must be a string, not \(value.kindDescription)")
        }
        return text
    }

    func bool(_ key: String) throws(ProtocolError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let flag = value.boolValue else {
            throw ProtocolError(.syntax, "\"\(key)\" must be true or false, not \(value.kindDescription)")
        }
        return flag
    }

    func identifier(_ key: String) throws(ProtocolError) -> String? {
        guard let text = try string(key) else { return nil }
        if let problem = Identifier.problemWithID(text) {
            throw ProtocolError(.syntax, "\"\(key)\" \(problem)")
        }
        return text
    }

    func identifiers(_ key: String) throws(ProtocolError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard let items = value.arrayValue else {
            throw ProtocolError(.syntax, "\"\(key)\" must be an array of strings, not \(value.kindDescription)")
        }
        var result: [String] = []
        for item in items {
            guard let text = item.stringValue, Identifier.problemWithID(text) == nil else {
                throw ProtocolError(.syntax, "\"\(key)\" must hold identifiers (printable ASCII, no spaces)")
            }
            result.append(text)
        }
        return result
    }

    func profile() throws(ProtocolError) -> UserProfile {
        UserProfile(
            email: try string("email"), username: try string("username"), phone: try string("phone"),
            firstName: try string("first_name"), lastName: try string("last_name"), picture: try string("picture"))
    }

    func rejectUnknown(_ known: Set<String>) throws(ProtocolError) {
        if let unknown = members.first(where: { !known.contains($0.key) }) {
            throw ProtocolError(.syntax, "unknown field \"\(unknown.key)\"")
        }
    }
}
