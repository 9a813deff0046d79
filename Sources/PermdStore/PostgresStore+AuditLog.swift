public import PermdCore

/// The changes of one revision a write transaction hands out, and who made them.
struct LoggedRevision {
    var changes: [StateChange]
    var actor: ChangeActor

    init(_ changes: [StateChange], by actor: ChangeActor) {
        self.changes = changes
        self.actor = actor
    }
}

/// The audit log of a PostgreSQL store (SPEC §9): `permd.changes` with one `permd.revisions`
/// row per revision saying when (the database's clock at the write) and by whom.
extension PostgresStore {
    /// Rows per statement when logging revisions: three parameters each.
    static let revisionsPerStatement = 1000

    /// Logs who made the revisions after `base`, one per actor in order, stamped now.
    static func logRevisions(_ actors: [ChangeActor], after base: UInt64,
                             in connection: PostgresConnection) throws(PostgresError) {
        var start = 0
        while start < actors.count {
            let chunk = actors[start..<min(start + revisionsPerStatement, actors.count)]
            var values: [String] = []
            var parameters: [PostgresValue] = []
            for (offset, actor) in zip(chunk.indices, chunk) {
                let (name, detail) = actor.stored
                let first = parameters.count
                values.append("($\(first + 1)::bigint, clock_timestamp(), $\(first + 2), $\(first + 3))")
                parameters += [.integer(Int64(base) + Int64(offset) + 1), .text(name), .optional(detail)]
            }
            try connection.query(
                "INSERT INTO permd.revisions (revision, logged_at, actor, actor_detail) VALUES " + values.joined(separator: ", "),
                parameters: parameters)
            start += chunk.count
        }
    }

    public func forEachAuditEntry(_ query: AuditQuery, _ body: (AuditEntry) -> Void) throws(StoreError) {
        // With a limit, newest first (so that the limit keeps the newest), turned oldest first
        // below; without one, streamed oldest first (single-row mode).
        let newest = query.limit != nil
        let limited = try reading { connection throws(PostgresError) -> [AuditEntry] in
            var limited: [AuditEntry] = []
            let order = newest ? "DESC" : "ASC"
            try connection.forEachRow(
                """
                SELECT floor(extract(epoch FROM r.logged_at) * 1000)::bigint, c.revision, coalesce(r.actor, 'unknown'),
                       r.actor_detail, c.kind, c.user_id, c.org, c.key
                FROM permd.changes AS c LEFT JOIN permd.revisions AS r ON r.revision = c.revision
                WHERE c.revision > $1 AND ($2::text IS NULL OR c.user_id = $2::text) AND ($3::text IS NULL OR c.org = $3::text)
                ORDER BY c.revision \(order), c.seq \(order) LIMIT $4::bigint
                """,
                parameters: [.integer(Int64(clamping: query.after)), .optional(query.user), .optional(query.organization),
                             query.limit.map { .integer(Int64($0)) } ?? .null]
            ) { row in
                let entry = AuditEntry(
                    time: row.integer(0), revision: UInt64(row.integer(1) ?? 0),
                    actor: ChangeActor(stored: row.text(2) ?? "unknown", detail: row.text(3)),
                    change: StateChange(ChangeLogRow.kind(row.bytes(4)) ?? .policyReloaded, user: row.text(5) ?? "",
                                        organization: row.text(6) ?? "", key: row.text(7) ?? ""))
                if newest { limited.append(entry) } else { body(entry) }
            }
            return limited
        }
        limited.reversed().forEach(body)
    }

    public func trimLog(loggedBefore cutoff: UnixMilliseconds) throws(StoreError) -> LogTrim {
        try writeTransaction { transaction, _ in
            let connection = transaction.connection
            let floor = UInt64(try connection.integer("SELECT log_floor FROM permd.revision") ?? 0)
            guard let cut = try connection.integer(
                "SELECT max(revision) FROM permd.revisions WHERE logged_at < to_timestamp($1::double precision / 1000)",
                .integer(cutoff)), UInt64(cut) > floor else {
                return LogTrim(revisions: 0, floor: floor)
            }
            let trimmed = try connection.integer(
                "WITH gone AS (DELETE FROM permd.revisions WHERE revision <= $1 RETURNING 1) SELECT count(*) FROM gone",
                .integer(cut)) ?? 0
            try connection.query("DELETE FROM permd.changes WHERE revision <= $1", .integer(cut))
            // The floor row last: its lock, which every commit takes, is held only to the end.
            // Another replica may have trimmed further meanwhile: the floor never goes down.
            let raised = try connection.integer(
                "UPDATE permd.revision SET log_floor = greatest(log_floor, $1) RETURNING log_floor", .integer(cut)) ?? cut
            return LogTrim(revisions: Int(trimmed), floor: UInt64(raised))
        }.value
    }
}
