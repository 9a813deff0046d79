import Dispatch
import PermdCore
import Synchronization

/// A change sink that applies a short log itself and, past `inlineChanges`, hands the rest
/// to a second thread in batches, so that reading a long log (a large import by another
/// process) and applying it run at the same time, as `StatePipeline` does for a full build.
///
/// A write's own catch-up is a handful of changes: those never meet a thread or a batch.
/// When the sink asks to stop on the second thread, the reader stops at its next batch.
struct ChangePipeline<Sink: ChangeSink & Sendable>: ChangeSink {
    // Tiny in debug builds, so that the unit tests cross into the second thread and over
    // batch boundaries.
    #if DEBUG
    static var inlineChanges: Int { 8 }
    static var changesPerBatch: Int { 16 }
    #else
    static var inlineChanges: Int { 4_096 }
    static var changesPerBatch: Int { 16_384 }
    #endif
    static var batchesInFlight: Int { 4 }

    /// The sink while changes are applied inline.
    private var sink: Sink?
    private var inline = 0
    private var consumer: Consumer?
    private var batch: ChangeRows?

    /// - Parameter sink: receives every change, in order.
    init(_ sink: Sink) {
        self.sink = sink
    }

    mutating func change(revision: UInt64, _ kind: ChangeKind, user: UnsafeRawBufferPointer,
                         organization: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) -> Bool {
        if sink != nil {
            guard sink!.change(revision: revision, kind, user: user, organization: organization, key: key) else {
                return false
            }
            inline += 1
            if inline == Self.inlineChanges {
                let consumer = Consumer(sink.take()!)
                batch = consumer.emptyBatch()
                self.consumer = consumer
            }
            return true
        }
        guard let consumer, let batch else { return false }
        batch.append(revision: revision, kind, user, organization, key)
        if batch.count == batch.capacity {
            consumer.consume(batch)
            self.batch = consumer.emptyBatch()
            return !consumer.stopped
        }
        return true
    }

    /// Waits until every change fed has reached the sink (or the sink asked to stop), and
    /// returns the sink.
    consuming func finish() -> Sink {
        if let sink { return sink }
        if let batch, batch.count > 0 { consumer!.consume(batch) }
        return consumer!.take()
    }

    /// The second thread's side: the sink, fed one batch at a time on a serial queue.
    ///
    /// `@unchecked Sendable`: `sink` is touched only on `queue` (by the batches) and by
    /// `take()` through `queue.sync`, after the batches before it.
    private final class Consumer: @unchecked Sendable {
        private var sink: Sink?
        private let queue = DispatchQueue(label: "permd.change-pipeline")
        private let slots = DispatchSemaphore(value: ChangePipeline.batchesInFlight)
        /// Replayed batches, for the reader to fill again.
        private let spares = Mutex<[ChangeRows]>([])
        private let stop = Atomic<Bool>(false)

        init(_ sink: Sink) {
            self.sink = sink
        }

        /// Whether the sink asked to stop.
        var stopped: Bool { stop.load(ordering: .relaxed) }

        /// A spare batch, or a new one.
        func emptyBatch() -> ChangeRows {
            spares.withLock { $0.popLast() } ?? ChangeRows(capacity: ChangePipeline.changesPerBatch)
        }

        /// Queues a batch, first waiting while `batchesInFlight` are queued.
        func consume(_ batch: ChangeRows) {
            slots.wait()
            queue.async { [self] in
                if stopped {
                    batch.removeAll()
                } else if !batch.replay(into: &sink!) {
                    stop.store(true, ordering: .relaxed)
                }
                spares.withLock { $0.append(batch) }
                slots.signal()
            }
        }

        /// The sink, once every queued batch is applied; moved out, so that nothing else
        /// holds references to its storage.
        func take() -> Sink {
            queue.sync {
                let taken = sink!
                sink = nil
                return taken
            }
        }
    }
}
