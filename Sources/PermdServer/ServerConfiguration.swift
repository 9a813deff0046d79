import NIOCore

/// How a server listens and what it allows (SPEC §5, §7).
public struct ServerConfiguration: Sendable {
    /// The TCP host to listen on; nil for no TCP listener.
    public var host: String? = "127.0.0.1"
    /// The TCP port (0 picks a free one; read it back from `PermdServer.tcpAddress`).
    public var port: Int = 7468
    /// The Unix socket path, when one is wanted.
    public var unixPath: String?
    /// The Unix socket's permission bits (owner-only unless widened: without an admin token,
    /// whoever may connect to it may write).
    public var unixMode: UInt32 = 0o600
    /// The longest request line, in bytes.
    public var maxLineLength = 8192
    /// Seconds without input after which a connection is closed.
    public var idleTimeoutSeconds: Int64 = 300
    /// Connections served at once; the next one gets `ERR BUSY`. `permd serve` lowers it to
    /// what the open-file limit allows (`DescriptorBudget`).
    public var maxConnections = 10_000
    /// The admin tokens writes need (after `AUTH` with any of them); none: writes only over
    /// the Unix socket. Several: one per application, or two during a rotation.
    public var adminTokens: [NamedToken] = []
    /// The token every command needs (after `AUTH`); nil: queries are open.
    public var queryToken: String?
    /// The file `queryToken` was read from, which `RELOAD` reads again.
    public var queryTokenFile: String?

    /// The one admin token, when there is a single one; setting it replaces them all by one
    /// named `admin` (a token given in code rather than by a file).
    public var adminToken: String? {
        get { adminTokens.first?.token }
        set { adminTokens = newValue.map { [NamedToken(name: "admin", token: $0)] } ?? [] }
    }
    /// The event loop threads (one per core by default).
    public var threads = System.coreCount
    /// Outbound bytes queued for a connection before the server stops reading it; also
    /// the size asked for the connection's kernel send buffer.
    public var outboundHighWatermark = 256 * 1024

    /// How long the audit log keeps a revision (`--log-retention`, SPEC §8, §9); nil: forever.
    public var logRetention: Duration? = Self.defaultLogRetention
    /// SPEC §8's 30 days.
    public static let defaultLogRetention: Duration = .seconds(30 * 86_400)

    /// A configuration with the defaults of SPEC §7.
    public init() {}

    /// The TCP listener as `HOST:PORT` (`permd serve --listen`); the host is empty when there is none.
    public var listenAddress: String {
        let shown = host.map { $0.contains(":") ? "[\($0)]" : $0 } ?? ""
        return "\(shown):\(port)"
    }
}
