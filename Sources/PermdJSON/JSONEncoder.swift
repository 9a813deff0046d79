internal import CJansson

extension JSONValue {
    /// The value as compact JSON text (members in their order), written by jansson.
    public func serialized() -> String {
        let json = Self.build(self)
        defer { CJansson_decref(json) }
        let flags = Int(JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)
        guard let text = json_dumps(json, flags) else { return "null" }
        defer { free(text) }
        return String(cString: text)
    }

    private static func build(_ value: JSONValue) -> UnsafeMutablePointer<json_t> {
        switch value {
        case .null: return json_null()
        case .bool(let b): return b ? json_true() : json_false()
        case .integer(let i): return json_integer(json_int_t(i))
        case .real(let d): return json_real(d)
        case .string(let s):
            var s = s
            return s.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { json_stringn_nocheck($0.baseAddress, $0.count) }
            }
        case .array(let elements):
            let array = json_array()!
            for e in elements { json_array_append_new(array, build(e)) }
            return array
        case .object(let members):
            let object = json_object()!
            for m in members { json_object_set_new_nocheck(object, m.key, build(m.value)) }
            return object
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
