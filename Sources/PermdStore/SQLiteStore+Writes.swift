import Foundation
import PermdCore
import PermdPolicy

/// The writes of an SQLite store: the rules (`WriteRules`) over this store's transaction.
extension SQLiteStore {
    /// Applies one write through the rules, inside the write transaction; what it changed
    /// goes to `pendingChanges`.
    func apply(_ write: Write) throws -> AppliedWrite {
        var rules = WriteRules(SQLiteTransaction(connection: connection), policy: policy)
        defer { pendingChanges += rules.changes }
        return try rules.apply(write)
    }

    // The rules the import decides by itself (`SQLiteStore+Import.swift`), from the one copy.

    func generateUserID() throws -> String {
        try WriteRules(SQLiteTransaction(connection: connection), policy: policy).generateUserID()
    }

    func checkID(_ text: String, _ what: String) throws { try WriteCheck.id(text, what) }

    func checkUserID(_ text: String) throws { try WriteCheck.userID(text) }

    func checkProfile(_ profile: UserProfile) throws { try WriteCheck.profile(profile) }

    func checkKey(_ text: String, _ what: String) throws { try WriteCheck.key(text, what) }

    func requireRole(_ key: String) throws { try WriteCheck.role(key, in: policy) }

    func requirePermission(_ key: String) throws { try WriteCheck.permission(key, in: policy) }
}

extension SQLiteStatement {
    /// Binds `values`, and returns the first column of the first row as text (nil when no row).
    func firstText(_ values: [SQLiteValue]) throws(StoreError) -> String? {
        try bind(values)
        defer { reset() }
        return try step() ? optionalText(0) : nil
    }
}
