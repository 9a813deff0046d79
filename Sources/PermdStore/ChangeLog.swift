import Foundation
public import PermdCore

/// How a `StateChange` is stored in the `changes` table: a kind word and up to three names.
enum ChangeLogRow {
    /// The word stored for each kind.
    static func word(_ kind: ChangeKind) -> String {
        switch kind {
        case .userAdded: "user_added"
        case .userRemoved: "user_removed"
        case .profileUpdated: "profile_updated"
        case .organizationAdded: "organization_added"
        case .organizationUpdated: "organization_updated"
        case .organizationRemoved: "organization_removed"
        case .membershipAdded: "membership_added"
        case .membershipRemoved: "membership_removed"
        case .roleAssigned: "role_assigned"
        case .roleUnassigned: "role_unassigned"
        case .permissionGranted: "permission_granted"
        case .permissionRevoked: "permission_revoked"
        case .policyReloaded: "policy_reloaded"
        }
    }

    /// Every kind with its word as bytes, by the word's length: reading the log compares a
    /// row's kind with at most four words, without a `String` per row.
    private static let wordsByLength: [[(kind: ChangeKind, word: [UInt8])]] = {
        let words = ChangeKind.allCases.map { (kind: $0, word: Array(word($0).utf8)) }
        var byLength = [[(kind: ChangeKind, word: [UInt8])]](repeating: [], count: words.map(\.word.count).max()! + 1)
        for entry in words { byLength[entry.word.count].append(entry) }
        return byLength
    }()

    static func encode(_ change: StateChange) -> (kind: String, user: String?, org: String?, key: String?) {
        let kind = change.kind
        let names = change.names
        return (word(kind), namesUser(kind) ? names.user : nil, namesOrganization(kind) ? names.organization : nil,
                namesKey(kind) ? names.key : nil)
    }

    /// The kind a stored word names; nil for a word this build does not know.
    static func kind(_ word: UnsafeRawBufferPointer) -> ChangeKind? {
        guard word.count < wordsByLength.count, let start = word.baseAddress else { return nil }
        return wordsByLength[word.count].first { entry in
            entry.word.withUnsafeBytes { memcmp($0.baseAddress!, start, word.count) == 0 }
        }?.kind
    }

    private static func namesUser(_ kind: ChangeKind) -> Bool {
        switch kind {
        case .userAdded, .userRemoved, .profileUpdated, .membershipAdded, .membershipRemoved,
             .roleAssigned, .roleUnassigned, .permissionGranted, .permissionRevoked: true
        case .organizationAdded, .organizationUpdated, .organizationRemoved, .policyReloaded: false
        }
    }

    private static func namesOrganization(_ kind: ChangeKind) -> Bool {
        switch kind {
        case .organizationAdded, .organizationUpdated, .organizationRemoved, .membershipAdded, .membershipRemoved,
             .roleAssigned, .roleUnassigned, .permissionGranted, .permissionRevoked: true
        case .userAdded, .userRemoved, .profileUpdated, .policyReloaded: false
        }
    }

    private static func namesKey(_ kind: ChangeKind) -> Bool {
        switch kind {
        case .roleAssigned, .roleUnassigned, .permissionGranted, .permissionRevoked: true
        default: false
        }
    }
}

extension ChangeKind {
    /// The word the change log stores for the kind (`role_assigned`), which `permd log` prints.
    public var logWord: String { ChangeLogRow.word(self) }
}
