public import NIOCore
import PermdCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `CHECK` line in its plainest form — `CHECK <user> <org> <perm>`, one space between
/// words, nothing else on the line — which is nearly every request a sidecar sends. Its
/// words are found in one pass over the received bytes, without framing the line as a
/// buffer, parsing it into a `RequestLine` or decoding a `Request`.
///
/// A shortcut, never a different answer: a line it takes is one the general path reads as
/// the same `CHECK` with the same three words (`PlainCheckTests` compares the two). Any
/// other line — more permissions, more spaces, a tab, a word too long or with a byte
/// outside printable ASCII, a blank line — is left to `LineFramer.next(in:)`.
public struct PlainCheck {
    /// The user word.
    public let user: UnsafeRawBufferPointer
    /// The organization word.
    public let organization: UnsafeRawBufferPointer
    /// The permission word.
    public let permission: UnsafeRawBufferPointer

    /// The plain CHECK on `line` (without its terminator), or nil when it is anything else.
    @inline(__always)
    public static func parse(_ line: UnsafeRawBufferPointer) -> PlainCheck? {
        let count = line.count
        // "CHECK" and a space, then three words of at least one byte, two spaces between them.
        guard count >= 11, line[5] == UInt8(ascii: " "),
              CheckLookahead.isCheck(UnsafeRawBufferPointer(rebasing: line[0..<5])) else { return nil }
        var start = 6
        guard let user = word(in: line, from: &start, last: false),
              let organization = word(in: line, from: &start, last: false),
              let permission = word(in: line, from: &start, last: true) else { return nil }
        return PlainCheck(user: user, organization: organization, permission: permission)
    }

    /// The word starting at `start` — 1 to `Identifier.maxIDLength` identifier bytes, then a
    /// single space (or, for the last word, the end of the line) — moving `start` past it.
    @inline(__always)
    static func word(in line: UnsafeRawBufferPointer, from start: inout Int, last: Bool) -> UnsafeRawBufferPointer? {
        let first = start
        var index = start
        let end = line.count
        while index < end, Identifier.isIDByte(line[index]) { index &+= 1 }
        let length = index &- first
        guard length > 0, length <= Identifier.maxIDLength else { return nil }
        if last {
            guard index == end else { return nil }
        } else {
            guard index < end, line[index] == UInt8(ascii: " ") else { return nil }
            start = index &+ 1
        }
        return UnsafeRawBufferPointer(rebasing: line[first..<index])
    }
}

extension LineFramer {
    /// Takes the plain CHECK lines (`PlainCheck`) at the start of `buffer`, at most
    /// `maxLines`, calling `body` with each in order, and consumes them; stops at the first
    /// line that is anything else, or incomplete, leaving it for `next(in:)`. Returns how
    /// many it took.
    ///
    /// The words passed to `body` point into `buffer` and are valid only during the call.
    @inline(__always)
    public mutating func takePlainChecks(in buffer: inout ByteBuffer, maxLines: Int,
                                         _ body: (PlainCheck) -> Void) -> Int {
        guard !isDiscarding, maxLines > 0 else { return 0 }
        let limit = maxLineLength
        let (taken, consumed) = buffer.withUnsafeReadableBytes { bytes -> (Int, Int) in
            guard let base = bytes.baseAddress else { return (0, 0) }
            var start = 0
            var taken = 0
            while taken < maxLines, start < bytes.count,
                  let newline = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) {
                let lineEnd = UnsafeRawPointer(newline) - base
                var end = lineEnd
                if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                guard end - start <= limit,
                      let check = PlainCheck.parse(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) else { break }
                body(check)
                taken &+= 1
                start = lineEnd &+ 1
            }
            return (taken, start)
        }
        if taken > 0 {
            buffer.moveReaderIndex(forwardBy: consumed)
            lineTaken()
        }
        return taken
    }
}
