#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the transport (not of an answer), with a message a person can act on.
struct TransportError: Error, CustomStringConvertible {
    var description: String
}

/// One blocking stream socket to the server. Blocking calls keep the client cheap: a
/// connection is one thread that sleeps in the kernel until its answers arrive, so the
/// client's own work per request is one `send` and one `recv` and nothing else.
final class BlockingSocket: Sendable {
    let descriptor: Int32

    /// Connects to `endpoint` (TCP with Nagle off, so that one request is one segment).
    init(connectingTo endpoint: Endpoint) throws(TransportError) {
        switch endpoint {
        case .tcp(let host, let port):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
                throw TransportError(description: "\(endpoint): the host must be an IPv4 address or localhost")
            }
            descriptor = try Self.open(AF_INET, endpoint)
            let status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard status == 0 else { throw Self.failure("cannot connect to \(endpoint)", closing: descriptor) }
            var one: Int32 = 1
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        case .unix(let path):
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let capacity = MemoryLayout.size(ofValue: address.sun_path)
            guard path.utf8.count < capacity else {
                throw TransportError(description: "\(path): a Unix socket path must be shorter than \(capacity) bytes")
            }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: path.utf8)
                raw[path.utf8.count] = 0
            }
            descriptor = try Self.open(AF_UNIX, endpoint)
            let status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard status == 0 else { throw Self.failure("cannot connect to \(path)", closing: descriptor) }
        }
    }

    deinit {
        close(descriptor)
    }

    /// Sends every byte (a blocking socket may take them in parts).
    func sendAll(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
        var offset = 0
        while offset < bytes.count {
            let sent = send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { throw Self.failure("send failed", closing: nil) }
            offset += sent
        }
    }

    /// Sends every byte of `bytes`.
    func sendAll(_ bytes: [UInt8]) throws(TransportError) {
        let failure: TransportError? = bytes.withUnsafeBytes { buffer in
            do throws(TransportError) {
                try sendAll(buffer)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Waits for bytes and reads what is there into `buffer` (its whole length); returns the count.
    func receive(into buffer: inout [UInt8]) throws(TransportError) -> Int {
        let result: Result<Int, TransportError> = buffer.withUnsafeMutableBytes { bytes in
            Result { () throws(TransportError) in try receive(into: bytes) }
        }
        return try result.get()
    }

    /// Waits for bytes and reads what is there into `buffer`; throws when the server closed.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(TransportError) -> Int {
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if count > 0 { return count }
            if count < 0 && errno == EINTR { continue }
            throw count == 0
                ? TransportError(description: "the server closed the connection")
                : Self.failure("receive failed", closing: nil)
        }
    }

    /// Waits up to `nanoseconds` for bytes to read; true when there are some.
    func waitForInput(nanoseconds: UInt64) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(min((nanoseconds + 999_999) / 1_000_000, 1_000))
        return poll(&entry, 1, milliseconds) > 0
    }

    private static func open(_ family: Int32, _ endpoint: Endpoint) throws(TransportError) -> Int32 {
        #if canImport(Glibc)
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(family, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw failure("cannot open a socket for \(endpoint)", closing: nil) }
        return descriptor
    }

    private static func failure(_ what: String, closing descriptor: Int32?) -> TransportError {
        let reason = String(cString: strerror(errno))
        if let descriptor { close(descriptor) }
        return TransportError(description: "\(what): \(reason)")
    }
}

/// Raises the soft open-file limit to the hard one: a run of 1,000 connections needs more
/// descriptors than the usual soft limit of 1,024 leaves.
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// The monotonic clock in nanoseconds (a vDSO call: no system call per reading).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}
