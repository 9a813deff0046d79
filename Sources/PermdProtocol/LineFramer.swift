public import NIOCore

/// Finds request lines in a stream of bytes (SPEC §5): lines end with `\n` (`\r\n`
/// accepted), empty or all-space lines are skipped, and a line longer than the limit is
/// reported once and discarded up to its newline without being buffered.
///
/// A value-type state machine: the caller owns the inbound buffer and asks for the next
/// event until there is none; lines are slices of that buffer (nothing copied).
public struct LineFramer: Sendable {
    /// What the framer found next in the buffer.
    public enum Event: Sendable, Equatable {
        /// A request line, without its terminator.
        case line(ByteBuffer)
        /// A line longer than the limit: answer `ERR TOO_LONG` once.
        case tooLong
    }

    /// The longest line accepted, in bytes, not counting the terminator.
    public let maxLineLength: Int
    /// Bytes after the reader index already searched for a newline (so a line that
    /// arrives in pieces is scanned once).
    private var scanned = 0
    /// Whether the rest of an overlong line is being thrown away.
    private var discarding = false

    /// Whether the framer is throwing away the rest of an overlong line (no line starts at
    /// the reader index until its newline).
    var isDiscarding: Bool { discarding }

    /// Lines were consumed from the buffer by another reader of it (`takePlainChecks`):
    /// what was scanned for a newline belonged to them.
    mutating func lineTaken() { scanned = 0 }

    /// - Parameter maxLineLength: the longest line accepted, in bytes (at least 1).
    public init(maxLineLength: Int) {
        precondition(maxLineLength > 0, "the line limit must be positive")
        self.maxLineLength = maxLineLength
    }

    /// The next line or overlong-line report in `buffer`, consuming what it covers;
    /// nil when the buffer holds no complete line yet.
    public mutating func next(in buffer: inout ByteBuffer) -> Event? {
        while true {
            let view = buffer.readableBytesView
            guard let newline = view[(view.startIndex + scanned)...].firstIndex(of: UInt8(ascii: "\n")) else {
                return waitForNewline(in: &buffer)
            }
            let consumed = newline - view.startIndex + 1
            scanned = 0
            if discarding {
                discarding = false
                buffer.moveReaderIndex(forwardBy: consumed)
                continue
            }
            var length = consumed - 1
            if length > 0 && view[newline - 1] == UInt8(ascii: "\r") { length -= 1 }
            if length > maxLineLength {
                buffer.moveReaderIndex(forwardBy: consumed)
                return .tooLong
            }
            if let line = Self.take(length: length, consumed: consumed, from: &buffer) {
                return .line(line)
            }
        }
    }

    /// At the end of the input: the unterminated bytes left in `buffer`, as a last line
    /// (a client that half-closes after its last request still gets an answer).
    public mutating func finish(in buffer: inout ByteBuffer) -> Event? {
        if let event = next(in: &buffer) { return event }
        let remaining = buffer.readableBytes
        scanned = 0
        if discarding {
            discarding = false
            buffer.moveReaderIndex(forwardBy: remaining)
            return nil
        }
        var length = remaining
        if length > 0 && buffer.readableBytesView.last == UInt8(ascii: "\r") { length -= 1 }
        if length > maxLineLength {
            buffer.moveReaderIndex(forwardBy: remaining)
            return .tooLong
        }
        return Self.take(length: length, consumed: remaining, from: &buffer).map(Event.line)
    }

    /// No newline yet: keep the bytes, or report and drop them once they exceed the limit.
    private mutating func waitForNewline(in buffer: inout ByteBuffer) -> Event? {
        let available = buffer.readableBytes
        if discarding {
            buffer.moveReaderIndex(forwardBy: available)
            scanned = 0
            return nil
        }
        // One byte of slack: a line of exactly the limit may still be waiting for `\r\n`.
        if available > maxLineLength + 1 {
            buffer.moveReaderIndex(forwardBy: available)
            scanned = 0
            discarding = true
            return .tooLong
        }
        scanned = available
        return nil
    }

    /// Consumes `consumed` bytes; returns the first `length` of them unless they are blank.
    private static func take(length: Int, consumed: Int, from buffer: inout ByteBuffer) -> ByteBuffer? {
        let isBlank = buffer.readableBytesView.prefix(length).allSatisfy { $0 == UInt8(ascii: " ") }
        defer { buffer.moveReaderIndex(forwardBy: consumed - (isBlank ? 0 : length)) }
        return isBlank ? nil : buffer.readSlice(length: length)
    }
}
