/// Writes CSV fields as RFC 4180 asks: quoted only when they must be.
enum CSVWriter {
    /// `value` as one CSV field: quoted when it holds a comma, a quote or a line break
    /// (quotes then doubled), or starts or ends with a space (so that readers that trim keep it).
    static func field(_ value: String) -> String {
        var needsQuotes = false
        for byte in value.utf8
        where byte == CSVByte.comma || byte == CSVByte.quote || byte == CSVByte.lineFeed
            || byte == CSVByte.carriageReturn {
            needsQuotes = true
            break
        }
        if value.utf8.first == UInt8(ascii: " ") || value.utf8.last == UInt8(ascii: " ") {
            needsQuotes = true
        }
        guard needsQuotes else { return value }
        var quoted = "\""
        for character in value.unicodeScalars {
            if character == "\"" { quoted += "\"\"" } else { quoted.unicodeScalars.append(character) }
        }
        return quoted + "\""
    }

    /// One CSV line (ending in LF) from its fields.
    static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\n"
    }
}
