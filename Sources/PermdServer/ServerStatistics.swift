import Synchronization

/// Counters for `STATS`, shared by every connection (each connection adds its counts
/// once per read burst, not once per request).
final class ServerStatistics: Sendable {
    let connections = Atomic<Int>(0)
    let checks = Atomic<Int>(0)
    let allows = Atomic<Int>(0)
    let denies = Atomic<Int>(0)
    /// Requests, errors, reloads and commits, for `/metrics`.
    let operations = OperationCounters()
    let started = ContinuousClock.now

    /// Seconds since the server started.
    var uptimeSeconds: Int64 { (ContinuousClock.now - started).components.seconds }
}
