public import NIOCore

/// Encodes reply lines (SPEC §5): the frequent ones are pre-built, the rest are written
/// word by word into the caller's outbound buffer, always ended by one `\n`.
public enum Reply {
    public static let allow = ByteBuffer(string: "ALLOW\n")
    public static let deny = ByteBuffer(string: "DENY\n")
    public static let pong = ByteBuffer(string: "PONG\n")
    public static let ok = ByteBuffer(string: "OK\n")

    /// Writes `ALLOW` or `DENY` as one word of a multi-permission CHECK answer
    /// (`first` leaves out the separating space).
    @inlinable
    public static func writeDecision(_ allowed: Bool, first: Bool, into buffer: inout ByteBuffer) {
        if !first { buffer.writeInteger(UInt8(ascii: " ")) }
        if allowed {
            buffer.writeStaticString("ALLOW")
        } else {
            buffer.writeStaticString("DENY")
        }
    }

    /// Ends the current reply line.
    @inlinable
    public static func endLine(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// Writes `OK` followed by each item, space-separated.
    public static func writeOK(_ items: some Sequence<String>, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("OK")
        for item in items {
            buffer.writeInteger(UInt8(ascii: " "))
            writeSanitized(item, into: &buffer)
        }
        endLine(into: &buffer)
    }

    /// Writes `ERR <CODE> <message>`.
    public static func writeError(_ error: ProtocolError, into buffer: inout ByteBuffer) {
        writeLine(error.description, into: &buffer)
    }

    /// Writes a whole reply line; control bytes in it become spaces so that it stays one line.
    public static func writeLine(_ text: String, into buffer: inout ByteBuffer) {
        writeSanitized(text, into: &buffer)
        endLine(into: &buffer)
    }

    private static func writeSanitized(_ text: String, into buffer: inout ByteBuffer) {
        if text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            buffer.writeBytes(text.utf8.map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: " ") : $0 })
        } else {
            buffer.writeString(text)
        }
    }
}
