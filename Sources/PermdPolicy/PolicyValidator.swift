public import PermdCore
import PermdJSON

/// Validates parsed policy files against every rule of SPEC §2, without touching the
/// file system: `PolicyLoader` finds and reads the files, this checks what they say.
public enum PolicyValidator {
    /// How many name comparisons the "did you mean" searches of one validation may make
    /// (a search compares the misspelled name with every defined one): a file full of
    /// misspellings against 10,000 keys still validates quickly; past the budget, errors
    /// come without a suggestion.
    static let suggestionBudget = 300_000

    /// Validates the merged sections of `documents` (in the order given: sorted by path).
    /// - Parameters:
    ///   - documents: the parsed policy files.
    ///   - directory: the policy directory, named by diagnostics that belong to no file
    ///     (a missing `settings` section).
    ///   - diagnostics: problems already found while reading the files (syntax errors).
    /// - Returns: the policy set when there is no error, and every diagnostic, sorted by
    ///   file then position in the file.
    public static func validate(_ documents: [PolicyDocument], directory: String,
                                diagnostics: [Diagnostic] = []) -> PolicyLoadResult {
        validate(documents, directory: directory, diagnostics: diagnostics, suggestionBudget: suggestionBudget)
    }

    /// `validate` with another suggestion budget (for tests).
    static func validate(_ documents: [PolicyDocument], directory: String, diagnostics: [Diagnostic],
                         suggestionBudget: Int) -> PolicyLoadResult {
        var schema = PolicySchema(log: DiagnosticLog(items: diagnostics))
        for document in documents {
            schema.read(document)
        }
        var references = ReferenceCheck(draft: schema.draft, log: schema.log, comparisonsLeft: suggestionBudget)
        let policy = references.run(directory: directory)
        let sorted = DocumentOrder(documents).sorted(references.log.items)
        return PolicyLoadResult(policy: sorted.hasErrors ? nil : policy, diagnostics: sorted)
    }
}

/// The rules between values: unique keys, known references, no cycles, the default
/// organization, and the warnings about what grants nothing.
private struct ReferenceCheck {
    let draft: PolicyDraft
    var log: DiagnosticLog
    var comparisonsLeft: Int
    var hints: [String: String] = [:]

    init(draft: PolicyDraft, log: DiagnosticLog, comparisonsLeft: Int) {
        self.draft = draft
        self.log = log
        self.comparisonsLeft = comparisonsLeft
    }

    mutating func run(directory: String) -> PolicySet {
        let permissions = uniquePermissions()
        let sortedKeys = permissions.map(\.key).sorted()
        let roleDrafts = uniqueRoles()
        let roleKeys = Set(roleDrafts.map(\.key.value))
        let roles = roleDrafts.map { resolve($0, sortedKeys: sortedKeys, roleKeys: roleKeys) }
        let hasCycles = reportCycles(among: roles, drafts: roleDrafts)
        let organizations = uniqueOrganizations()
        let settings = checkSettings(organizations: organizations, directory: directory)
        let policy = PolicySet(permissions: permissions, roles: roles, organizations: organizations,
                               settings: settings ?? PolicySettings(defaultOrganization: ""))
        // Flattening a cyclic graph depends on where it starts: what it grants is no basis for warnings.
        if !hasCycles {
            reportWhatGrantsNothing(policy)
        }
        return policy
    }

    // MARK: Unique definitions

    private mutating func uniquePermissions() -> [PermissionDefinition] {
        var first: [String: SourceLocation] = [:]
        var unique: [PermissionDefinition] = []
        for (definition, key) in draft.permissions {
            if let earlier = first[key.value] {
                log.error(key.file, key.pointer, "duplicate permission \(quoted(key.value)): first defined at \(earlier.place)")
                continue
            }
            first[key.value] = definition.source
            unique.append(definition)
        }
        return unique
    }

    private mutating func uniqueRoles() -> [RoleDraft] {
        var first: [String: SourceLocation] = [:]
        var unique: [RoleDraft] = []
        for role in draft.roles {
            if let earlier = first[role.key.value] {
                log.error(role.key.file, role.key.pointer, "duplicate role \(quoted(role.key.value)): first defined at \(earlier.place)")
                continue
            }
            first[role.key.value] = role.definition.source
            unique.append(role)
        }
        return unique
    }

    private mutating func uniqueOrganizations() -> [OrganizationDefinition] {
        var first: [String: SourceLocation] = [:]
        var externalIDs: [String: OrganizationDefinition] = [:]
        var unique: [OrganizationDefinition] = []
        for (definition, code, externalID) in draft.organizations {
            if let earlier = first[code.value] {
                log.error(code.file, code.pointer, "duplicate organization \(quoted(code.value)): first declared at \(earlier.place)")
                continue
            }
            if let externalID {
                if let owner = externalIDs[externalID.value] {
                    log.error(externalID.file, externalID.pointer,
                              "duplicate external_id \(quoted(externalID.value)): already used by organization "
                              + "\(quoted(owner.code)) at \(owner.source.place)")
                } else {
                    externalIDs[externalID.value] = definition
                }
            }
            first[code.value] = definition.source
            unique.append(definition)
        }
        // Imports match an external id before a code: one that is another organization's code
        // would send that organization's rows here.
        for (definition, code, externalID) in draft.organizations {
            guard let externalID, externalID.value != code.value, let other = first[externalID.value],
                  first[code.value] == definition.source else { continue }
            log.error(externalID.file, externalID.pointer,
                      "external_id \(quoted(externalID.value)) of organization \(quoted(code.value)) is the code of "
                      + "organization \(quoted(externalID.value)) at \(other.place)")
        }
        return unique
    }

    // MARK: Roles

    /// The role with its valid permission patterns and known includes; reports the rest.
    private mutating func resolve(_ role: RoleDraft, sortedKeys: [String], roleKeys: Set<String>) -> RoleDefinition {
        var definition = role.definition
        for entry in role.permissions {
            let pattern = entry.value
            if let problem = Self.problemWithPattern(pattern) {
                log.error(entry.file, entry.pointer, "invalid permission pattern \(quoted(pattern)): \(problem)")
                continue
            }
            if pattern.hasSuffix("*") {
                if RoleFlattener.matchingRange(pattern, sortedKeys: sortedKeys).isEmpty {
                    log.warning(entry.file, entry.pointer, "wildcard \(quoted(pattern)) matches no permission")
                }
            } else if RoleFlattener.matchingRange(pattern, sortedKeys: sortedKeys).isEmpty {
                log.error(entry.file, entry.pointer, "unknown permission \(quoted(pattern))" + hint(pattern, sortedKeys))
                continue
            }
            definition.permissions.append(pattern)
        }
        for entry in role.includes {
            guard roleKeys.contains(entry.value) else {
                log.error(entry.file, entry.pointer, "unknown role \(quoted(entry.value))" + hint(entry.value, roleKeys.sorted()))
                continue
            }
            definition.includes.append(entry.value)
        }
        return definition
    }

    /// Why a role's permission entry is neither a key, `*`, nor a prefix wildcard.
    static func problemWithPattern(_ pattern: String) -> String? {
        if pattern == "*" { return nil }
        let body = pattern.hasSuffix("*") ? String(pattern.dropLast()) : pattern
        if body.contains("*") { return "\"*\" may only end a pattern" }
        return Identifier.problemWithKey(body).map { "it \($0)" }
    }

    /// Reports every includes cycle; returns whether there was one.
    private mutating func reportCycles(among roles: [RoleDefinition], drafts: [RoleDraft]) -> Bool {
        let draftsByKey = Dictionary(drafts.map { ($0.key.value, $0) }) { a, _ in a }
        let cycles = RoleFlattener.cycles(roles: roles)
        for cycle in cycles {
            let start = cycle[0]
            let next = cycle.count > 1 ? cycle[1] : start
            guard let draft = draftsByKey[start],
                  let entry = draft.includes.first(where: { $0.value == next })
            else { continue }
            let path = (cycle + [start]).map(quoted).joined(separator: " -> ")
            log.error(entry.file, entry.pointer, "includes cycle: \(path)")
        }
        return !cycles.isEmpty
    }

    // MARK: Settings

    private mutating func checkSettings(organizations: [OrganizationDefinition], directory: String) -> PolicySettings? {
        guard let settings = draft.settings.first else {
            log.error(directory, JSONPointer.root, "missing \(quoted("default_organization")): no policy file has a \(quoted("settings")) section")
            return nil
        }
        for again in draft.settings.dropFirst() {
            log.error(again.source.file, again.source.pointer,
                      "duplicate \(quoted("settings")) section: first defined at \(settings.source.place)")
        }
        guard let code = settings.defaultOrganization else { return nil }
        guard organizations.contains(where: { $0.code == code.value }) else {
            log.error(code.file, code.pointer, "default organization \(quoted(code.value)) is not a declared organization"
                + hint(code.value, organizations.map(\.code)))
            return nil
        }
        return PolicySettings(defaultOrganization: code.value, allowSelfSignup: settings.allowSelfSignup,
                              syncProfileOnSignIn: settings.syncProfileOnSignIn)
    }

    // MARK: Warnings

    private mutating func reportWhatGrantsNothing(_ policy: PolicySet) {
        var granted = Set<String>()
        for role in policy.roles {
            let grants = policy.grantsByRole[role.key] ?? []
            if grants.isEmpty {
                log.warning(role.source.file, role.source.pointer, "role \(quoted(role.key)) grants no permission")
            }
            if granted.count < policy.permissions.count {
                granted.formUnion(grants)
            }
        }
        for permission in policy.permissions where !granted.contains(permission.key) {
            log.warning(permission.source.file, permission.source.pointer,
                        "permission \(quoted(permission.key)) is not granted by any role")
        }
    }

    // MARK: Helpers

    /// ` (did you mean "x"?)` while the suggestion budget lasts; a name misspelled the
    /// same way twice is looked up once.
    private mutating func hint(_ name: String, _ candidates: [String]) -> String {
        if let known = hints[name] { return known }
        guard comparisonsLeft >= candidates.count else { return "" }
        comparisonsLeft -= candidates.count
        let hint = Suggestion.hint(for: name, among: candidates)
        hints[name] = hint
        return hint
    }
}

extension SourceLocation {
    /// `file:pointer`, as messages name an earlier definition.
    var place: String { "\(file):\(pointer)" }
}
