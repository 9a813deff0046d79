import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a listener could not be opened; `description` is a sentence naming the address
/// (`cannot listen on 127.0.0.1:7468: address already in use`).
public struct ListenError: Error, Equatable, CustomStringConvertible {
    /// `HOST:PORT`, or the Unix socket's path.
    public var address: String
    /// What went wrong, in words.
    public var reason: String

    public var description: String { "cannot listen on \(address): \(reason)" }

    init(_ address: String, _ reason: String) {
        self.address = address
        self.reason = reason
    }

    /// The failure of a listener's system call, as errno says it.
    init(_ address: String, errno code: Int32) {
        self.init(address, errnoMessage(code))
    }

    /// What NIO reports for a TCP bind, in words.
    init(_ address: String, binding error: any Error) {
        switch error {
        case let error as IOError:
            self.init(address, errno: error.errnoCode)
        case SocketAddressError.unknown(let host, _):
            self.init(address, "cannot resolve the host \"\(host)\"")
        case let error:
            self.init(address, "\(error)")
        }
    }
}

/// errno's message, to end a sentence: `address already in use`.
func errnoMessage(_ code: Int32) -> String {
    let message = String(cString: strerror(code))
    guard let first = message.first, message.dropFirst().first?.isLowercase ?? true else { return message }
    return first.lowercased() + message.dropFirst()
}

/// The Unix socket of `--unix` (SPEC §5): bound owner-only whatever the umask, then given
/// the mode asked for, before anyone can connect; a stale socket file is replaced, a live
/// one (another server) or any other file is left alone.
enum UnixSocketListener {
    /// The longest Unix socket path, in bytes (`sun_path` without its terminating NUL).
    static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Binds a Unix stream socket at `path` with `mode` and listens on it.
    /// - Returns: the listening descriptor, for `ServerBootstrap.withBoundSocket`.
    static func listen(path: String, mode: UInt32, backlog: Int32) throws(ListenError) -> CInt {
        guard path.utf8.count <= maxPathBytes, let address = try? SocketAddress(unixDomainSocketPath: path) else {
            throw ListenError(path, "the path is \(path.utf8.count) bytes, longer than the \(maxPathBytes) bytes a Unix socket path may have")
        }
        try replaceStaleSocket(at: path)

        let descriptor = socket(AF_UNIX, streamType, 0)
        guard descriptor >= 0 else { throw ListenError(path, errno: errno) }
        // The socket file is created with the mode the umask leaves; the umask is set for
        // this one call so the file is owner-only from its first instant, then widened by
        // chmod if asked. (The umask is per process: a file another thread creates in
        // these microseconds is created narrower than it would be, never wider.)
        let savedMask = umask(0o177)
        let bound = address.withSockAddr { bind(descriptor, $0, socklen_t($1)) }
        let bindError = errno
        umask(savedMask)
        guard bound == 0 else {
            close(descriptor)
            throw ListenError(path, errno: bindError)
        }
        let ready = (mode == 0o600 || chmod(path, mode_t(mode)) == 0) && systemListen(descriptor, backlog) == 0
        guard ready else {
            let error = ListenError(path, errno: errno)
            close(descriptor)
            unlink(path)
            throw error
        }
        return descriptor
    }

    /// Removes a socket file nobody listens on (left by a server that stopped); refuses a
    /// socket a server listens on and anything that is not a socket.
    private static func replaceStaleSocket(at path: String) throws(ListenError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw ListenError(path, "the path exists and is not a socket; permd never deletes such a file: remove it or choose another --unix path")
        }
        if isListenedOn(path) {
            throw ListenError(path, "address already in use (a server is listening on that socket)")
        }
        guard unlink(path) == 0 || errno == ENOENT else { throw ListenError(path, errno: errno) }
    }

    /// Whether a server accepts connections on the socket at `path` (a non-blocking connect:
    /// refused means stale; accepted or queued means live).
    private static func isListenedOn(_ path: String) -> Bool {
        guard let address = try? SocketAddress(unixDomainSocketPath: path) else { return false }
        let probe = socket(AF_UNIX, streamType, 0)
        guard probe >= 0 else { return false }
        defer { close(probe) }
        _ = fcntl(probe, F_SETFL, fcntl(probe, F_GETFL) | O_NONBLOCK)
        let connected = address.withSockAddr { connect(probe, $0, socklen_t($1)) }
        return connected == 0 || errno == EAGAIN || errno == EINPROGRESS
    }

    #if canImport(Glibc)
    private static let streamType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    private static let systemListen = Glibc.listen
    #else
    private static let streamType = SOCK_STREAM
    private static let systemListen = Darwin.listen
    #endif
}
