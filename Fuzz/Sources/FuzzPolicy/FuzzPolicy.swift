import PermdCore
import PermdPolicy

/// A whole policy directory as one input: files separated by a line `--- <name>` (the
/// first file is `a.json` when the input does not start with one). Validation must not
/// crash, and a policy set comes back exactly when no diagnostic is an error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var diagnostics: [Diagnostic] = []
    var documents: [PolicyDocument] = []
    for (index, file) in splitFiles(bytes).enumerated() {
        let name = "policies/\(index)-\(file.name).json"
        if let document = PolicyDocument.parse(file: name, bytes: file.bytes, diagnostics: &diagnostics) {
            documents.append(document)
        }
    }
    let result = PolicyValidator.validate(documents, directory: "policies", diagnostics: diagnostics)
    let hasErrors = result.diagnostics.contains { $0.severity == .error }
    precondition((result.policy == nil) == hasErrors, "a policy set came back with errors, or none without")
    if let policy = result.policy {
        // Every role's flattened permissions are defined permissions.
        let keys = Set(policy.permissions.map(\.key))
        for (_, granted) in policy.grantsByRole {
            for permission in granted { precondition(keys.contains(permission), "an undefined permission granted") }
        }
    }
    return 0
}

/// The files of an input: split at lines that start with `--- `.
func splitFiles(_ bytes: [UInt8]) -> [(name: String, bytes: [UInt8])] {
    var files: [(name: String, bytes: [UInt8])] = []
    var name = "a"
    var current: [UInt8] = []
    var lineStart = 0
    var index = 0
    let marker = Array("--- ".utf8)
    while index <= bytes.count {
        if index == bytes.count || bytes[index] == UInt8(ascii: "\n") {
            let line = bytes[lineStart..<index]
            if line.starts(with: marker) {
                if !current.isEmpty || !files.isEmpty || lineStart > 0 { files.append((name, current)) }
                name = String(decoding: line.dropFirst(marker.count).prefix(16).filter { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }, as: UTF8.self)
                current = []
            } else {
                current.append(contentsOf: line)
                if index < bytes.count { current.append(UInt8(ascii: "\n")) }
            }
            lineStart = index + 1
        }
        index += 1
    }
    files.append((name, current))
    return files
}
