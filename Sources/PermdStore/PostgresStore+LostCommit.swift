import Foundation
import Logging

/// What tells, once the answer to a COMMIT was lost with the connection, whether the
/// transaction committed: its transaction id, the backend that ran it, and whether it took
/// revisions — read in the transaction's last statement (`columns`), so no round trip is added.
struct CommitTicket {
    /// The columns that statement adds: the transaction id, if the transaction has one (it
    /// wrote something), and the xmin of the revision row it reads or updates.
    static let columns = "pg_current_xact_id_if_assigned()::text, xmin::text"

    /// The full (epoch-extended) transaction id, `xid8`.
    let transactionID: UInt64
    /// The last revision the transaction handed out (or the current one).
    let revision: UInt64
    /// Whether the transaction bumped the revision counter (the row's xmin is its own id).
    let tookRevisions: Bool
    /// The server process that ran it.
    let backend: Int32

    /// Nil when the transaction has no id: it wrote nothing, so a lost COMMIT stored nothing.
    init?(_ row: PostgresRow, revision: UInt64, backend connection: PostgresConnection) {
        guard let text = row.text(1), let id = UInt64(text) else { return nil }
        transactionID = id
        self.revision = revision
        tookRevisions = row.text(2) == String(id & 0xffff_ffff)
        backend = connection.backendProcessID
    }

    /// The 32-bit id that `xmin` and `pg_stat_activity.backend_xid` show.
    var shortID: String { String(transactionID & 0xffff_ffff) }
}

extension PostgresStore {
    /// How long permd keeps asking whether a commit whose answer was lost happened (the
    /// database out of reach, or the transaction still ending) before it answers "unknown".
    static let settleTime: Duration = .seconds(5)

    /// What the database says about a transaction whose COMMIT lost its answer.
    private enum CommitStatus {
        case committed, aborted, running, unknown
    }

    /// Finds out whether the transaction of `ticket` committed after the connection was lost
    /// during its COMMIT (SPEC §8: `ERR UNAVAILABLE` means nothing was stored, so it must
    /// not be answered for a commit that happened). On a fresh connection: `pg_xact_status`;
    /// while the old backend still runs the transaction (the COMMIT never arrived, or it is
    /// still ending), that backend is terminated and the status asked again.
    /// - Returns: when it committed (the caller answers the outcomes); the fresh connection
    ///   becomes the store's.
    /// - Throws: `lost` (as a `StoreError`: unavailable, nothing stored) when it did not
    ///   commit; `.commitOutcomeUnknown` when the database could not tell within `settleTime`.
    func settleLostCommit(_ ticket: CommitTicket?, lost: PostgresError) throws(StoreError) {
        guard let ticket else { throw storeError(lost) }
        let clock = ContinuousClock()
        let deadline = clock.now + Self.settleTime
        var pause = 0.02
        var fresh: PostgresConnection?
        var lastFailure = lost
        while true {
            var status = CommitStatus.running
            do {
                let connection: PostgresConnection
                if let fresh { connection = fresh } else { connection = try PostgresConnection(location) }
                fresh = connection
                status = try Self.status(of: ticket, on: connection)
                if status == .running {
                    try connection.query("""
                        SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND backend_xid::text = $2
                        """, .integer(Int64(ticket.backend)), .text(ticket.shortID))
                }
            } catch {
                fresh = nil
                lastFailure = error
            }
            switch status {
            case .committed, .aborted:
                if let fresh { adopt(fresh) }
                logger.warning("the connection was lost during COMMIT; asked the database what became of it", metadata: [
                    "committed": "\(status == .committed)", "revision": "\(ticket.revision)", "error": "\(lost.message)"])
                if status == .committed { return }
                throw storeError(lost)
            case .unknown:
                throw outcomeUnknown("the database no longer knows the transaction", lost: lost)
            case .running:
                guard clock.now < deadline else {
                    throw outcomeUnknown("the database could not tell within \(Self.settleTime) (\(lastFailure.message))",
                                         lost: lost)
                }
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 0.5)
            }
        }
    }

    /// The transaction's status; a transaction that says committed but has no change row of
    /// its own at its revision is another one that got the same id after a crash (PostgreSQL
    /// hands out again the ids whose records the crash lost), so ours did not commit.
    private static func status(of ticket: CommitTicket, on connection: PostgresConnection) throws(PostgresError)
        -> CommitStatus
    {
        let result: PostgresResult
        do {
            result = try connection.query("SELECT pg_xact_status($1::text::xid8)", .text(String(ticket.transactionID)))
        } catch where error.sqlState == "22023" {
            // "transaction ID … is in the future": a crash lost it, and it was not handed out again yet.
            return .aborted
        }
        switch result[0].text(0) {
        case "committed":
            guard ticket.tookRevisions else { return .committed }
            let own = try connection.integer("""
                SELECT count(*) FROM permd.changes WHERE revision = $1 AND xmin::text = $2
                """, .integer(Int64(ticket.revision)), .text(ticket.shortID))
            return own ?? 0 > 0 ? .committed : .aborted
        case "aborted": return .aborted
        case "in progress": return .running
        default: return .unknown
        }
    }

    private func outcomeUnknown(_ why: String, lost: PostgresError) -> StoreError {
        StoreError(.commitOutcomeUnknown, path: location.description, message:
            "the connection was lost during COMMIT (\(lost.message)) and \(why): the write may or may not be stored; read it back")
    }
}
