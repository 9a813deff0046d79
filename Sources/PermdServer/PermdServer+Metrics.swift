import PermdIndex
import PermdPolicy
import PermdProtocol
import Synchronization

extension PermdServer {
    /// Writes the server's series (SPEC §9) into a scrape. Reads atomics and the current
    /// snapshot only: a scrape never waits for the writer or an event loop.
    func writeMetrics(into text: inout PrometheusText) {
        let statistics = shared.statistics
        let counters = statistics.operations
        let snapshot = shared.publisher.latest.snapshot
        let index = snapshot.statistics

        text.family("permd_requests_total", .counter, help: "Request lines read, by command (a line that does not parse, such as an unknown command or a wrong number of words, is counted in permd_errors_total only).")
        for command in Command.allCases {
            text.sample("permd_requests_total", labels: [("command", command.word)], counters.requests[Int(command.rawValue)].value)
        }
        text.family("permd_checks_total", .counter, help: "Permissions decided by CHECK (one line may ask several), by result.")
        text.sample("permd_checks_total", labels: [("result", "allow")], statistics.allows.load(ordering: .relaxed))
        text.sample("permd_checks_total", labels: [("result", "deny")], statistics.denies.load(ordering: .relaxed))
        text.family("permd_errors_total", .counter, help: "ERR replies sent, by code.")
        for (slot, code) in ErrorCode.known.enumerated() {
            text.sample("permd_errors_total", labels: [("code", code.rawValue)], counters.errors[slot].value)
        }
        text.family("permd_connections", .gauge, help: "Open line-protocol connections (TCP and Unix socket).")
        text.sample("permd_connections", statistics.connections.load(ordering: .relaxed))
        text.family("permd_revision", .gauge, help: "The database revision the served index includes.")
        text.sample("permd_revision", Double(snapshot.revision))
        text.family("permd_index_bytes", .gauge, help: "Memory held by the served index, in bytes.")
        text.sample("permd_index_bytes", index.indexBytes)
        text.family("permd_index_memberships", .gauge, help: "Memberships (user in organization) in the served index.")
        text.sample("permd_index_memberships", index.memberships)
        text.family("permd_index_build_seconds", .gauge, help: "How long the last full build of the index took, in seconds.")
        text.sample("permd_index_build_seconds", index.buildMilliseconds / 1000)
        text.family("permd_write_commit_seconds", .histogram,
                    help: "Batches of writes (and RELOADs) the writer carried out: from taking the batch to publishing the index that includes it, in seconds.")
        text.histogram("permd_write_commit_seconds", bounds: counters.commits.bounds, reading: counters.commits.reading)
        text.family("permd_reloads_total", .counter,
                    help: "RELOAD and SIGHUP, by result: ok, invalid (the policies do not load; the old ones serve), failed (the database was out of reach).")
        text.sample("permd_reloads_total", labels: [("result", "ok")], counters.reloadsOK.value)
        text.sample("permd_reloads_total", labels: [("result", "invalid")], counters.reloadsInvalid.value)
        text.sample("permd_reloads_total", labels: [("result", "failed")], counters.reloadsFailed.value)
        text.family("permd_policy_info", .gauge, help: "Always 1; the digest label names the policy files served (first 12 hex digits of their SHA-256, as in STATS).")
        text.sample("permd_policy_info", labels: [("digest", snapshot.policy.digest ?? "none")], 1)
    }
}
