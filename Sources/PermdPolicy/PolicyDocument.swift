public import PermdCore
public import PermdJSON

/// One policy file, parsed: its path as the user gave it and its JSON root.
public struct PolicyDocument: Sendable {
    /// The file's path, as diagnostics print it (`policies/roles.json`).
    public var file: String
    /// The parsed document.
    public var root: JSONValue

    /// - Parameters:
    ///   - file: the file's path, as diagnostics print it.
    ///   - root: the parsed document.
    public init(file: String, root: JSONValue) {
        self.file = file
        self.root = root
    }

    /// Parses a policy file's bytes with jansson. Malformed JSON, duplicate keys inside
    /// an object, bytes that are not UTF-8 and an empty file become one error with the
    /// line and column jansson gives, appended to `diagnostics`.
    /// - Returns: the document, or nil when the bytes are not one JSON value.
    public static func parse(file: String, bytes: [UInt8], diagnostics: inout [Diagnostic]) -> PolicyDocument? {
        do {
            return PolicyDocument(file: file, root: try JSONParser.parse(bytes))
        } catch {
            let blank = bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
            let message = blank
                ? "the file is empty: a policy file holds one JSON object"
                : "invalid JSON: \(error.message)"
            diagnostics.append(Diagnostic(
                file: file, line: error.line, column: error.column, severity: .error, message: message))
            return nil
        }
    }
}
