import PermdCore
import PermdJSON

/// A value read from a policy file, with the file and JSON pointer it came from.
struct Located<Value> {
    var value: Value
    var file: String
    var pointer: JSONPointer

    var place: String { "\(file):\(pointer)" }
}

/// A role as written, before its references are checked.
struct RoleDraft {
    var definition: RoleDefinition
    var key: Located<String>
    var permissions: [Located<String>]
    var includes: [Located<String>]
}

/// The `settings` section as written.
struct SettingsDraft {
    var defaultOrganization: Located<String>?
    var allowSelfSignup: Bool
    var syncProfileOnSignIn: Bool
    var source: Located<Void>
}

/// Every section of every file, merged in file order, each value type-checked.
struct PolicyDraft {
    var permissions: [(definition: PermissionDefinition, key: Located<String>)] = []
    var roles: [RoleDraft] = []
    var organizations: [(definition: OrganizationDefinition, code: Located<String>, externalID: Located<String>?)] = []
    var settings: [SettingsDraft] = []
}

/// Collects diagnostics while validating.
struct DiagnosticLog {
    var items: [Diagnostic] = []

    mutating func error(_ file: String, _ pointer: some CustomStringConvertible, _ message: String) {
        items.append(Diagnostic(file: file, pointer: pointer.description, severity: .error, message: message))
    }

    mutating func warning(_ file: String, _ pointer: some CustomStringConvertible, _ message: String) {
        items.append(Diagnostic(file: file, pointer: pointer.description, severity: .warning, message: message))
    }
}

/// The shape of policy files (SPEC §2): which sections and fields exist and their types.
/// Reading a document checks the shape only; references between values are the
/// validator's job.
struct PolicySchema {
    static let sections = ["permissions", "roles", "organizations", "settings"]
    static let permissionFields = ["key", "name", "description"]
    static let roleFields = ["key", "name", "description", "permissions", "includes", "default_for_new_users"]
    static let organizationFields = ["code", "name", "external_id"]
    static let settingsFields = ["default_organization", "allow_self_signup", "sync_profile_on_sign_in"]

    var log: DiagnosticLog
    var draft = PolicyDraft()

    /// Reads one document's sections into the draft.
    mutating func read(_ document: PolicyDocument) {
        let file = document.file
        guard case .object(let sections) = document.root else {
            log.error(file, JSONPointer.root, "a policy file must hold one JSON object, found \(described(document.root))")
            return
        }
        for section in sections {
            let pointer = JSONPointer.root.appending(section.key)
            switch section.key {
            case "permissions":
                for (entry, at) in elements(section.value, named: "permissions", file: file, at: pointer) {
                    readPermission(entry, file: file, at: at)
                }
            case "roles":
                for (entry, at) in elements(section.value, named: "roles", file: file, at: pointer) {
                    readRole(entry, file: file, at: at)
                }
            case "organizations":
                for (entry, at) in elements(section.value, named: "organizations", file: file, at: pointer) {
                    readOrganization(entry, file: file, at: at)
                }
            case "settings":
                readSettings(section.value, file: file, at: pointer)
            default:
                log.error(file, pointer, "unknown section \(quoted(section.key))"
                    + Suggestion.hint(for: section.key, among: Self.sections))
            }
        }
    }

    private mutating func readPermission(_ value: JSONValue, file: String, at pointer: JSONPointer) {
        guard let fields = fields(of: value, kind: "permission", allowed: Self.permissionFields, file: file, at: pointer),
              let key = requiredString("key", in: fields, kind: "permission", file: file, at: pointer)
        else { return }
        guard checkKey(key, kind: "permission key") else { return }
        let definition = PermissionDefinition(
            key: key.value,
            name: optionalString("name", in: fields, file: file),
            description: optionalString("description", in: fields, file: file),
            source: SourceLocation(file: file, pointer: pointer.description))
        draft.permissions.append((definition, key))
    }

    private mutating func readRole(_ value: JSONValue, file: String, at pointer: JSONPointer) {
        guard let fields = fields(of: value, kind: "role", allowed: Self.roleFields, file: file, at: pointer),
              let key = requiredString("key", in: fields, kind: "role", file: file, at: pointer)
        else { return }
        guard checkKey(key, kind: "role key") else { return }
        let permissions = stringArray("permissions", in: fields, file: file)
        let includes = stringArray("includes", in: fields, file: file)
        let definition = RoleDefinition(
            key: key.value,
            name: optionalString("name", in: fields, file: file),
            description: optionalString("description", in: fields, file: file),
            defaultForNewUsers: optionalBool("default_for_new_users", in: fields, file: file) ?? false,
            source: SourceLocation(file: file, pointer: pointer.description))
        draft.roles.append(RoleDraft(definition: definition, key: key, permissions: permissions, includes: includes))
    }

    private mutating func readOrganization(_ value: JSONValue, file: String, at pointer: JSONPointer) {
        guard let fields = fields(of: value, kind: "organization", allowed: Self.organizationFields, file: file, at: pointer),
              let code = requiredString("code", in: fields, kind: "organization", file: file, at: pointer)
        else { return }
        if let problem = Identifier.problemWithOrganizationCode(code.value) {
            log.error(file, code.pointer, "invalid organization code \(quoted(code.value)): it \(problem)")
            return
        }
        var externalID: Located<String>?
        if let field = fields["external_id"], let text = string(field.value, named: "external_id", file: file, at: field.pointer) {
            if let problem = Identifier.problemWithOrganizationCode(text) {
                log.error(file, field.pointer, "invalid external_id \(quoted(text)): it \(problem)")
            } else {
                externalID = Located(value: text, file: file, pointer: field.pointer)
            }
        }
        let definition = OrganizationDefinition(
            code: code.value,
            name: optionalString("name", in: fields, file: file),
            externalID: externalID?.value,
            source: SourceLocation(file: file, pointer: pointer.description))
        draft.organizations.append((definition, code, externalID))
    }

    private mutating func readSettings(_ value: JSONValue, file: String, at pointer: JSONPointer) {
        guard let fields = fields(of: value, kind: "settings", allowed: Self.settingsFields, file: file, at: pointer) else {
            return
        }
        var defaultOrganization: Located<String>?
        if let field = fields["default_organization"] {
            defaultOrganization = string(field.value, named: "default_organization", file: file, at: field.pointer)
                .map { Located(value: $0, file: file, pointer: field.pointer) }
        } else {
            log.error(file, pointer, "missing \(quoted("default_organization")) in settings")
        }
        draft.settings.append(SettingsDraft(
            defaultOrganization: defaultOrganization,
            allowSelfSignup: optionalBool("allow_self_signup", in: fields, file: file) ?? true,
            syncProfileOnSignIn: optionalBool("sync_profile_on_sign_in", in: fields, file: file) ?? true,
            source: Located(value: (), file: file, pointer: pointer)))
    }

    // MARK: Shapes and types

    private typealias Fields = [String: (value: JSONValue, pointer: JSONPointer)]

    /// The elements of a section that must be an array, with their pointers.
    private mutating func elements(_ value: JSONValue, named name: String, file: String,
                                   at pointer: JSONPointer) -> [(JSONValue, JSONPointer)] {
        guard case .array(let elements) = value else {
            log.error(file, pointer, "\(quoted(name)) must be an array, found \(described(value))")
            return []
        }
        return elements.enumerated().map { ($1, pointer.appending($0)) }
    }

    /// The known fields of an object; reports a value that is not an object and every unknown field.
    private mutating func fields(of value: JSONValue, kind: String, allowed: [String], file: String,
                                 at pointer: JSONPointer) -> Fields? {
        guard case .object(let members) = value else {
            let what = kind == "settings" ? "\(quoted("settings"))" : "a \(kind)"
            log.error(file, pointer, "\(what) must be an object, found \(described(value))")
            return nil
        }
        var fields: Fields = [:]
        for member in members {
            let at = pointer.appending(member.key)
            if allowed.contains(member.key) {
                fields[member.key] = (member.value, at)
            } else {
                let place = kind == "settings" ? "settings" : "a \(kind)"
                log.error(file, at, "unknown field \(quoted(member.key)) in \(place)"
                    + Suggestion.hint(for: member.key, among: allowed))
            }
        }
        return fields
    }

    private mutating func string(_ value: JSONValue, named name: String, file: String, at pointer: JSONPointer) -> String? {
        guard case .string(let text) = value else {
            log.error(file, pointer, "\(quoted(name)) must be a string, found \(described(value))")
            return nil
        }
        return text
    }

    private mutating func requiredString(_ name: String, in fields: Fields, kind: String, file: String,
                                         at pointer: JSONPointer) -> Located<String>? {
        guard let field = fields[name] else {
            log.error(file, pointer, "missing \(quoted(name)) in a \(kind)")
            return nil
        }
        return string(field.value, named: name, file: file, at: field.pointer)
            .map { Located(value: $0, file: file, pointer: field.pointer) }
    }

    private mutating func optionalString(_ name: String, in fields: Fields, file: String) -> String? {
        guard let field = fields[name] else { return nil }
        return string(field.value, named: name, file: file, at: field.pointer)
    }

    private mutating func optionalBool(_ name: String, in fields: Fields, file: String) -> Bool? {
        guard let field = fields[name] else { return nil }
        guard case .bool(let flag) = field.value else {
            log.error(file, field.pointer, "\(quoted(name)) must be a boolean, found \(described(field.value))")
            return nil
        }
        return flag
    }

    /// The strings of an optional array field; other elements are reported and skipped.
    private mutating func stringArray(_ name: String, in fields: Fields, file: String) -> [Located<String>] {
        guard let field = fields[name] else { return [] }
        guard case .array(let elements) = field.value else {
            log.error(file, field.pointer, "\(quoted(name)) must be an array of strings, found \(described(field.value))")
            return []
        }
        var strings: [Located<String>] = []
        for (index, element) in elements.enumerated() {
            let at = field.pointer.appending(index)
            guard case .string(let text) = element else {
                log.error(file, at, "an entry of \(quoted(name)) must be a string, found \(described(element))")
                continue
            }
            strings.append(Located(value: text, file: file, pointer: at))
        }
        return strings
    }

    /// Checks a role or permission key against SPEC §1.
    private mutating func checkKey(_ key: Located<String>, kind: String) -> Bool {
        guard let problem = Identifier.problemWithKey(key.value) else { return true }
        log.error(key.file, key.pointer, "invalid \(kind) \(quoted(key.value)): it \(problem)")
        return false
    }
}
