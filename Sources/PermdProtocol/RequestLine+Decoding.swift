import PermdCore

extension RequestLine {
    /// The typed request: numbers parsed, identifiers read, JSON payloads decoded; a
    /// malformed argument or payload is `ERR SYNTAX` (nothing reaches the writer).
    public consuming func decode() throws(ProtocolError) -> Request {
        // CHECK is nearly every request: it stays a view, with no String made.
        command == .check ? .query(.check(CheckQuery(self))) : try decodeWithArguments()
    }

    /// Every command but CHECK, from its words as Strings.
    private func decodeWithArguments() throws(ProtocolError) -> Request {
        let arguments = self.arguments
        switch command {
        case .check:
            return .query(.check(CheckQuery(self)))
        case .perms:
            return .query(.permissions(user: arguments[0], organization: arguments[1]))
        case .roles:
            return .query(.roles(user: arguments[0], organization: arguments[1]))
        case .orgs:
            return .query(.organizations(user: arguments[0], permission: arguments.count > 1 ? arguments[1] : nil))
        case .who:
            let after = arguments.count > 2 && arguments[2] != Query.whoFromStart ? arguments[2] : nil
            let limit = arguments.count > 3
                ? try Self.number(arguments[3], name: "limit", in: 1...Query.maxWhoLimit) : Query.defaultWhoLimit
            return .query(.who(organization: arguments[0], permission: arguments[1], after: after, limit: limit))
        case .explain:
            return .query(.explain(user: arguments[0], organization: arguments[1], permission: arguments[2]))
        case .revision:
            return .query(.revision)
        case .sync:
            let revision = try Self.number(arguments[0], name: "revision", in: UInt64(0)...UInt64.max)
            let timeout = arguments.count > 1
                ? try Self.number(arguments[1], name: "timeout_ms", in: Int64(0)...Query.maxSyncTimeout)
                : Query.defaultSyncTimeout
            return .query(.sync(revision: revision, timeoutMilliseconds: timeout))
        case .ping:
            return .query(.ping)
        case .stats:
            return .query(.stats)
        case .help:
            return .query(.help)
        case .auth:
            return .session(.auth(token: arguments[0]))
        case .quit:
            return .session(.quit)
        case .reload:
            return .write(.reload)
        case .userAdd:
            let object = try JSONPayload(json)
            let user = NewUser(
                id: try object.identifier("id"),
                profile: try object.profile(),
                emailVerified: try object.bool("email_verified"),
                organizations: try object.identifiers("organizations"),
                roles: try object.identifiers("roles"))
            try object.rejectUnknown(["id", "email", "email_verified", "username", "phone", "first_name", "last_name",
                                      "picture", "organizations", "roles"])
            return .write(.write(.addUser(user)))
        case .userDel:
            return .write(.write(.removeUser(arguments[0])))
        case .orgAdd:
            var record = OrganizationRecord(code: arguments[0])
            if let json {
                let object = try JSONPayload(json)
                record.name = try object.string("name")
                record.externalID = try object.string("external_id")
                try object.rejectUnknown(["name", "external_id"])
            }
            return .write(.write(.addOrganization(record)))
        case .orgDel:
            return .write(.write(.removeOrganization(arguments[0])))
        case .memberAdd:
            let roles = arguments.count > 2 ? Array(arguments[2...]) : nil
            return .write(.write(.addMember(user: arguments[0], organization: arguments[1], roles: roles)))
        case .memberDel:
            return .write(.write(.removeMember(user: arguments[0], organization: arguments[1])))
        case .roleAdd:
            return .write(.write(.assignRole(user: arguments[0], organization: arguments[1], role: arguments[2])))
        case .roleDel:
            return .write(.write(.unassignRole(user: arguments[0], organization: arguments[1], role: arguments[2])))
        case .permAdd:
            return .write(.write(.grantPermission(
                user: arguments[0], organization: arguments[1], permission: arguments[2])))
        case .permDel:
            return .write(.write(.revokePermission(
                user: arguments[0], organization: arguments[1], permission: arguments[2])))
        case .signIn:
            let object = try JSONPayload(json)
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
            return .write(.write(.signIn(signIn)))
        }
    }

    /// A decimal argument within `range`, else `ERR SYNTAX`.
    static func number<Value: FixedWidthInteger>(_ text: String, name: String, in range: ClosedRange<Value>)
        throws(ProtocolError) -> Value
    {
        guard let value = Value(text, radix: 10), range.contains(value) else {
            throw ProtocolError(.syntax, "\(name) must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
