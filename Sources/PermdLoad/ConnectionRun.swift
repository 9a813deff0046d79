import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One connection's part of a run: it keeps up to `pipeline` requests in flight, sending
/// new ones as answers come back (or, with a rate, as their intended send times come), and
/// judges every answer as it arrives.
struct ConnectionRun: Sendable {
    let plan: ConnectionPlan
    let dialect: Dialect
    /// Requests in flight at most (`--pipeline`).
    let pipeline: Int
    /// Nanoseconds between this connection's intended sends (`--rate`); nil: as fast as the
    /// answers allow.
    let interval: UInt64?
    /// When this connection's schedule starts, after the run's start: the connections'
    /// schedules are staggered so that their sends do not all fall on the same instant.
    let phase: UInt64

    /// How long a connection waits for its last answers after the run's end.
    static let drainTimeout: UInt64 = 10_000_000_000

    /// What the connection did.
    struct Outcome: Sendable {
        var completed = 0
        var mismatches = 0
        var errors = 0
        /// Why the connection stopped early (a transport failure), if it did.
        var failure: String?
    }

    /// Runs from `start` until `deadline` (monotonic nanoseconds), then waits for the
    /// answers in flight. A latency is measured from the request's intended send time —
    /// with a rate, the time its schedule gave it, even if the connection was still waiting
    /// for answers then (coordinated omission), else the time it was sent.
    func run(on socket: BlockingSocket, start: UInt64, deadline: UInt64, latencies: LatencyRecorder,
             counters: ConnectionCounters, mismatches: MismatchLog) -> Outcome {
        var outcome = Outcome()
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        var filled = 0
        var sendBuffer: [UInt8] = []
        sendBuffer.reserveCapacity(pipeline * (plan.requests.first?.wire.count ?? 64) * 2)
        var inFlight = [Int](repeating: 0, count: pipeline)
        var intendedTimes = [UInt64](repeating: 0, count: pipeline)
        var head = 0
        var count = 0
        var batch: [UInt64] = []
        batch.reserveCapacity(LatencyRecorder.batchSize)
        var cursor = 0
        var scheduled: UInt64 = 0
        var added = false
        defer { latencies.record(batch) }

        func nextIntended() -> UInt64 { start &+ phase &+ scheduled &* (interval ?? 0) }

        do throws(TransportError) {
            while true {
                var now = monotonicNanoseconds()
                let sending = now < deadline
                if sending && count < pipeline {
                    sendBuffer.removeAll(keepingCapacity: true)
                    while count < pipeline {
                        let intended: UInt64
                        if interval != nil {
                            intended = nextIntended()
                            guard intended <= now, intended < deadline else { break }
                            scheduled += 1
                        } else {
                            intended = now
                        }
                        var index = plan.slots[cursor]
                        cursor = cursor + 1 == plan.slots.count ? 0 : cursor + 1
                        if index == ConnectionPlan.toggleSlot, let toggle = plan.toggle {
                            index = added ? toggle.remove : toggle.add
                            added.toggle()
                        }
                        sendBuffer.append(contentsOf: plan.requests[index].wire)
                        let tail = (head + count) % pipeline
                        inFlight[tail] = index
                        intendedTimes[tail] = intended
                        count += 1
                    }
                    if !sendBuffer.isEmpty {
                        try socket.sendAll(sendBuffer)
                    }
                }
                if count == 0 {
                    guard sending else { break }
                    sleep(until: min(nextIntended(), deadline))  // a rate, and nothing due yet
                    continue
                }
                if sending, interval != nil, count < pipeline {
                    let next = nextIntended()
                    if next > now, !socket.waitForInput(nanoseconds: min(next, deadline) - now) { continue }
                } else if !sending, !socket.waitForInput(nanoseconds: 1_000_000_000) {
                    if monotonicNanoseconds() > deadline + Self.drainTimeout {
                        throw TransportError(description: "no answer to \(count) requests \(Self.drainTimeout / 1_000_000_000) s after the end")
                    }
                    continue
                }
                if filled == buffer.count {
                    buffer = Self.grown(buffer, keeping: filled)
                }
                filled += try socket.receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                now = monotonicNanoseconds()
                var consumed = 0
                while consumed < filled {
                    let rest = UnsafeRawBufferPointer(rebasing: buffer[consumed..<filled])
                    guard let length = dialect.replyLength(rest) else { break }
                    guard count > 0 else {
                        throw TransportError(description: "the server sent an answer to no request: \(String(decoding: rest.prefix(80), as: UTF8.self))")
                    }
                    let reply = UnsafeRawBufferPointer(rebasing: rest[..<length])
                    let index = inFlight[head]
                    batch.append(now &- intendedTimes[head])
                    if batch.count == LatencyRecorder.batchSize {
                        latencies.record(batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                    head = head + 1 == pipeline ? 0 : head + 1
                    count -= 1
                    judge(reply, index, &outcome, mismatches)
                    consumed += length
                }
                if consumed > 0 {
                    filled -= consumed
                    if filled > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + consumed, byteCount: filled) }
                    counters.completed.store(outcome.completed, ordering: .relaxed)
                    counters.mismatches.store(outcome.mismatches, ordering: .relaxed)
                }
            }
            if added, let toggle = plan.toggle {
                try restore(toggle.remove, on: socket, &outcome, mismatches)
            }
        } catch {
            outcome.failure = error.description
        }
        return outcome
    }

    @inline(__always)
    private func judge(_ reply: UnsafeRawBufferPointer, _ index: Int, _ outcome: inout Outcome, _ log: MismatchLog) {
        outcome.completed += 1
        let check = plan.requests[index].check
        if dialect.isError(reply) { outcome.errors += 1 }
        if !dialect.verify(reply, check) {
            outcome.mismatches += 1
            log.report(request: plan.requests[index].text, expected: check, dialect: dialect, received: reply)
        }
    }

    /// Sends the write that undoes the connection's last one, so that the state ends as it
    /// began, and judges its answer (not counted as a request of the run).
    private func restore(_ index: Int, on socket: BlockingSocket, _ outcome: inout Outcome,
                         _ log: MismatchLog) throws(TransportError) {
        try socket.sendAll(plan.requests[index].wire)
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let received = try socket.receive(into: &chunk)
            reply += chunk[..<received]
            if let length = reply.withUnsafeBytes({ dialect.replyLength($0) }) {
                var judged = Outcome()
                reply.withUnsafeBytes { judge(UnsafeRawBufferPointer(rebasing: $0[..<length]), index, &judged, log) }
                outcome.mismatches += judged.mismatches
                outcome.errors += judged.errors
                return
            }
        }
    }

    private static func grown(_ buffer: UnsafeMutableRawBufferPointer, keeping count: Int) -> UnsafeMutableRawBufferPointer {
        let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
        larger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: count)
        buffer.deallocate()
        return larger
    }

    private func sleep(until time: UInt64) {
        let now = monotonicNanoseconds()
        guard time > now else { return }
        var request = timespec(tv_sec: Int((time - now) / 1_000_000_000), tv_nsec: Int((time - now) % 1_000_000_000))
        _ = nanosleep(&request, nil)
    }
}
