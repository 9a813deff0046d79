public import PermdIndex
public import PermdProtocol

/// What the writer thread drives: the state behind the index (the SQLite store in
/// production, an in-memory fixture in tests). Used from the writer thread only.
public protocol StateEngine: AnyObject {
    /// The snapshot that includes every change committed so far.
    var snapshot: IndexSnapshot { get }

    /// Commits the writes (and `RELOAD`s) together, in order — one transaction for the
    /// batch — and brings `snapshot` up to date; returns one reply line per request
    /// (without the newline), in request order.
    func perform(_ requests: [Request]) -> [String]

    /// Picks up changes committed by other processes; returns whether `snapshot` changed.
    func refresh() throws -> Bool
}
