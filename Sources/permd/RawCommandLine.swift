import Foundation

/// The command line and the `PERMD_*` variables as the system gave them, as bytes.
///
/// SPEC §7: a value that is not valid UTF-8 is refused, never altered. Swift's
/// `CommandLine.arguments` and Foundation's environment have already replaced such bytes
/// with U+FFFD by the time a command sees them, so only the C strings can tell.
enum RawCommandLine {
    /// Why the command line cannot be taken as given — its first argument or `PERMD_*`
    /// variable that is not valid UTF-8 — or nil when every one is.
    static func undecodableValue() -> String? {
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            let bytes = Self.bytes(argument)
            if String(validating: bytes, as: UTF8.self) == nil {
                return "argument \(index) is not valid UTF-8 (\(shown(bytes))); nothing was done"
            }
        }
        var entry = environ
        while let variable = entry.pointee {
            entry += 1
            let bytes = Self.bytes(variable)
            guard bytes.starts(with: "PERMD_".utf8), let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let value = Array(bytes[(equals + 1)...])
            if String(validating: value, as: UTF8.self) == nil {
                let name = String(decoding: bytes[..<equals], as: UTF8.self)
                return "\(name) is not valid UTF-8 (\(shown(value))); nothing was done"
            }
        }
        return nil
    }

    private static func bytes(_ text: UnsafePointer<CChar>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: text, count: strlen(text)))
    }

    /// The bytes quoted, printable ASCII as itself and every other byte as `\xE9`.
    private static func shown(_ bytes: [UInt8]) -> String {
        let text = bytes.map { byte in
            byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "\"")
                ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16, uppercase: true)
        }
        return "\"" + text.joined() + "\""
    }
}
