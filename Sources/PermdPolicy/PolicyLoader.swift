public import PermdCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The outcome of loading a policy directory: the policy set when there are no errors,
/// and every diagnostic found, sorted by file then position.
public struct PolicyLoadResult: Sendable {
    public var policy: PolicySet?
    public var diagnostics: [Diagnostic]

    /// - Parameters:
    ///   - policy: the policy set, nil when any diagnostic is an error.
    ///   - diagnostics: errors and warnings, sorted.
    public init(policy: PolicySet?, diagnostics: [Diagnostic]) {
        self.policy = policy
        self.diagnostics = diagnostics
    }
}

/// Finds and reads the policy files of a directory (SPEC §2); `PolicyValidator` checks
/// what they say.
public enum PolicyLoader {
    /// The largest policy file read, in bytes. Policy files are reviewed by people; a
    /// bigger file is a mistake (a data dump in the wrong folder), reported, not read.
    public static let maxFileBytes = 16 << 20

    /// Loads every `*.json` file under `directory` (recursively, sorted by path), except
    /// `*.test.json` and hidden files and folders, and validates the merged sections.
    /// A missing or empty directory, an unreadable or oversized file and malformed JSON
    /// are diagnostics like any other.
    public static func load(directory: String) -> PolicyLoadResult {
        let base = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: base, isDirectory: &isDirectory) else {
            return failure(base, "policy directory not found")
        }
        guard isDirectory.boolValue else {
            return failure(base, "not a directory: give the folder that holds the policy files")
        }
        let files = policyFiles(in: base)
        guard !files.isEmpty else {
            return failure(base, "no policy files (*.json) in the directory")
        }
        var diagnostics: [Diagnostic] = []
        var documents: [PolicyDocument] = []
        var read: [(relativePath: String, bytes: [UInt8])] = []
        let prefixLength = (base == "/" ? "/" : base + "/").count
        for file in files {
            guard let bytes = readFile(file, diagnostics: &diagnostics) else { continue }
            read.append((String(file.dropFirst(prefixLength)), bytes))
            let content = Array(ByteOrderMark.dropped(from: bytes))
            if let document = PolicyDocument.parse(file: file, bytes: content, diagnostics: &diagnostics) {
                documents.append(document)
            }
        }
        var result = PolicyValidator.validate(documents, directory: base, diagnostics: diagnostics)
        result.policy?.digest = PolicyDigest.of(read)
        return result
    }

    /// The paths of the policy files under `base`, sorted.
    static func policyFiles(in base: String) -> [String] {
        let prefix = base == "/" ? "/" : base + "/"
        let relatives = FileManager.default.enumerator(atPath: base)?.compactMap { $0 as? String } ?? []
        return relatives
            .filter { relative in
                relative.hasSuffix(".json") && !relative.hasSuffix(".test.json")
                    && !relative.split(separator: "/").contains { $0.hasPrefix(".") }
            }
            .sorted()
            .map { prefix + $0 }
            .filter { path in
                var isDirectory: ObjCBool = false
                return !(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
            }
    }

    /// The bytes of a regular file of at most `maxFileBytes`; otherwise a diagnostic.
    /// Opened without blocking, so that a FIFO named `*.json` cannot hang the loader.
    static func readFile(_ path: String, diagnostics: inout [Diagnostic]) -> [UInt8]? {
        func fail(_ message: String) -> [UInt8]? {
            diagnostics.append(Diagnostic(file: path, severity: .error, message: message))
            return nil
        }
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return fail("cannot read the file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { return fail("cannot read the file: \(String(cString: strerror(errno)))") }
        guard (status.st_mode & S_IFMT) == S_IFREG else { return fail("not a regular file") }
        guard Int(status.st_size) <= maxFileBytes else {
            return fail("the file is \(status.st_size) bytes, over the \(maxFileBytes >> 20) MiB limit for a policy file")
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size) + 1)
        var filled = 0
        while filled < bytes.count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if got < 0 {
                if errno == EINTR { continue }
                return fail("cannot read the file: \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            filled += got
        }
        guard filled <= maxFileBytes else {
            return fail("the file is over the \(maxFileBytes >> 20) MiB limit for a policy file")
        }
        return Array(bytes[..<filled])
    }

    private static func failure(_ place: String, _ message: String) -> PolicyLoadResult {
        PolicyLoadResult(policy: nil, diagnostics: [Diagnostic(file: place, severity: .error, message: message)])
    }
}
