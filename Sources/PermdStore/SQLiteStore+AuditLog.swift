public import PermdCore

/// The audit log of an SQLite store (SPEC §9): the `changes` rows with their revision's time
/// and actor (`revisions.logged_at`, `actor`, `actor_detail`, schema 4).
extension SQLiteStore {
    public func forEachAuditEntry(_ query: AuditQuery, _ body: (AuditEntry) -> Void) throws(StoreError) {
        // With a limit, newest first (so that the limit keeps the newest), turned oldest first
        // below. The changes after a revision begin at its successor's `first_seq` (as `readChanges`).
        let newest = query.limit != nil
        var limited: [AuditEntry] = []
        try readTransaction { () throws -> Void in
            try rows(
                """
                SELECT r.logged_at, c.revision, r.actor, r.actor_detail, c.kind, c.user, c.org, c.key
                FROM changes AS c JOIN revisions AS r ON r.revision = c.revision
                WHERE c.seq >= (SELECT min(first_seq) FROM revisions WHERE revision > ?1)
                  AND (?2 IS NULL OR c.user = ?2) AND (?3 IS NULL OR c.org = ?3)
                ORDER BY c.seq \(newest ? "DESC" : "ASC") LIMIT ?4
                """,
                [.integer(Int64(clamping: query.after)), .optional(query.user), .optional(query.organization),
                 .integer(Int64(query.limit ?? -1))]
            ) { row in
                let entry = AuditEntry(
                    time: row.optionalInteger(0), revision: UInt64(row.integer(1)),
                    actor: ChangeActor(stored: row.text(2), detail: row.optionalText(3)),
                    change: StateChange(ChangeLogRow.kind(row.bytes(4)) ?? .policyReloaded, user: row.optionalText(5) ?? "",
                                        organization: row.optionalText(6) ?? "", key: row.optionalText(7) ?? ""))
                if newest { limited.append(entry) } else { body(entry) }
            }
        }
        limited.reversed().forEach(body)
    }

    public func trimLog(loggedBefore cutoff: UnixMilliseconds) throws(StoreError) -> LogTrim {
        try writeTransaction { () throws -> LogTrim in
            let floor = UInt64(try connection.integer("SELECT value FROM meta WHERE key = 'log_floor'") ?? 0)
            guard let cut = try connection.integer("SELECT max(revision) FROM revisions WHERE logged_at < ?", .integer(cutoff)),
                  UInt64(cut) > floor else {
                return LogTrim(revisions: 0, floor: floor)
            }
            let trimmed = Int(try connection.integer("SELECT count(*) FROM revisions WHERE revision <= ?", .integer(cut)) ?? 0)
            // Change rows are in revision order (`seq`): those before the first kept revision's go.
            if let kept = try connection.integer("SELECT min(first_seq) FROM revisions WHERE revision > ?", .integer(cut)) {
                try connection.run("DELETE FROM changes WHERE seq < ?", .integer(kept))
            } else {
                try connection.run("DELETE FROM changes")
            }
            try connection.run("DELETE FROM revisions WHERE revision <= ?", .integer(cut))
            try connection.run("UPDATE meta SET value = ? WHERE key = 'log_floor'", .integer(cut))
            return LogTrim(revisions: trimmed, floor: UInt64(cut))
        }
    }
}
