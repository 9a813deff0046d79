// LoadClient: measures a running `permd serve` as a client would. N connections, each a
// thread that writes a batch of pipelined CHECK lines in one write, reads every answer,
// and repeats until the time or request budget is spent. Prints requests/s and the
// batch round-trip latency (p50, p99).
//
//   LoadClient [--host 127.0.0.1] [--port 7468] [--connections 4] [--batch 64]
//              [--users 100000] [--user-prefix u] [--org org_acme]
//              [--perms read:invoices,create:projects] [--seconds 10] [--requests N]

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Options {
    var host = "127.0.0.1"
    var port = 7468
    var connections = 4
    var batch = 64
    var users = 100_000
    var userPrefix = "u"
    var org = "org_acme"
    var perms = ["read:invoices", "create:projects"]
    var seconds = 10.0
    var requests = Int.max

    init(_ arguments: ArraySlice<String>) {
        var arguments = arguments
        while let flag = arguments.popFirst() {
            guard let value = arguments.popFirst() else { Self.usage("\(flag) needs a value") }
            switch flag {
            case "--host": host = value
            case "--port": port = Self.number(flag, value)
            case "--connections": connections = Self.number(flag, value)
            case "--batch": batch = Self.number(flag, value)
            case "--users": users = Self.number(flag, value)
            case "--user-prefix": userPrefix = value
            case "--org": org = value
            case "--perms": perms = value.split(separator: ",").map(String.init)
            case "--seconds":
                guard let number = Double(value), number > 0 else { Self.usage("--seconds needs a positive number, not \"\(value)\"") }
                seconds = number
            case "--requests": requests = Self.number(flag, value)
            default: Self.usage("unknown option \(flag)")
            }
        }
    }

    static func number(_ flag: String, _ value: String) -> Int {
        guard let number = Int(value), number > 0 else { usage("\(flag) needs a positive integer, not \"\(value)\"") }
        return number
    }

    static func usage(_ problem: String) -> Never {
        FileHandle.standardError.write(Data("LoadClient: \(problem)\n".utf8))
        exit(2)
    }
}

/// One connection's results.
struct ConnectionResult {
    var requests = 0
    var allows = 0
    var errors = 0
    var latencies: [UInt64] = []  // nanoseconds per batch round trip
}

func connectTo(host: String, port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr(host)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else { Options.usage("cannot connect to \(host):\(port) (errno \(errno))") }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    return fd
}

/// Every batch this connection will send, made up front so that the loop only writes
/// and reads: `count` distinct batches of random users and the permissions in turn.
func makeBatches(_ options: Options, seed: UInt64, count: Int) -> [[UInt8]] {
    var generator = SplitMix(state: seed)
    return (0..<count).map { _ in
        var bytes: [UInt8] = []
        for index in 0..<options.batch {
            let user = Int(generator.next() % UInt64(options.users)) + 1
            let perm = options.perms[index % options.perms.count]
            bytes += Array("CHECK \(options.userPrefix)\(user) \(options.org) \(perm)\n".utf8)
        }
        return bytes
    }
}

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func runConnection(_ options: Options, index: Int, deadline: UInt64, budget: Int) -> ConnectionResult {
    let fd = connectTo(host: options.host, port: options.port)
    defer { close(fd) }
    let batches = makeBatches(options, seed: UInt64(index + 1), count: 64)
    var result = ConnectionResult()
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var round = 0
    while DispatchTime.now().uptimeNanoseconds < deadline && result.requests < budget {
        let batch = batches[round % batches.count]
        round += 1
        let started = DispatchTime.now().uptimeNanoseconds
        var offset = 0
        while offset < batch.count {
            let sent = batch[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { Options.usage("send failed (errno \(errno))") }
            offset += sent
        }
        var answered = 0
        var lineStart = true
        while answered < options.batch {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { Options.usage("the server closed the connection (errno \(errno))") }
            for position in 0..<count {
                let byte = buffer[position]
                if lineStart {
                    if byte == UInt8(ascii: "A") { result.allows += 1 }  // ALLOW
                    if byte == UInt8(ascii: "E") { result.errors += 1 }  // ERR
                }
                lineStart = byte == UInt8(ascii: "\n")
                if lineStart { answered += 1 }
            }
        }
        result.latencies.append(DispatchTime.now().uptimeNanoseconds - started)
        result.requests += options.batch
    }
    return result
}

let options = Options(CommandLine.arguments.dropFirst())
let started = DispatchTime.now().uptimeNanoseconds
let deadline = started + UInt64(options.seconds * 1e9)
let perConnection = options.requests == Int.max ? Int.max : (options.requests + options.connections - 1) / options.connections
let results = Mutex<[ConnectionResult]>([])
let finished = DispatchGroup()
for index in 0..<options.connections {
    finished.enter()
    let thread = Thread {
        let result = runConnection(options, index: index, deadline: deadline, budget: perConnection)
        results.withLock { $0.append(result) }
        finished.leave()
    }
    thread.start()
}
finished.wait()
let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9

let all = results.withLock { $0 }
let requests = all.reduce(0) { $0 + $1.requests }
let allows = all.reduce(0) { $0 + $1.allows }
let errors = all.reduce(0) { $0 + $1.errors }
let latencies = all.flatMap(\.latencies).sorted()
func percentile(_ p: Double) -> Double {
    guard !latencies.isEmpty else { return 0 }
    return Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1e6
}
print("connections=\(options.connections) batch=\(options.batch) users=\(options.users) seconds=\(String(format: "%.1f", elapsed))")
print("requests=\(requests) requests/s=\(Int(Double(requests) / elapsed)) allow=\(String(format: "%.1f", 100 * Double(allows) / Double(max(requests, 1))))% errors=\(errors)")
print("batch latency ms: p50=\(String(format: "%.3f", percentile(0.50))) p99=\(String(format: "%.3f", percentile(0.99))) batches=\(latencies.count)")
