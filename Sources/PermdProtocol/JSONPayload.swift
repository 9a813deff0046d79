import PermdCore
import PermdJSON

/// The JSON object at the end of a request line, with typed field access that answers
/// `ERR SYNTAX` for a malformed document, a wrong type or an invalid identifier.
struct JSONPayload {
    let members: [JSONMember]

    init(_ bytes: [UInt8]?) throws(ProtocolError) {
        guard let bytes else { throw ProtocolError(.syntax, "missing JSON object") }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw ProtocolError(.syntax, "malformed JSON at \(error)")
        }
        guard let members = value.objectValue else {
            throw ProtocolError(.syntax, "expected a JSON object, found \(value.kindDescription)")
        }
        self.members = members
    }

    func value(_ key: String) -> JSONValue? {
        members.first { $0.key == key }?.value
    }

    func string(_ key: String) throws(ProtocolError) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue else {
            throw ProtocolError(.syntax, "\"\(key)\" must be a string, not \(value.kindDescription)")
        }
        return text
    }

    func bool(_ key: String) throws(ProtocolError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let flag = value.boolValue else {
            throw ProtocolError(.syntax, "\"\(key)\" must be true or false, not \(value.kindDescription)")
        }
        return flag
    }

    func identifier(_ key: String) throws(ProtocolError) -> String? {
        guard let text = try string(key) else { return nil }
        if let problem = Identifier.problemWithID(text) {
            throw ProtocolError(.syntax, "\"\(key)\" \(problem)")
        }
        return text
    }

    func identifiers(_ key: String) throws(ProtocolError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard let items = value.arrayValue else {
            throw ProtocolError(.syntax, "\"\(key)\" must be an array of strings, not \(value.kindDescription)")
        }
        var result: [String] = []
        for item in items {
            guard let text = item.stringValue, Identifier.problemWithID(text) == nil else {
                throw ProtocolError(.syntax, "\"\(key)\" must hold identifiers (printable ASCII, no spaces)")
            }
            result.append(text)
        }
        return result
    }

    /// The profile fields of USER.ADD and SIGNIN, in the order their errors are reported.
    func profile() throws(ProtocolError) -> UserProfile {
        UserProfile(
            email: try string("email"), username: try string("username"), phone: try string("phone"),
            firstName: try string("first_name"), lastName: try string("last_name"), picture: try string("picture"))
    }

    func rejectUnknown(_ known: Set<String>) throws(ProtocolError) {
        if let unknown = members.first(where: { !known.contains($0.key) }) {
            throw ProtocolError(.syntax, "unknown field \"\(unknown.key)\"")
        }
    }
}
