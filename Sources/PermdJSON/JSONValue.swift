/// A parsed JSON value. Objects keep their members in document order, so that
/// diagnostics can point at them and output can follow the input's order.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case real(Double)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])
}

/// One `"key": value` pair of a JSON object.
public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue

    /// - Parameters:
    ///   - key: the member's name.
    ///   - value: the member's value.
    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

extension JSONValue {
    /// The value's kind with its article, for messages: "a string", "an array".
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .real: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean, when this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The integer, when this is an integer.
    public var integerValue: Int64? {
        if case .integer(let i) = self { return i }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members, when this is an object.
    public var objectValue: [JSONMember]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The value of the first member named `key`, when this is an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }
}

/// Builds JSON pointers (RFC 6901) such as `/roles/3/permissions/1`.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The pointer's text; the empty string is the document root.
    public private(set) var description: String

    /// The document root.
    public static let root = JSONPointer(description: "")

    private init(description: String) {
        self.description = description
    }

    /// The pointer to member `key` of the value this points at.
    public func appending(_ key: String) -> JSONPointer {
        let escaped = key.replacingAll("~", with: "~0").replacingAll("/", with: "~1")
        return JSONPointer(description: description + "/" + escaped)
    }

    /// The pointer to element `index` of the array this points at.
    public func appending(_ index: Int) -> JSONPointer {
        JSONPointer(description: description + "/" + String(index))
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        guard contains(target) else { return self }
        var out = ""
        for c in self {
            if c == target { out += replacement } else { out.append(c) }
        }
        return out
    }
}
