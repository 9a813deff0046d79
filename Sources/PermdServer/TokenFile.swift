import PermdCore

#if canImport(Glibc)
import Glibc
private let readDescriptor = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let readDescriptor = Darwin.read
#endif

/// A token file (`--admin-token-file`, `--query-token-file`; SPEC §5): the token is the
/// file's content without surrounding whitespace. A file that others can read or change,
/// or a token that `AUTH` could never send, is refused rather than served.
public enum TokenFile {
    /// Why a token file cannot be used; `description` is a sentence naming the file and
    /// what to do about it.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        /// The file.
        public var path: String
        /// What is wrong with it.
        public var reason: Reason

        /// What is wrong with a token file.
        public enum Reason: Equatable, Sendable {
            /// There is no file at the path.
            case missing
            /// It cannot be opened (errno's message).
            case unreadable(String)
            /// A directory, FIFO or device rather than a file.
            case notRegularFile
            /// Group or others may read it, or change it (the file's permission bits).
            case openToOthers(mode: UInt32)
            /// Nothing but whitespace.
            case empty
            /// Whitespace inside the token (its 1-based byte offset in the token).
            case whitespaceInside(at: Int)
            /// A byte outside printable ASCII (its 1-based byte offset in the token).
            case notPrintableASCII(at: Int)
            /// Longer than a protocol word.
            case tooLong(bytes: Int)
        }

        public var description: String {
            switch reason {
            case .missing:
                "\(path): the file does not exist; write the token into it and run chmod 600 \(path)"
            case .unreadable(let error):
                "\(path): cannot read the file (\(error)); it must be readable by the user permd runs as"
            case .notRegularFile:
                "\(path): not a regular file; give a file that holds the token"
            case .openToOthers(let mode):
                "\(path): the file is \(mode & 0o044 != 0 ? "readable" : "writable") by group or others (mode \(String(mode, radix: 8))); run chmod 600 \(path)"
            case .empty:
                "\(path): the file is empty; write the token into it"
            case .whitespaceInside(let offset):
                "\(path): the token holds whitespace (byte \(offset)), which AUTH cannot send; use a token without spaces"
            case .notPrintableASCII(let offset):
                "\(path): the token holds a byte outside printable ASCII (byte \(offset)), which AUTH cannot send"
            case .tooLong(let bytes):
                "\(path): the token is \(bytes) bytes; AUTH sends at most \(Identifier.maxIDLength)"
            }
        }
    }

    /// The most a token file may hold, whitespace included, before it is not read at all.
    static let maxFileBytes = 64 * 1024

    /// Reads the token from the file at `path`.
    public static func read(_ path: String) throws(Problem) -> String {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat on what was opened
        // (not stat on the path) so that the file checked is the file read.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw Problem(path: path, reason: code == ENOENT ? .missing : .unreadable(String(cString: strerror(code))))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw Problem(path: path, reason: .unreadable(String(cString: strerror(errno))))
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw Problem(path: path, reason: .notRegularFile) }
        let mode = UInt32(info.st_mode) & 0o7777
        // Writable counts too: whoever may change the token is admin after the next start.
        if mode & 0o066 != 0 { throw Problem(path: path, reason: .openToOthers(mode: mode)) }

        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while content.count <= maxFileBytes {
            let count = chunk.withUnsafeMutableBytes { readDescriptor(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Problem(path: path, reason: .unreadable(String(cString: strerror(errno)))) }
            if count == 0 { break }
            content += chunk[..<count]
        }
        if content.count > maxFileBytes { throw Problem(path: path, reason: .tooLong(bytes: Int(info.st_size))) }
        return try token(in: content, of: path)
    }

    /// The token in the content of the file at `path`: without surrounding whitespace, a
    /// word `AUTH` can send (1–255 bytes of printable ASCII).
    static func token(in content: [UInt8], of path: String) throws(Problem) -> String {
        func refuse(_ reason: Problem.Reason) -> Problem { Problem(path: path, reason: reason) }
        guard let first = content.firstIndex(where: { !isWhitespace($0) }),
              let last = content.lastIndex(where: { !isWhitespace($0) }) else { throw refuse(.empty) }
        let token = content[first...last]
        if let inside = token.firstIndex(where: isWhitespace) { throw refuse(.whitespaceInside(at: inside - first + 1)) }
        if let bad = token.firstIndex(where: { !Identifier.isIDByte($0) }) {
            throw refuse(.notPrintableASCII(at: bad - first + 1))
        }
        if token.count > Identifier.maxIDLength { throw refuse(.tooLong(bytes: token.count)) }
        return String(decoding: token, as: UTF8.self)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}
