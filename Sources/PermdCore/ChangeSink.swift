/// What a change of the change log does, without the names it applies to (`StateChange`
/// with its names taken out).
public enum ChangeKind: Sendable, Hashable, CaseIterable {
    case userAdded, userRemoved, profileUpdated
    case organizationAdded, organizationUpdated, organizationRemoved
    case membershipAdded, membershipRemoved
    case roleAssigned, roleUnassigned
    case permissionGranted, permissionRevoked
    case policyReloaded
}

/// Receives the change log after a revision, oldest first, one change at a time.
///
/// As with `StateSink`, every name arrives as its UTF-8 bytes, valid only during the call:
/// an import logs hundreds of thousands of changes, and a reader that made a `String` of
/// each name (and an array of them all) would spend more on that than the index spends
/// applying them.
public protocol ChangeSink {
    /// One committed change. `user` is the user's id, `organization` the organization's
    /// code and `key` the role or permission key, each empty when `kind` names none.
    /// - Returns: whether to go on; false ends the read (the sink needs a full rebuild).
    mutating func change(revision: UInt64, _ kind: ChangeKind, user: UnsafeRawBufferPointer,
                         organization: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) -> Bool
}

extension StateChange {
    /// What the change does.
    public var kind: ChangeKind {
        switch self {
        case .userAdded: .userAdded
        case .userRemoved: .userRemoved
        case .profileUpdated: .profileUpdated
        case .organizationAdded: .organizationAdded
        case .organizationUpdated: .organizationUpdated
        case .organizationRemoved: .organizationRemoved
        case .membershipAdded: .membershipAdded
        case .membershipRemoved: .membershipRemoved
        case .roleAssigned: .roleAssigned
        case .roleUnassigned: .roleUnassigned
        case .permissionGranted: .permissionGranted
        case .permissionRevoked: .permissionRevoked
        case .policyReloaded: .policyReloaded
        }
    }

    /// The names the change applies to: the user, the organization, the role or permission
    /// key (empty when it names none).
    public var names: (user: String, organization: String, key: String) {
        switch self {
        case .userAdded(let user), .userRemoved(let user), .profileUpdated(let user):
            (user, "", "")
        case .organizationAdded(let code), .organizationUpdated(let code), .organizationRemoved(let code):
            ("", code, "")
        case .membershipAdded(let user, let organization), .membershipRemoved(let user, let organization):
            (user, organization, "")
        case .roleAssigned(let user, let organization, let key), .roleUnassigned(let user, let organization, let key),
             .permissionGranted(let user, let organization, let key), .permissionRevoked(let user, let organization, let key):
            (user, organization, key)
        case .policyReloaded:
            ("", "", "")
        }
    }

    /// The change of `kind` with these names (those the kind does not use are ignored).
    public init(_ kind: ChangeKind, user: String, organization: String, key: String) {
        switch kind {
        case .userAdded: self = .userAdded(user: user)
        case .userRemoved: self = .userRemoved(user: user)
        case .profileUpdated: self = .profileUpdated(user: user)
        case .organizationAdded: self = .organizationAdded(code: organization)
        case .organizationUpdated: self = .organizationUpdated(code: organization)
        case .organizationRemoved: self = .organizationRemoved(code: organization)
        case .membershipAdded: self = .membershipAdded(user: user, organization: organization)
        case .membershipRemoved: self = .membershipRemoved(user: user, organization: organization)
        case .roleAssigned: self = .roleAssigned(user: user, organization: organization, role: key)
        case .roleUnassigned: self = .roleUnassigned(user: user, organization: organization, role: key)
        case .permissionGranted: self = .permissionGranted(user: user, organization: organization, permission: key)
        case .permissionRevoked: self = .permissionRevoked(user: user, organization: organization, permission: key)
        case .policyReloaded: self = .policyReloaded
        }
    }
}

extension ChangeRecord {
    /// Hands the change to `sink`; returns what the sink returned.
    public func feed(into sink: inout some ChangeSink) -> Bool {
        let names = change.names
        return withBytes(names.user) { user in
            withBytes(names.organization) { organization in
                withBytes(names.key) {
                    sink.change(revision: revision, change.kind, user: user, organization: organization, key: $0)
                }
            }
        }
    }
}

extension StateReader {
    /// The change log of `changes(after:)`, handed to `sink` one change at a time.
    public func readChanges(after revision: UInt64, into sink: inout some ChangeSink) throws -> Bool {
        guard let records = try changes(after: revision) else { return false }
        for record in records where !record.feed(into: &sink) { break }
        return true
    }
}
