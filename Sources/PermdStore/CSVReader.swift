import PermdCore

/// A malformed record in a CSV file, at the line where the record starts.
public struct CSVError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The 1-based line on which the record (or the quoted field) starts.
    public var line: Int
    public var message: String

    /// - Parameters:
    ///   - line: the 1-based line of the problem.
    ///   - message: what is wrong.
    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "\(line): \(message)" }
}

/// Reads RFC 4180 CSV from bytes, one record at a time, without copying fields.
///
/// Fields may be quoted (`"a, b"`), hold doubled quotes (`"say ""hi"""`) and line breaks
/// inside quotes. Lines end with LF or CRLF (a lone CR counts too); a leading UTF-8 BOM is
/// skipped; empty lines between records are skipped. A quote inside an unquoted field is
/// taken literally (`5'10"`), as most CSV writers expect.
///
/// The reader works on the bytes and remembers each field as a span; text is made only
/// when the caller asks for a field, so a million rows read in well under a second
/// (release build). A malformed record throws a `CSVError` after the reader has moved past
/// it, so the caller can report it and read on.
public struct CSVReader {
    private struct Span {
        var start: Int
        var end: Int
        /// The field holds doubled quotes, which `string(at:)` turns into single ones.
        var hasDoubledQuotes: Bool
    }

    private let bytes: [UInt8]
    private var position = 0
    private var nextLine = 1
    private var spans: [Span] = []

    /// The line on which the current record starts (1 for the first line of the file).
    public private(set) var line = 0
    /// When set, a record with another number of fields is an error (the header's count).
    public var expectedFieldCount: Int?

    /// - Parameter bytes: the whole file; a leading UTF-8 byte order mark is skipped.
    public init(bytes: [UInt8]) {
        self.bytes = bytes
        if bytes.starts(with: CSVReader.byteOrderMark) {
            position = CSVReader.byteOrderMark.count
        }
    }

    static let byteOrderMark = ByteOrderMark.utf8

    /// How many bytes of the input have been read (for progress reports).
    public var bytesRead: Int { position }
    /// The size of the input in bytes.
    public var totalBytes: Int { bytes.count }
    /// The number of fields in the current record.
    public var fieldCount: Int { spans.count }

    /// Reads the next record. Returns false at the end of the input.
    ///
    /// Throws for an unclosed quote, text after a closing quote, or a field count other
    /// than `expectedFieldCount`; the reader has then moved past the bad record.
    public mutating func nextRecord() throws(CSVError) -> Bool {
        spans.removeAll(keepingCapacity: true)
        skipEmptyLines()
        guard position < bytes.count else { return false }
        line = nextLine
        if let problem = readFields() {
            throw problem
        }
        if let expected = expectedFieldCount, spans.count != expected {
            let which = spans.count > expected ? "too many" : "too few"
            throw CSVError(line: line, message: "\(which) fields: \(spans.count), but the header has \(expected)")
        }
        return true
    }

    /// The text of field `index` of the current record; nil when it is not valid UTF-8.
    public func string(at index: Int) -> String? {
        let span = spans[index]
        return bytes.withUnsafeBufferPointer { buffer in
            let raw = UnsafeBufferPointer(rebasing: buffer[span.start..<span.end])
            guard span.hasDoubledQuotes else {
                return String(validating: raw, as: UTF8.self)
            }
            var unescaped: [UInt8] = []
            unescaped.reserveCapacity(raw.count)
            var i = 0
            while i < raw.count {
                unescaped.append(raw[i])
                i += raw[i] == CSVByte.quote ? 2 : 1
            }
            return String(validating: unescaped, as: UTF8.self)
        }
    }

    /// Whether field `index` of the current record is empty.
    public func isEmpty(at index: Int) -> Bool {
        spans[index].start == spans[index].end
    }

    private mutating func skipEmptyLines() {
        while position < bytes.count, let length = lineBreakLength(at: position) {
            position += length
            nextLine += 1
        }
    }

    /// The length of the line break at `offset` (1 for LF or a lone CR, 2 for CRLF), or nil.
    private func lineBreakLength(at offset: Int) -> Int? {
        switch bytes[offset] {
        case CSVByte.lineFeed:
            return 1
        case CSVByte.carriageReturn:
            return offset + 1 < bytes.count && bytes[offset + 1] == CSVByte.lineFeed ? 2 : 1
        default:
            return nil
        }
    }

    /// Reads the fields of one record into `spans`; returns the problem, if any, after
    /// moving to the start of the next record.
    private mutating func readFields() -> CSVError? {
        let count = bytes.count
        var p = position
        var problem: CSVError?
        var newlines = 0
        bytes.withUnsafeBufferPointer { buffer in
            fields: while true {
                if p < count && buffer[p] == CSVByte.quote {
                    let fieldLine = nextLine + newlines
                    let start = p + 1
                    var q = start
                    var doubled = false
                    var closed = false
                    while q < count {
                        let byte = buffer[q]
                        if byte == CSVByte.quote {
                            if q + 1 < count && buffer[q + 1] == CSVByte.quote {
                                doubled = true
                                q += 2
                                continue
                            }
                            closed = true
                            break
                        }
                        if byte == CSVByte.lineFeed
                            || (byte == CSVByte.carriageReturn && !(q + 1 < count && buffer[q + 1] == CSVByte.lineFeed)) {
                            newlines += 1
                        }
                        q += 1
                    }
                    guard closed else {
                        problem = CSVError(
                            line: fieldLine,
                            message: "unclosed quote: the quoted field that starts here runs to the end of the file")
                        p = count
                        break fields
                    }
                    spans.append(Span(start: start, end: q, hasDoubledQuotes: doubled))
                    p = q + 1
                    if p >= count { break fields }
                    switch buffer[p] {
                    case CSVByte.comma:
                        p += 1
                        continue fields
                    case CSVByte.lineFeed, CSVByte.carriageReturn:
                        break fields
                    default:
                        problem = CSVError(
                            line: fieldLine,
                            message: "unexpected text after a closing quote (inside quotes, write a quote as \"\")")
                        while p < count && buffer[p] != CSVByte.lineFeed && buffer[p] != CSVByte.carriageReturn {
                            p += 1
                        }
                        break fields
                    }
                } else {
                    let start = p
                    while p < count {
                        let byte = buffer[p]
                        if byte == CSVByte.comma || byte == CSVByte.lineFeed || byte == CSVByte.carriageReturn { break }
                        p += 1
                    }
                    spans.append(Span(start: start, end: p, hasDoubledQuotes: false))
                    if p < count && buffer[p] == CSVByte.comma {
                        p += 1
                        continue fields
                    }
                    break fields
                }
            }
        }
        nextLine += newlines
        position = p
        if position < count, let length = lineBreakLength(at: position) {
            position += length
            nextLine += 1
        }
        return problem
    }
}

/// The bytes that shape CSV.
enum CSVByte {
    static let quote = UInt8(ascii: "\"")
    static let comma = UInt8(ascii: ",")
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
}
