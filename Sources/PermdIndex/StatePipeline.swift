import Dispatch
package import PermdCore
import Synchronization

/// A state sink that hands the rows to another sink on a second thread, so that reading
/// the database and building from its rows run at the same time: a full build of millions
/// of rows takes about as long as the slower of the two, not their sum.
///
/// The rows are copied into batches of bytes (the reader's buffers live only for one call);
/// at most `batchesInFlight` batches wait for the second thread, so memory stays bounded
/// when the reader is the faster side. Feed it as any sink, then call `finish()` for the
/// sink with every row applied, in the order fed.
package struct StatePipeline<Sink: StateSink & Sendable>: StateSink {
    static var rowsPerBatch: Int { 16_384 }
    static var batchesInFlight: Int { 4 }

    private var batch: StateBatch
    private let consumer: Consumer

    /// - Parameter sink: receives every row, on the pipeline's own thread.
    package init(_ sink: Sink) {
        consumer = Consumer(sink)
        batch = consumer.emptyBatch()
    }

    package mutating func organization(_ code: UnsafeRawBufferPointer) {
        batch.append(.organization, code)
        flushWhenFull()
    }

    package mutating func user(_ id: UnsafeRawBufferPointer) {
        batch.append(.user, id)
        flushWhenFull()
    }

    package mutating func membership(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) {
        batch.append(.membership, user, organization)
        flushWhenFull()
    }

    package mutating func roleAssignment(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                        role: UnsafeRawBufferPointer) {
        batch.append(.roleAssignment, user, organization, role)
        flushWhenFull()
    }

    package mutating func directGrant(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                     permission: UnsafeRawBufferPointer) {
        batch.append(.directGrant, user, organization, permission)
        flushWhenFull()
    }

    /// Waits until every row fed has reached the sink, and returns the sink.
    package consuming func finish() -> Sink {
        flush()
        return consumer.take()
    }

    private mutating func flushWhenFull() {
        if batch.rowCount == batch.capacity { flush() }
    }

    private mutating func flush() {
        guard batch.rowCount > 0 else { return }
        consumer.consume(batch)
        batch = consumer.emptyBatch()
    }

    /// The second thread's side: the sink, fed one batch at a time on a serial queue.
    ///
    /// `@unchecked Sendable`: `sink` is touched only on `queue` (by the batches) and by
    /// `take()` through `queue.sync`, after the batches before it.
    private final class Consumer: @unchecked Sendable {
        private var sink: Sink?
        private let queue = DispatchQueue(label: "permd.state-pipeline")
        private let slots = DispatchSemaphore(value: StatePipeline.batchesInFlight)
        /// Replayed batches, for the reader to fill again.
        private let spares = Mutex<[StateBatch]>([])

        init(_ sink: Sink) {
            self.sink = sink
        }

        /// A spare batch, or a new one.
        func emptyBatch() -> StateBatch {
            spares.withLock { $0.popLast() } ?? StateBatch(rows: StatePipeline.rowsPerBatch)
        }

        /// Queues a batch, first waiting while `batchesInFlight` are queued.
        func consume(_ batch: StateBatch) {
            slots.wait()
            queue.async { [self] in
                batch.replay(into: &sink!)
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
