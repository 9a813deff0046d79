public import PermdCore
import PermdJSON

/// The file formats `permd import` reads (SPEC §4).
public enum ImportFormat: String, Sendable, CaseIterable {
    case kindeCSV = "kinde-csv"
    case kindeNDJSON = "kinde-ndjson"
    case auth0

    /// Guesses the format from the content (SPEC §4): JSON objects (one per line, or a JSON
    /// array of them) are `kinde-ndjson`, or `auth0` when the first object has a field that
    /// Auth0 writes and Kinde does not (`user_id`, `email`, or an Import/Export extension
    /// column such as `Id`); anything else is `kinde-csv`.
    public static func guess(_ bytes: [UInt8]) -> ImportFormat {
        var start = bytes.starts(with: CSVReader.byteOrderMark) ? CSVReader.byteOrderMark.count : 0
        while start < bytes.count && ImportJSONReader.isWhitespace(bytes[start]) {
            start += 1
        }
        guard start < bytes.count, bytes[start] == UInt8(ascii: "{") || bytes[start] == UInt8(ascii: "[") else {
            return .kindeCSV
        }
        var format = ImportFormat.kindeNDJSON
        _ = ImportJSONReader.forEachObject(in: bytes, file: "", progress: nil) { _, members in
            if Auth0Format.isAuth0(keys: members.lazy.map(\.key)) { format = .auth0 }
            return false
        }
        return format
    }

    /// Parses `bytes` in this format into user records (memberships name organizations as
    /// the file does; `ImportPlanner` resolves them) and the problems found.
    ///
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - file: the file's name for diagnostics.
    ///   - progress: called now and then with the records read so far.
    public func parse(_ bytes: [UInt8], file: String, progress: ImportProgress? = nil) -> ImportedRows {
        switch self {
        case .kindeCSV: KindeCSVFormat.parse(bytes, file: file, progress: progress)
        case .kindeNDJSON: KindeNDJSONFormat.parse(bytes, file: file, progress: progress)
        case .auth0: Auth0Format.parse(bytes, file: file, progress: progress)
        }
    }
}

/// Reports progress while a file is read: records so far, bytes read, total bytes.
public typealias ImportProgress = (_ records: Int, _ bytesRead: Int, _ totalBytes: Int) -> Void

/// How many records pass between two progress reports.
let importProgressInterval = 10_000

/// The records a format parser read from a file, before planning.
///
/// A membership's `organization` is the reference the file gave (an external id or a code);
/// the empty string stands for the default organization. `roles` nil means none given.
public struct ImportedRows: Sendable {
    public var records: [UserRecord]
    /// Syntax problems (errors) and ignored input (notices), in file order.
    public var diagnostics: [Diagnostic]

    /// - Parameters:
    ///   - records: the records read, in file order.
    ///   - diagnostics: the problems found while reading.
    public init(records: [UserRecord] = [], diagnostics: [Diagnostic] = []) {
        self.records = records
        self.diagnostics = diagnostics
    }
}

/// Collects the input a parser ignores, to report each kind once with the line of its
/// first occurrence (a million rows with a `created_at` field make one notice, not a million).
struct IgnoredInput {
    private var firstLine: [String: Int] = [:]
    private var order: [String] = []

    mutating func note(_ name: String, line: Int) {
        if firstLine[name] == nil {
            firstLine[name] = line
            order.append(name)
        }
    }

    /// One notice naming everything ignored, at the line where the first of it appeared.
    func notice(file: String, what: String) -> Diagnostic? {
        guard let first = order.first, let line = firstLine[first] else { return nil }
        let names = order.map { "\"\($0)\"" }.joined(separator: ", ")
        return Diagnostic(file: file, line: line, severity: .notice, message: "\(what) ignored: \(names)")
    }
}
