import Foundation
import Histogram
import Synchronization

/// A whole run: the connections opened (and authenticated) first, then started together,
/// one thread each, with a progress line once a second, until the duration is spent.
struct LoadRun {
    let endpoint: Endpoint
    let dialect: Dialect
    let plans: [ConnectionPlan]
    let pipeline: Int
    let duration: Double
    /// Requests per second over all connections (`--rate`); nil: as fast as answers allow.
    let rate: Double?
    /// Sent as `AUTH <token>` on every connection before the run starts.
    let token: String?

    /// What the run measured.
    struct Result {
        var elapsed: Double
        var completed: Int
        var mismatches: Int
        var errors: Int
        var failures: [String]
        var histogram: Histogram<UInt64>
    }

    /// Each connection's thread stack: the loop needs little, and a thousand connections
    /// with the default 8 MiB each would reserve 8 GiB of address space.
    static let stackSize = 512 * 1024

    func run() throws(LoadError) -> Result {
        raiseOpenFileLimit()
        let sockets = try plans.indices.map { index throws(LoadError) in try connect(index) }
        let latencies = LatencyRecorder()
        let log = MismatchLog()
        let counters = plans.map { _ in ConnectionCounters() }
        let outcomes = Mutex<[ConnectionRun.Outcome]>([])
        let finished = DispatchGroup()
        let perConnection = rate.map { $0 / Double(plans.count) }
        let interval = perConnection.map { UInt64(max(1, 1e9 / $0)) }
        // Every thread made before the first send.
        let start = monotonicNanoseconds() + 10_000_000 + UInt64(plans.count) * 200_000
        let deadline = start + UInt64(duration * 1e9)
        for (index, plan) in plans.enumerated() {
            let connection = ConnectionRun(plan: plan, dialect: dialect, pipeline: pipeline, interval: interval,
                                           phase: interval.map { $0 * UInt64(index) / UInt64(plans.count) } ?? 0)
            let socket = sockets[index]
            let counter = counters[index]
            finished.enter()
            let thread = Thread {
                while monotonicNanoseconds() < start { usleep(1_000) }
                let outcome = connection.run(on: socket, start: start, deadline: deadline, latencies: latencies,
                                             counters: counter, mismatches: log)
                outcomes.withLock { $0.append(outcome) }
                finished.leave()
            }
            thread.stackSize = Self.stackSize
            thread.start()
        }
        let progress = ProgressLine(counters: counters, start: start)
        progress.start()
        finished.wait()
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        progress.stop()
        let all = outcomes.withLock { $0 }
        return Result(
            elapsed: elapsed,
            completed: all.reduce(0) { $0 + $1.completed },
            mismatches: all.reduce(0) { $0 + $1.mismatches },
            errors: all.reduce(0) { $0 + $1.errors },
            failures: all.compactMap(\.failure),
            histogram: latencies.snapshot)
    }

    private func connect(_ index: Int) throws(LoadError) -> BlockingSocket {
        let socket: BlockingSocket
        do {
            socket = try BlockingSocket(connectingTo: endpoint)
        } catch {
            throw LoadError("connection \(index + 1) of \(plans.count): \(error)")
        }
        guard let token else { return socket }
        let (request, accepted) = dialect.authentication(token)
        var reply = [UInt8](repeating: 0, count: 512)
        do {
            try socket.sendAll(request)
            let count = try socket.receive(into: &reply)
            guard reply[..<count].elementsEqual(accepted) else {
                throw TransportError(description: "AUTH refused: \(String(decoding: reply[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        } catch {
            throw LoadError("\(endpoint): \(error)")
        }
        return socket
    }
}
