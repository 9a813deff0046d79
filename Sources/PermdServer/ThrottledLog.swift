import Logging
import NIOCore
import Synchronization

/// When to log a repeated event so that a flood of them (wrong tokens, failed accepts)
/// costs at most one line a second: the first at once, the ones that follow within the
/// second counted and logged together when it ends. Free of I/O and clocks: the caller
/// passes the time and carries out the actions.
struct LogThrottle {
    /// What to do with an event.
    enum EventAction: Equatable {
        /// Log it now, as a count of `count` (1, unless a line due is late).
        case log(count: Int)
        /// Count it; log the count at `deadline`, when this second ends.
        case logCountAt(NIODeadline)
        /// Count it; a line is already due at the end of this second.
        case none
    }

    /// The shortest time between two lines.
    let interval: TimeAmount
    /// When the current second ends; nil when nothing was logged within the last second.
    private var secondEnds: NIODeadline?
    /// Events counted since the last line.
    private(set) var pending = 0

    init(interval: TimeAmount = .seconds(1)) {
        self.interval = interval
    }

    /// An event happened at `now`.
    mutating func record(at now: NIODeadline) -> EventAction {
        if let secondEnds, now < secondEnds {
            pending += 1
            return pending == 1 ? .logCountAt(secondEnds) : .none
        }
        // Counted events whose line is late (its event loop was busy) go into this one.
        defer { pending = 0 }
        secondEnds = now + interval
        return .log(count: pending + 1)
    }

    /// The end of the second that `.logCountAt` named: the count to log (nil when none).
    mutating func secondEnded(at now: NIODeadline) -> Int? {
        // A late line's events were logged already; those counted since wait for theirs.
        guard pending > 0, let end = secondEnds, now >= end else { return nil }
        defer { pending = 0 }
        secondEnds = now + interval
        return pending
    }
}

/// A `LogThrottle` shared by every event loop: logs a repeated event at most one line a
/// second, each line with the count of events it stands for (`count=N`).
final class ThrottledLog: Sendable {
    private let logger: Logger
    private let level: Logger.Level
    private let message: Logger.Message
    private let state = Mutex<(throttle: LogThrottle, lastDetail: String?)>((LogThrottle(), nil))

    /// - Parameters:
    ///   - message: what each line says happened.
    ///   - level: the level of each line.
    init(_ message: Logger.Message, level: Logger.Level = .warning, logger: Logger) {
        self.message = message
        self.level = level
        self.logger = logger
    }

    /// Counts one event. `detail` (the latest one is logged) must never hold a secret.
    /// - Parameters:
    ///   - eventLoop: where a line due at the end of the second is scheduled.
    func record(_ detail: String?, on eventLoop: any EventLoop) {
        let action = state.withLock { state in
            state.lastDetail = detail
            return state.throttle.record(at: .now())
        }
        switch action {
        case .log(let count):
            log(count: count, detail: detail)
        case .logCountAt(let deadline):
            eventLoop.scheduleTask(deadline: deadline) { [self] in
                let (count, detail) = state.withLock { state in
                    (state.throttle.secondEnded(at: .now()), state.lastDetail)
                }
                if let count { log(count: count, detail: detail) }
            }
        case .none:
            break
        }
    }

    private func log(count: Int, detail: String?) {
        var metadata: Logger.Metadata = ["count": "\(count)"]
        if let detail { metadata["last"] = "\(detail)" }
        logger.log(level: level, message, metadata: metadata)
    }
}
