#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many connections the open-file limit leaves room for (SPEC §5 Limits): each
/// connection holds one descriptor; the rest of the limit is kept for what the process
/// already holds (the database, standard streams) and what it opens later (the listeners,
/// the event loops' descriptors, policy files on reload, SQLite's temporary files, the
/// connections being answered `ERR BUSY`).
public struct DescriptorBudget: Sendable, Equatable {
    /// The soft open-file limit (RLIMIT_NOFILE).
    public var openFileLimit: Int
    /// Descriptors open when the budget was taken.
    public var inUse: Int
    /// The server's event loop threads (each holds a few descriptors of its own).
    public var threads: Int

    /// Descriptors kept free for policy files, SQLite and the `ERR BUSY` answers.
    static let spare = 32
    /// Descriptors each event loop opens (epoll, its wake-up eventfd, its timerfd).
    static let perThread = 3
    /// The TCP listener and the Unix socket.
    static let listeners = 2

    /// - Parameters:
    ///   - openFileLimit: the soft RLIMIT_NOFILE.
    ///   - inUse: descriptors the process holds now.
    ///   - threads: the event loop threads the server will start.
    public init(openFileLimit: Int, inUse: Int, threads: Int) {
        self.openFileLimit = openFileLimit
        self.inUse = inUse
        self.threads = threads
    }

    /// Descriptors kept for everything but the connections.
    public var reserve: Int { inUse + Self.listeners + Self.perThread * threads + Self.spare }

    /// The connections the limit leaves room for (0 when none).
    public var connections: Int { max(0, openFileLimit - reserve) }

    /// Raises the process's soft open-file limit to its hard one, then counts the
    /// descriptors open now: the budget of a server about to start `threads` event loops.
    public static func raisingTheLimit(threads: Int) -> DescriptorBudget {
        DescriptorBudget(openFileLimit: raiseOpenFileLimit(), inUse: openDescriptors(), threads: threads)
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit, where the system allows it; returns
    /// the soft limit in force afterwards.
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            #if canImport(Darwin)
            // Darwin refuses an unlimited soft limit; OPEN_MAX is the most it takes.
            if raised.rlim_cur == RLIM_INFINITY { raised.rlim_cur = rlim_t(OPEN_MAX) }
            #endif
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif

    /// The descriptors this process holds: the entries of /proc/self/fd (Linux), else
    /// every descriptor number below the highest one in use that `fcntl` knows.
    static func openDescriptors() -> Int {
        if let directory = opendir("/proc/self/fd") {
            defer { closedir(directory) }
            var count = 0
            while let entry = readdir(directory) {
                if UInt8(bitPattern: entry.pointee.d_name.0) != UInt8(ascii: ".") { count += 1 }
            }
            return max(0, count - 1)  // the directory's own descriptor
        }
        var count = 0
        for descriptor in 0..<Int32(min(getdtablesize(), 65_536)) where fcntl(descriptor, F_GETFD) != -1 {
            count += 1
        }
        return count
    }
}
