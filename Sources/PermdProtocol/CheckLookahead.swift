#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The user words of the `CHECK` lines at the start of a buffer of received bytes, found
/// without framing or decoding the lines: what lets the server start the index lookups of
/// a pipelined burst's CHECKs before it answers the first (the answers still come from the
/// framed, decoded lines, in order).
///
/// A hint, never an answer: a line it misreads (one longer than the limit, a malformed
/// one) only loses its early start.
public enum CheckLookahead {
    /// Calls `body` with the user word of each `CHECK` line (command compared
    /// case-insensitively) among the first `maxLines` complete lines of `bytes`; returns how
    /// many complete lines it looked at.
    @inline(__always)
    public static func forEachUser(in bytes: UnsafeRawBufferPointer, maxLines: Int,
                                   _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        var start = 0
        var lines = 0
        while lines < maxLines, start < bytes.count,
              let newline = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) {
            let end = UnsafeRawPointer(newline) - base
            var words = Words(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            if let command = words.next(), isCheck(command), let user = words.next() {
                // A CRLF line's last word ends with the CR; the user word never is the last.
                body(user)
            }
            lines &+= 1
            start = end &+ 1
        }
        return lines
    }

    /// Whether `word` is `CHECK` in any case.
    @inline(__always)
    static func isCheck(_ word: UnsafeRawBufferPointer) -> Bool {
        guard word.count == 5 else { return false }
        // ASCII letters differ from their lowercase by bit 5 only.
        return word[0] | 0x20 == UInt8(ascii: "c") && word[1] | 0x20 == UInt8(ascii: "h")
            && word[2] | 0x20 == UInt8(ascii: "e") && word[3] | 0x20 == UInt8(ascii: "c")
            && word[4] | 0x20 == UInt8(ascii: "k")
    }
}
