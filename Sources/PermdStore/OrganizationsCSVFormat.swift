public import PermdCore

/// The organizations CSV (SPEC §4), recognised by its header: permd's own `code,name,external_id`
/// (what `permd export --organizations` writes), or Kinde's organization import `name,id`, where
/// `id` is the external id and the code is made from it (`OrganizationImportPlanner`).
public enum OrganizationsCSVFormat {
    /// The header `export --organizations` writes, and the columns of permd's own form.
    public static let header = ["code", "name", "external_id"]
    /// The columns of Kinde's organization import.
    static let kindeHeader = ["name", "id"]

    /// Whether `bytes` is an organizations CSV: its first row names exactly the columns of one
    /// of the two forms (any order, any case, spaces around names allowed, as Kinde's
    /// template writes `name, id`).
    public static func recognizes(_ bytes: [UInt8]) -> Bool {
        var reader = CSVReader(bytes: bytes)
        guard (try? reader.nextRecord()) == true, let columns = headerColumns(reader) else { return false }
        return Set(columns) == Set(header) || Set(columns) == Set(kindeHeader)
    }

    /// The CSV `permd export --organizations` writes: the header, then one row per organization
    /// in the order given (the store gives them sorted by code).
    public static func export(_ organizations: [OrganizationRecord]) -> String {
        var text = CSVWriter.line(header)
        for organization in organizations {
            text += CSVWriter.line([organization.code, organization.name ?? "", organization.externalID ?? ""])
        }
        return text
    }

    /// Parses an organizations CSV (one the header `recognizes`). Blank fields are no value;
    /// every malformed row is reported with its line.
    public static func parse(_ bytes: [UInt8], file: String) -> ImportedOrganizations {
        var result = ImportedOrganizations()
        var reader = CSVReader(bytes: bytes)
        let columns: [String]
        do {
            guard try reader.nextRecord(), let names = headerColumns(reader),
                  Set(names) == Set(header) || Set(names) == Set(kindeHeader) else {
                result.diagnostics.append(Diagnostic(
                    file: file, line: 1, severity: .error,
                    message: "not an organizations CSV: the header must be \"code,name,external_id\" or \"name,id\""))
                return result
            }
            columns = names
        } catch {
            result.diagnostics.append(Diagnostic(file: file, line: error.line, severity: .error, message: error.message))
            return result
        }
        let isKinde = Set(columns) == Set(kindeHeader)
        reader.expectedFieldCount = columns.count
        while true {
            do {
                guard try reader.nextRecord() else { break }
            } catch {
                result.diagnostics.append(Diagnostic(file: file, line: error.line, severity: .error, message: error.message))
                continue
            }
            var row = OrganizationRow(line: reader.line)
            var valid = true
            for (index, column) in columns.enumerated() {
                guard let text = reader.string(at: index) else {
                    result.diagnostics.append(Diagnostic(file: file, line: reader.line, severity: .error,
                                                         message: "field \(index + 1) is not valid UTF-8"))
                    valid = false
                    continue
                }
                let value = nonBlank(text.trimmingSpaces())
                switch column {
                case "code": row.code = value
                case "name": row.name = value
                default: row.externalID = value  // "external_id", or Kinde's "id"
                }
            }
            guard valid else { continue }
            if isKinde && row.externalID == nil {
                result.diagnostics.append(Diagnostic(file: file, line: row.line, severity: .error,
                                                     message: "a row needs an id (the organization's external id)"))
            } else if !isKinde && row.code == nil {
                result.diagnostics.append(Diagnostic(file: file, line: row.line, severity: .error,
                                                     message: "a row needs a code"))
            } else {
                result.rows.append(row)
            }
        }
        if result.rows.isEmpty && !result.diagnostics.hasErrors {
            result.diagnostics.append(Diagnostic(file: file, line: 1, severity: .error,
                                                 message: "no rows after the header: nothing to import"))
        }
        return result
    }

    /// The header's column names, lowercased and trimmed; nil when one is not valid UTF-8.
    private static func headerColumns(_ reader: CSVReader) -> [String]? {
        var names: [String] = []
        for index in 0..<reader.fieldCount {
            guard let name = reader.string(at: index) else { return nil }
            names.append(name.trimmingSpaces().lowercased())
        }
        return names
    }

    /// `text`, or nil when it is blank (SPEC §1: a blank value is no value).
    private static func nonBlank(_ text: String) -> String? {
        text.unicodeScalars.allSatisfy(\.properties.isWhitespace) ? nil : text
    }
}

/// One row of an organizations CSV: the code (nil in Kinde's form, which gives none), the
/// name and the external id as given (nil when blank), and the row's line.
public struct OrganizationRow: Sendable, Hashable {
    /// The organization's code; nil in Kinde's form.
    public var code: String?
    /// Its display name.
    public var name: String?
    /// Its external id (Kinde's `id`).
    public var externalID: String?
    /// The 1-based line of the row (the header is line 1).
    public var line: Int

    /// - Parameters: see each property.
    public init(code: String? = nil, name: String? = nil, externalID: String? = nil, line: Int) {
        self.code = code
        self.name = name
        self.externalID = externalID
        self.line = line
    }
}

/// The rows an organizations CSV held, and the problems found reading it.
public struct ImportedOrganizations: Sendable {
    /// The well-formed rows, in file order.
    public var rows: [OrganizationRow] = []
    /// The problems found, each at its line.
    public var diagnostics: [Diagnostic] = []

    /// No rows, no problems.
    public init() {}
}

/// Turns the rows of an organizations CSV into the organizations to add or update (SPEC §4):
/// each row's code is the one given, or — Kinde's form, which gives only the external id —
/// the code of the organization that has that external id (or that code), else `org_` and
/// the external id. Pure: it reads nothing but its inputs.
public struct OrganizationImportPlanner {
    private let byCode: [String: OrganizationRecord]
    private let codeByExternalID: [String: String]
    private let file: String
    /// What a code made from an external id starts with, as Kinde's codes do.
    public static let generatedCodePrefix = "org_"

    /// - Parameters:
    ///   - organizations: the organizations in the database.
    ///   - file: the file's name for diagnostics.
    public init(organizations: [OrganizationRecord], file: String) {
        var byCode: [String: OrganizationRecord] = [:]
        var codeByExternalID: [String: String] = [:]
        for organization in organizations {
            byCode[organization.code] = organization
            if let externalID = organization.externalID { codeByExternalID[externalID] = organization.code }
        }
        self.byCode = byCode
        self.codeByExternalID = codeByExternalID
        self.file = file
    }

    /// The organizations the rows add or update, in file order, with every problem found.
    public func plan(_ imported: ImportedOrganizations) -> OrganizationImportPlan {
        var plan = OrganizationImportPlan(diagnostics: imported.diagnostics)
        var seen: [String: (record: OrganizationRecord, line: Int)] = [:]
        for row in imported.rows {
            guard let (code, externalID) = codeAndExternalID(of: row, &plan) else { continue }
            if let problem = Identifier.problemWithID(code) {
                plan.diagnostics.append(Diagnostic(file: file, line: row.line, severity: .error,
                                                   message: "invalid organization code \(quoted(code)): \(problem)"))
                continue
            }
            let record = OrganizationRecord(code: code, name: row.name, externalID: externalID)
            if let earlier = seen[code] {
                if earlier.record != record {
                    plan.diagnostics.append(Diagnostic(
                        file: file, line: row.line, severity: .error,
                        message: "organization \(quoted(code)) is given differently on line \(earlier.line)"))
                }
                continue
            }
            seen[code] = (record, row.line)
            plan.organizations.append(OrganizationImport(record: record, line: row.line))
        }
        plan.diagnostics.sort { ($0.line ?? 0) < ($1.line ?? 0) }
        return plan
    }

    /// The code a row names and the external id to give it (nil: keep the stored one); nil,
    /// with an error, when a code made from an id is another organization's.
    ///
    /// Kinde's form gives only the id, which is the external id: the organization with that
    /// external id; else the one with that code (as user imports resolve ids), whose external
    /// id stays; else a new one, `org_<id>`.
    private func codeAndExternalID(of row: OrganizationRow, _ plan: inout OrganizationImportPlan)
        -> (code: String, externalID: String?)? {
        if let code = row.code { return (code, row.externalID) }
        guard let id = row.externalID else { return nil }
        if let code = codeByExternalID[id] { return (code, id) }
        if byCode[id] != nil { return (id, nil) }
        let code = Self.code(for: id)
        if let other = byCode[code] {
            plan.diagnostics.append(Diagnostic(
                file: file, line: row.line, severity: .error,
                message: "the code \(quoted(code)) made from id \(quoted(id)) is taken by an organization "
                    + (other.externalID.map { "whose external id is \(quoted($0))" } ?? "without an external id")))
            return nil
        }
        return (code, id)
    }

    /// The code made for a new organization from its external id (Kinde's form).
    public static func code(for externalID: String) -> String {
        generatedCodePrefix + externalID
    }
}

/// What an organizations import will hand to the store.
public struct OrganizationImportPlan: Sendable {
    /// The organizations to add or update, in file order, one per code.
    public var organizations: [OrganizationImport] = []
    /// Every problem of the file, parse and plan, in line order.
    public var diagnostics: [Diagnostic] = []

    /// Whether the plan may be applied: no diagnostic is an error.
    public var isValid: Bool { !diagnostics.hasErrors }
}

/// One organization to add, or whose name and external id to update (the fields given; nil
/// leaves the stored one), from the row on `line`.
public struct OrganizationImport: Sendable, Hashable {
    /// The code, and the name and external id to set (nil: leave the stored one).
    public var record: OrganizationRecord
    /// The row's line, for refusals.
    public var line: Int

    /// - Parameters: see each property.
    public init(record: OrganizationRecord, line: Int) {
        self.record = record
        self.line = line
    }
}

/// What an organizations import changed (or, in a dry run, would change).
public struct OrganizationImportSummary: Sendable, Hashable, CustomStringConvertible {
    /// Organizations that did not exist.
    public var added = 0
    /// Organizations whose name or external id changed.
    public var updated = 0
    /// Organizations the file gives as they are.
    public var unchanged = 0
    /// The revision after the import (unchanged by a dry run or an import that changed nothing).
    public var revision: UInt64 = 0

    /// Nothing counted yet.
    public init() {}

    /// `organizations: 2 added, 0 updated, 3 unchanged; revision 4`.
    public var description: String {
        "organizations: \(added) added, \(updated) updated, \(unchanged) unchanged; revision \(revision)"
    }
}
