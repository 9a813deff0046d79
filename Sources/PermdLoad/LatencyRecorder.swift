import Histogram
import Synchronization

/// The run's latency histogram (HdrHistogram, nanoseconds, three significant digits). A
/// connection hands over its latencies in batches, so that a thousand connections share one
/// histogram and take its lock once per batch, not once per request.
final class LatencyRecorder: Sendable {
    /// Latencies a connection keeps before handing them over.
    static let batchSize = 512

    /// The largest latency told apart; a longer one counts as this long (an hour).
    static let highestTrackable: UInt64 = 3_600_000_000_000

    private let histogram = Mutex(Histogram<UInt64>(highestTrackableValue: LatencyRecorder.highestTrackable))

    /// Adds a batch of latencies (nanoseconds).
    func record(_ latencies: [UInt64]) {
        histogram.withLock { histogram in
            for latency in latencies {
                _ = histogram.record(min(latency, Self.highestTrackable))
            }
        }
    }

    /// A copy of everything recorded so far.
    var snapshot: Histogram<UInt64> {
        histogram.withLock { $0 }
    }
}

/// What a connection has done so far, read by the progress line once a second. Each
/// connection has its own, padded to a cache line of its own, so that connections on
/// different cores do not invalidate each other's line at every answer.
final class ConnectionCounters: Sendable {
    /// Answers received.
    let completed = Atomic<Int>(0)
    /// Answers that did not pass their check.
    let mismatches = Atomic<Int>(0)
    private let padding = (0, 0, 0, 0, 0, 0, 0, 0)
}

/// Prints the first few mismatches as they happen (standard error), and counts the rest.
final class MismatchLog: Sendable {
    /// How many mismatches are printed.
    static let printed = 5

    private let count = Atomic<Int>(0)

    /// Reports one mismatch: printed when it is among the first `printed`.
    func report(request: String, expected: ReplyCheck, dialect: Dialect, received: UnsafeRawBufferPointer) {
        guard count.wrappingAdd(1, ordering: .relaxed).oldValue < Self.printed else { return }
        printError("permd-load: mismatch: \(request): expected \(Self.describe(expected, dialect)), got \(Self.quoted(received))")
    }

    private static func describe(_ check: ReplyCheck, _ dialect: Dialect) -> String {
        switch check {
        case .exact(let bytes): bytes.withUnsafeBytes { quoted($0) }
        case .members(let members): "a set of \(members.count) members: \(members.joined(separator: " "))"
        case .revision: "\"OK <revision>\""
        case .notError: "an answer that is not an error"
        }
    }

    /// The reply as a quoted line: its terminator dropped, other control bytes escaped.
    private static func quoted(_ bytes: UnsafeRawBufferPointer) -> String {
        var end = bytes.count
        while end > 0 && (bytes[end - 1] == 10 || bytes[end - 1] == 13) { end -= 1 }
        var text = "\""
        for byte in bytes[..<end] {
            switch byte {
            case 13: text += "\\r"
            case 10: text += "\\n"
            case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + String(byte, radix: 16)
            }
        }
        return text + "\""
    }
}
