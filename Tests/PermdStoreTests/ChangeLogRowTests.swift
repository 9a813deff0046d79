import PermdCore
@testable import PermdStore
import Testing

/// The stored form of each change: the log is read back by its kind word as bytes (no
/// `String` per row), so every kind must read back as itself, names included.
@Test(arguments: ChangeKind.allCases)
func everyChangeKindReadsBackFromItsStoredRow(kind: ChangeKind) throws {
    let change = StateChange(kind, user: "ana", organization: "org_acme", key: "billing-admin")
    #expect(change.kind == kind)
    let row = ChangeLogRow.encode(change)
    let read = try #require(withBytes(row.kind) { ChangeLogRow.kind($0) })
    #expect(read == kind)
    #expect(StateChange(read, user: row.user ?? "", organization: row.org ?? "", key: row.key ?? "") == change)
}

@Test func anUnknownKindWordIsNotAKind() {
    for word in ["", "user_adde", "user_addedx", "USER_ADDED", "membership_added "] {
        #expect(withBytes(word) { ChangeLogRow.kind($0) } == nil, "\(word)")
    }
}
