/// The policy digest (SPEC §8): the first 12 hex digits of a SHA-256 over the sorted policy
/// files, so that an operator can see in `STATS` and `/metrics` that every replica serves
/// the same policies. The one place it is computed.
public enum PolicyDigest {
    /// Hex digits kept of the SHA-256.
    public static let length = 12

    /// The digest of `files`, each a path relative to the policy directory with its bytes
    /// as read, taken in path order. Each file is framed by its path and byte count, so a
    /// rename changes the digest and no two file sets hash the same bytes.
    public static func of(_ files: [(relativePath: String, bytes: [UInt8])]) -> String {
        var hash = SHA256()
        for file in files.sorted(by: { $0.relativePath < $1.relativePath }) {
            hash.update(file.relativePath.utf8)
            hash.update([0])
            let count = UInt64(file.bytes.count)
            hash.update((0..<8).map { UInt8(truncatingIfNeeded: count >> (56 - 8 * $0)) })
            hash.update(file.bytes)
        }
        return hex(hash.finish()).prefix(length).description
    }

    /// The full SHA-256 of `bytes` in hex (for testing the hash against published vectors).
    static func sha256Hex(_ bytes: [UInt8]) -> String {
        var hash = SHA256()
        hash.update(bytes)
        return hex(hash.finish())
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
