import PermdCore
import PermdJSON

/// Sorts diagnostics by file, then by where their value sits in the file: a pointer is
/// resolved against the parsed document to the member and element indices along it, so
/// `/roles/10` comes after `/roles/2`, and sections follow the file's own order.
struct DocumentOrder {
    private let roots: [String: JSONValue]

    init(_ documents: [PolicyDocument]) {
        roots = Dictionary(documents.map { ($0.file, $0.root) }) { a, _ in a }
    }

    /// The diagnostics, sorted by file then position; equal places keep their order.
    func sorted(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        let keyed = diagnostics.enumerated().map { index, diagnostic in
            (diagnostic, position(of: diagnostic), index)
        }
        return keyed.sorted { a, b in
            if a.0.file != b.0.file { return a.0.file < b.0.file }
            if a.1 != b.1 { return a.1.lexicographicallyPrecedes(b.1) }
            return a.2 < b.2
        }.map(\.0)
    }

    /// The line and column when known, else the indices along the pointer.
    private func position(of diagnostic: Diagnostic) -> [Int] {
        if let line = diagnostic.line { return [line, diagnostic.column ?? 0] }
        var indices: [Int] = []
        var value = roots[diagnostic.file]
        for token in Self.tokens(of: diagnostic.pointer) {
            switch value {
            case .object(let members)?:
                guard let index = members.firstIndex(where: { $0.key == token }) else { return indices + [Int.max] }
                indices.append(index)
                value = members[index].value
            case .array(let elements)?:
                guard let index = Int(token), elements.indices.contains(index) else { return indices + [Int.max] }
                indices.append(index)
                value = elements[index]
            default:
                return indices + [Int.max]
            }
        }
        return indices
    }

    /// The unescaped reference tokens of a JSON pointer (RFC 6901).
    static func tokens(of pointer: String) -> [String] {
        guard !pointer.isEmpty else { return [] }
        return pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            String($0).replacing("~1", with: "/").replacing("~0", with: "~")
        }
    }
}
