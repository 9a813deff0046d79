internal import CJansson

/// A JSON document that jansson refused, with the place it gave.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line of the error.
    public var line: Int
    /// 1-based column of the error.
    public var column: Int
    /// Byte offset of the error.
    public var position: Int
    /// jansson's description of the problem.
    public var message: String

    public var description: String { "\(line):\(column): \(message)" }
}

/// Parses JSON text with jansson into `JSONValue`s.
///
/// Duplicate keys inside one object are rejected (`JSON_REJECT_DUPLICATES`), as are
/// invalid UTF-8, NUL characters in strings and trailing garbage. Any value may be the
/// root: callers check that it is the kind they expect and say so in their own words.
public enum JSONParser {
    /// Parses one JSON document from raw bytes.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        var error = json_error_t()
        let flags = Int(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
        let root = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 1) { empty in
            let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(empty.baseAddress!)
            return json_loadb(base, bytes.count, flags, &error)
        }
        guard let root else {
            throw JSONSyntaxError(
                line: max(1, Int(error.line)), column: max(1, Int(error.column)),
                position: Int(error.position), message: text(of: &error))
        }
        defer { CJansson_decref(root) }
        return convert(root)
    }

    /// Parses one JSON document from a byte array.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        // Array.withUnsafeBytes rethrows untyped errors: carry the typed one out in a Result.
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONSyntaxError) in try parse(buffer) }
        }
        return try result.get()
    }

    /// Parses one JSON document from a string.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// jansson's message, with the one that names jansson's own flag put in plain words.
    private static func text(of error: inout json_error_t) -> String {
        let message = withUnsafeBytes(of: &error.text) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return message.replacing("\\u0000 is not allowed without JSON_ALLOW_NUL",
                                 with: "a NUL character (\\u0000) is not allowed in a string")
    }

    private static func convert(_ json: UnsafeMutablePointer<json_t>) -> JSONValue {
        switch CJansson_typeof(json) {
        case JSON_OBJECT:
            var members: [JSONMember] = []
            members.reserveCapacity(json_object_size(json))
            var iter = json_object_iter(json)
            while let it = iter {
                let key = String(cString: json_object_iter_key(it))
                members.append(JSONMember(key, convert(json_object_iter_value(it))))
                iter = json_object_iter_next(json, it)
            }
            return .object(members)
        case JSON_ARRAY:
            let count = json_array_size(json)
            var elements: [JSONValue] = []
            elements.reserveCapacity(count)
            for i in 0..<count {
                elements.append(convert(json_array_get(json, i)))
            }
            return .array(elements)
        case JSON_STRING:
            let length = json_string_length(json)
            let chars = json_string_value(json)!
            return .string(chars.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            })
        case JSON_INTEGER:
            return .integer(Int64(json_integer_value(json)))
        case JSON_REAL:
            return .real(json_real_value(json))
        case JSON_TRUE:
            return .bool(true)
        case JSON_FALSE:
            return .bool(false)
        default:
            return .null
        }
    }
}
