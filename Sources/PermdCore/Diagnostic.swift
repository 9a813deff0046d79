/// How serious a diagnostic is.
public enum Severity: String, Sendable, Hashable, Comparable {
    case error
    case warning
    case notice

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }

    private var rank: Int {
        switch self {
        case .error: 0
        case .warning: 1
        case .notice: 2
        }
    }
}

/// A problem found in an input file, in the form of SPEC §2:
/// `policies/roles.json:/roles/3/permissions/1: error: unknown permission "read:invoice"`.
///
/// `pointer` is a JSON pointer for JSON inputs; inputs read by line (CSV, NDJSON) leave it
/// empty and give the line. Line and column follow the file when known:
/// `policies/a.json:3:7: error: ...`. A diagnostic about a whole file or directory has
/// neither pointer nor line: `policies: error: policy directory not found`.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var pointer: String
    public var line: Int?
    public var column: Int?
    public var severity: Severity
    public var message: String

    /// - Parameters:
    ///   - file: the input's path as the user gave it.
    ///   - pointer: the JSON pointer of the offending value ("" for the root or none).
    ///   - line: 1-based line, when known.
    ///   - column: 1-based column, when known.
    ///   - severity: error, warning or notice.
    ///   - message: what is wrong, quoting the offending value.
    public init(
        file: String, pointer: String = "", line: Int? = nil, column: Int? = nil,
        severity: Severity, message: String
    ) {
        self.file = file
        self.pointer = pointer
        self.line = line
        self.column = column
        self.severity = severity
        self.message = message
    }

    public var description: String {
        var place = file
        if let line {
            place += ":\(line)"
            if let column { place += ":\(column)" }
        }
        if !pointer.isEmpty { place += ":\(pointer)" }
        return "\(place): \(severity.rawValue): \(message)"
    }
}

extension Array where Element == Diagnostic {
    /// Whether any diagnostic is an error.
    public var hasErrors: Bool { contains { $0.severity == .error } }

    /// The closing line of a report: `2 errors, 1 warning`.
    public var summary: String {
        let errors = count { $0.severity == .error }
        let warnings = count { $0.severity == .warning }
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        return "\(plural(errors, "error")), \(plural(warnings, "warning"))"
    }
}
