/// The profile fields of a user (SPEC §1); nil means "not set".
public struct UserProfile: Sendable, Hashable {
    public var email: String?
    public var username: String?
    public var phone: String?
    public var firstName: String?
    public var lastName: String?
    public var picture: String?

    /// - Parameters: each profile field; nil when not set.
    public init(
        email: String? = nil, username: String? = nil, phone: String? = nil,
        firstName: String? = nil, lastName: String? = nil, picture: String? = nil
    ) {
        self.email = email
        self.username = username
        self.phone = phone
        self.firstName = firstName
        self.lastName = lastName
        self.picture = picture
    }
}

/// An external identity of a user: the account at a provider that signs them in.
public struct Identity: Sendable, Hashable {
    public var provider: String
    public var providerUserID: String

    /// - Parameters:
    ///   - provider: the identity provider (`google`, `auth0`, `email`, ...).
    ///   - providerUserID: the user's id at that provider.
    public init(provider: String, providerUserID: String) {
        self.provider = provider
        self.providerUserID = providerUserID
    }
}

/// An organization as stored: its code, and the optional name and external id.
public struct OrganizationRecord: Sendable, Hashable {
    public var code: String
    public var name: String?
    public var externalID: String?

    /// - Parameters:
    ///   - code: the organization's code (`org_acme`).
    ///   - name: its display name.
    ///   - externalID: its id in another system, which imports match.
    public init(code: String, name: String? = nil, externalID: String? = nil) {
        self.code = code
        self.name = name
        self.externalID = externalID
    }
}

/// Receives the authorization-relevant database state, row by row, for a full index build.
///
/// A reader calls, in this order: every organization, every user, every membership,
/// then every role assignment and every direct grant (each after its membership).
///
/// Each text arrives as its UTF-8 bytes, valid only during the call: a full build reads
/// millions of rows, and a `String` per column would cost more than the rest of the row
/// (`String(decoding: bytes, as: UTF8.self)` makes one where a sink needs it).
public protocol StateSink {
    mutating func organization(_ code: UnsafeRawBufferPointer)
    mutating func user(_ id: UnsafeRawBufferPointer)
    mutating func membership(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer)
    mutating func roleAssignment(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                 role: UnsafeRawBufferPointer)
    mutating func directGrant(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                              permission: UnsafeRawBufferPointer)
}

/// The same rows from strings, for readers that hold them (test fixtures, generators).
extension StateSink {
    public mutating func organization(_ code: String) {
        withBytes(code) { organization($0) }
    }

    public mutating func user(_ id: String) {
        withBytes(id) { user($0) }
    }

    public mutating func membership(user: String, organization: String) {
        withBytes(user) { user in withBytes(organization) { membership(user: user, organization: $0) } }
    }

    public mutating func roleAssignment(user: String, organization: String, role: String) {
        withBytes(user) { user in
            withBytes(organization) { organization in
                withBytes(role) { roleAssignment(user: user, organization: organization, role: $0) }
            }
        }
    }

    public mutating func directGrant(user: String, organization: String, permission: String) {
        withBytes(user) { user in
            withBytes(organization) { organization in
                withBytes(permission) { directGrant(user: user, organization: organization, permission: $0) }
            }
        }
    }
}

/// Calls `body` with the UTF-8 bytes of `text` (the modules' one bridge from a `String`
/// to the byte-slice APIs).
@inline(__always)
package func withBytes<R>(_ text: String, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    var text = text
    return try text.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
}

/// A source of database state for index builds (the SQLite store, or a test's fixture).
public protocol StateReader {
    /// Feeds the whole state to `sink` from one consistent read; returns its revision.
    func readState(into sink: inout some StateSink) throws -> UInt64

    /// The committed changes after `revision`, oldest first, or nil when the log no
    /// longer reaches back that far (the caller then rebuilds in full).
    func changes(after revision: UInt64) throws -> [ChangeRecord]?

    /// The same changes handed to `sink` one at a time, in one pass over the log (what an
    /// index catching up with a large import reads); false, with nothing handed over, when
    /// the log no longer reaches back that far. A default reads `changes(after:)`.
    func readChanges(after revision: UInt64, into sink: inout some ChangeSink) throws -> Bool

    /// How many rows `readState` will feed, so that an index build can size its tables
    /// up front; nil when the reader cannot tell cheaply.
    func stateCounts() throws -> StateCounts?
}

extension StateReader {
    /// No counts: the index's tables grow as rows arrive.
    public func stateCounts() throws -> StateCounts? { nil }
}

/// Row counts of a state, announced before a full read (estimates are fine: they only
/// size tables).
public struct StateCounts: Sendable, Hashable {
    public var users: Int
    public var organizations: Int
    public var memberships: Int

    /// - Parameters:
    ///   - users: the number of users.
    ///   - organizations: the number of organizations.
    ///   - memberships: the number of memberships.
    public init(users: Int, organizations: Int, memberships: Int) {
        self.users = users
        self.organizations = organizations
        self.memberships = memberships
    }
}

/// One committed change to the database state, as the change log records it.
///
/// Removals cascade as in the database: removing a user removes its memberships;
/// removing a membership removes its grants; removing an organization removes the
/// memberships in it.
public enum StateChange: Sendable, Hashable {
    case userAdded(user: String)
    case userRemoved(user: String)
    case profileUpdated(user: String)
    case organizationAdded(code: String)
    case organizationUpdated(code: String)
    case organizationRemoved(code: String)
    case membershipAdded(user: String, organization: String)
    case membershipRemoved(user: String, organization: String)
    case roleAssigned(user: String, organization: String, role: String)
    case roleUnassigned(user: String, organization: String, role: String)
    case permissionGranted(user: String, organization: String, permission: String)
    case permissionRevoked(user: String, organization: String, permission: String)
    /// The policy files were reloaded: the index must be rebuilt in full.
    case policyReloaded
}

/// A change and the revision that committed it.
public struct ChangeRecord: Sendable, Hashable {
    public var revision: UInt64
    public var change: StateChange

    /// - Parameters:
    ///   - revision: the revision that contains the change.
    ///   - change: what changed.
    public init(revision: UInt64, change: StateChange) {
        self.revision = revision
        self.change = change
    }
}
