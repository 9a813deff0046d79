import PermdCore
import PermdJSON

/// Reads the JSON objects of an import file: one object per line (NDJSON), or one JSON
/// array of objects. Each object is parsed on its own by jansson (through PermdJSON), so
/// a big file never becomes one big tree, and every object knows the line it starts on.
enum ImportJSONReader {
    /// Calls `body` with each object's line and members, in file order, until it returns
    /// false. Returns the syntax errors (each with its line; nothing is skipped silently).
    static func forEachObject(
        in bytes: [UInt8], file: String, progress: ImportProgress?,
        _ body: (_ line: Int, _ members: [JSONMember]) -> Bool
    ) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var records = 0
        let documents = isArray(bytes) ? arrayElements(bytes, file: file, diagnostics: &diagnostics) : lines(bytes)
        bytes.withUnsafeBytes { raw in
            for document in documents {
                let text = UnsafeRawBufferPointer(rebasing: raw[document.start..<document.end])
                let value: JSONValue
                do throws(JSONSyntaxError) {
                    value = try JSONParser.parse(text)
                } catch {
                    let line = document.line + error.line - 1
                    diagnostics.append(Diagnostic(
                        file: file, line: line, column: error.line == 1 ? document.column + error.column - 1 : error.column,
                        severity: .error, message: "invalid JSON: \(error.message)"))
                    continue
                }
                guard case .object(let members) = value else {
                    diagnostics.append(Diagnostic(
                        file: file, line: document.line, severity: .error,
                        message: "expected a JSON object for a user, found \(value.kindDescription)"))
                    continue
                }
                guard body(document.line, members) else { return }
                records += 1
                if let progress, records % importProgressInterval == 0 {
                    progress(records, document.end, bytes.count)
                }
            }
        }
        return diagnostics
    }

    /// A byte range holding one JSON document, and where it starts.
    struct Document {
        var start: Int
        var end: Int
        var line: Int
        var column: Int
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func firstContent(_ bytes: [UInt8]) -> Int {
        var start = bytes.starts(with: CSVReader.byteOrderMark) ? CSVReader.byteOrderMark.count : 0
        while start < bytes.count && isWhitespace(bytes[start]) { start += 1 }
        return start
    }

    private static func isArray(_ bytes: [UInt8]) -> Bool {
        let start = firstContent(bytes)
        return start < bytes.count && bytes[start] == UInt8(ascii: "[")
    }

    /// The non-blank lines of an NDJSON file.
    private static func lines(_ bytes: [UInt8]) -> [Document] {
        var documents: [Document] = []
        var start = bytes.starts(with: CSVReader.byteOrderMark) ? CSVReader.byteOrderMark.count : 0
        var line = 1
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var first = start
            while first < end && isWhitespace(bytes[first]) { first += 1 }
            var last = end
            while last > first && isWhitespace(bytes[last - 1]) { last -= 1 }
            if first < last {
                documents.append(Document(start: first, end: last, line: line, column: first - start + 1))
            }
            start = end + 1
            line += 1
        }
        return documents
    }

    /// The elements of a top-level JSON array, split at its commas. Strings and nesting are
    /// tracked so that commas and brackets inside them do not count; everything else is
    /// left to jansson, element by element.
    private static func arrayElements(_ bytes: [UInt8], file: String, diagnostics: inout [Diagnostic]) -> [Document] {
        var documents: [Document] = []
        var line = 1
        var lineStart = 0
        for i in 0..<firstContent(bytes) where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        var depth = 0
        var inString = false
        var escaped = false
        var current: Document?
        var closed = false
        var i = firstContent(bytes) + 1
        func finish(at end: Int) {
            guard var document = current else { return }
            var last = end
            while last > document.start && isWhitespace(bytes[last - 1]) { last -= 1 }
            document.end = last
            documents.append(document)
            current = nil
        }
        scan: while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\n") {
                line += 1
                lineStart = i + 1
            }
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            if depth == 0 && (byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]")) {
                if current == nil && (byte == UInt8(ascii: ",") || !documents.isEmpty) {
                    diagnostics.append(Diagnostic(
                        file: file, line: line, column: i - lineStart + 1, severity: .error,
                        message: "invalid JSON: expected a value before '\(byte == UInt8(ascii: ",") ? "," : "]")'"))
                }
                finish(at: i)
                if byte == UInt8(ascii: "]") {
                    closed = true
                    i += 1
                    break scan
                }
                i += 1
                continue
            }
            if !isWhitespace(byte) && current == nil {
                current = Document(start: i, end: i, line: line, column: i - lineStart + 1)
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
            i += 1
        }
        if !closed {
            finish(at: bytes.count)
            diagnostics.append(Diagnostic(
                file: file, line: line, severity: .error, message: "invalid JSON: the array is not closed with ']'"))
        } else {
            while i < bytes.count && isWhitespace(bytes[i]) {
                if bytes[i] == UInt8(ascii: "\n") { line += 1 }
                i += 1
            }
            if i < bytes.count {
                diagnostics.append(Diagnostic(
                    file: file, line: line, severity: .error, message: "invalid JSON: text after the closing ']'"))
            }
        }
        return documents
    }
}

extension ImportJSONReader {
    /// Reads every object of the file as one user record (made by `read`); a record whose
    /// object has errors is dropped and its errors kept. `notices` gives, at the end, the
    /// notices about ignored input.
    static func records(
        in bytes: [UInt8], file: String, progress: ImportProgress?, notices: () -> [Diagnostic?],
        _ read: (inout ImportJSONObject) -> UserRecord
    ) -> ImportedRows {
        var rows = ImportedRows()
        let syntax = forEachObject(in: bytes, file: file, progress: progress) { line, members in
            var object = ImportJSONObject(members, line: line, file: file)
            let record = read(&object)
            if object.diagnostics.isEmpty {
                rows.records.append(record)
            } else {
                rows.diagnostics += object.diagnostics
            }
            return true
        }
        rows.diagnostics += syntax
        finish(&rows, file: file, bytes: bytes, notices: notices())
        return rows
    }

    /// Adds the notices, reports an input without a single user, and sorts by line.
    private static func finish(_ rows: inout ImportedRows, file: String, bytes: [UInt8], notices: [Diagnostic?]) {
        rows.diagnostics += notices.compactMap { $0 }
        if rows.records.isEmpty && !rows.diagnostics.hasErrors {
            let empty = bytes.allSatisfy { ImportJSONReader.isWhitespace($0) || CSVReader.byteOrderMark.contains($0) }
            rows.diagnostics.append(Diagnostic(
                file: file, line: 1, severity: .error,
                message: empty ? "the file is empty" : "no users in the file: nothing to import"))
        }
        rows.diagnostics.sort { ($0.line ?? 0) < ($1.line ?? 0) }
    }
}

/// Reads the fields of one JSON object, remembering its line and reporting wrong types
/// with the field's JSON pointer (`users.ndjson:3:/identities/0/type: error: ...`).
struct ImportJSONObject {
    let members: [JSONMember]
    let line: Int
    let file: String
    let pointer: JSONPointer
    var diagnostics: [Diagnostic] = []

    init(_ members: [JSONMember], line: Int, file: String, pointer: JSONPointer = .root) {
        self.members = members
        self.line = line
        self.file = file
        self.pointer = pointer
    }

    subscript(key: String) -> JSONValue? {
        members.first { $0.key == key }?.value
    }

    mutating func error(_ message: String, at key: String? = nil) {
        let place = key.map { pointer.appending($0) } ?? pointer
        diagnostics.append(Diagnostic(
            file: file, pointer: place.description, line: line, severity: .error, message: message))
    }

    /// A string field; nil when absent, null or empty; an error when of another kind.
    mutating func string(_ key: String) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text.isEmpty ? nil : text
        case let other?:
            error("\"\(key)\" must be a string, not \(other.kindDescription)", at: key)
            return nil
        }
    }

    /// A boolean field; nil when absent or null; an error when of another kind.
    mutating func bool(_ key: String) -> Bool? {
        switch self[key] {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        case let other?:
            error("\"\(key)\" must be true or false, not \(other.kindDescription)", at: key)
            return nil
        }
    }

    /// An array of strings; nil when absent or null.
    mutating func strings(_ key: String) -> [String]? {
        switch self[key] {
        case nil, .null?: return nil
        case .array(let elements)?:
            var result: [String] = []
            for (index, element) in elements.enumerated() {
                guard let text = element.stringValue else {
                    diagnostics.append(Diagnostic(
                        file: file, pointer: pointer.appending(key).appending(index).description, line: line,
                        severity: .error, message: "must be a string, not \(element.kindDescription)"))
                    continue
                }
                result.append(text)
            }
            return result
        case let other?:
            error("\"\(key)\" must be an array of strings, not \(other.kindDescription)", at: key)
            return nil
        }
    }

    /// The objects of an array field, each as its own reader; nil when absent or null.
    mutating func objects(_ key: String) -> [ImportJSONObject]? {
        switch self[key] {
        case nil, .null?: return nil
        case .array(let elements)?:
            var result: [ImportJSONObject] = []
            for (index, element) in elements.enumerated() {
                let place = pointer.appending(key).appending(index)
                guard case .object(let members) = element else {
                    diagnostics.append(Diagnostic(
                        file: file, pointer: place.description, line: line, severity: .error,
                        message: "must be an object, not \(element.kindDescription)"))
                    continue
                }
                result.append(ImportJSONObject(members, line: line, file: file, pointer: place))
            }
            return result
        case let other?:
            error("\"\(key)\" must be an array of objects, not \(other.kindDescription)", at: key)
            return nil
        }
    }
}
