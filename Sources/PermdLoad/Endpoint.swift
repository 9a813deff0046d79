/// Where the server under load listens: a TCP address on the loopback or a network, or a
/// Unix socket.
enum Endpoint: Sendable, CustomStringConvertible {
    case tcp(host: String, port: UInt16)
    case unix(path: String)

    /// permd's default address (SPEC §5).
    static let defaultServer = "127.0.0.1:7468"

    /// Parses `HOST:PORT` (the host an IPv4 address or `localhost`); nil when malformed.
    init?(hostAndPort text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0
        else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty else { return nil }
        self = .tcp(host: host == "localhost" ? "127.0.0.1" : host, port: port)
    }

    var description: String {
        switch self {
        case .tcp(let host, let port): "\(host):\(port)"
        case .unix(let path): path
        }
    }
}
