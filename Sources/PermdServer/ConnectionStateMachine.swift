/// The flow of one line-protocol connection, free of I/O: `ConnectionHandler` reports
/// events (bytes read, lines found, answers back, a snapshot published, writability,
/// input closed, drain, idle, QUIT) and carries out the actions returned.
///
/// Lines are answered in request order. A write, a `SYNC` for a revision not served yet,
/// or an `AUTH` with a wrong token (answered after a delay) suspends the connection: later
/// lines stay in the inbound buffer and reading is held back until the answer is in, so a
/// query after a write sees it, a client that pipelines without waiting is slowed to the
/// writer's pace, and one that pipelines guesses gets one answer per delay. Consecutive
/// writes found in one pass over the buffer go to the writer as one job. Reading is also
/// held back while the channel is not writable (a client that does not read its replies).
struct ConnectionStateMachine {
    /// Where the connection is in its request/answer cycle.
    enum State: Equatable {
        /// Answering lines as they come.
        case serving
        /// Writes were found in this pass; further consecutive writes join them.
        case batchingWrites
        /// A line waits behind the writes found in this pass: the pass ends, they go out.
        case batchComplete
        /// A write job, a SYNC or a refused AUTH is outstanding: no more lines until its answer is in.
        case waiting(Wait)
        /// QUIT was answered in this pass: no more lines.
        case quitting
        /// The last replies are handed over; the channel closes once they are written.
        case closing
        /// The channel is closed, or being closed now.
        case closed
    }

    /// What a suspended connection waits for.
    enum Wait: Equatable {
        /// The writer's answers to a job.
        case writes
        /// A snapshot with at least `revision`; `number` tells this SYNC's deadline from
        /// the deadline of an earlier one that lost its race but was already due to run.
        case sync(revision: UInt64, number: UInt64)
        /// The delay before a wrong token's `ERR NOAUTH` is answered.
        case refusedToken
    }

    /// Where more lines can come from.
    enum Input: Equatable {
        /// The client may send more.
        case open
        /// Shutdown: only the complete lines already received are answered, nothing more is read.
        case draining
        /// The client closed its side: what it sent is answered, an unterminated rest too.
        case closed
    }

    /// What to do with the bytes just read.
    enum BytesReadAction: Equatable {
        /// Append them to the inbound buffer and process the lines.
        case processLines
        /// Append them: they are answered after the outstanding write or SYNC.
        case buffer
        /// Drop them: the connection is closing.
        case discard
    }

    /// How to take the next line from the inbound buffer.
    enum NextLineAction: Equatable {
        /// The next complete line (`LineFramer.next`).
        case takeLine
        /// The next line, or the unterminated rest as the last one (`LineFramer.finish`).
        case takeLineOrRest
        /// Take no more lines now.
        case stop
    }

    /// What to do with a line answered on the event loop (a query, a session command, an error).
    enum LineAction: Equatable {
        /// Answer it into the outbound buffer.
        case answer
        /// Put it back into the inbound buffer and end the pass: the writes before it go first.
        case holdForWrites
    }

    /// What to do once no more lines are taken.
    enum LinesProcessedAction: Equatable {
        case none
        /// Send this pass's writes to the writer as one job.
        case submitWrites
        /// Write and flush what is due, then close the channel once it is written.
        case closeWhenWritten
        /// Read from the channel (a read held back may go on now).
        case read
    }

    /// Whether to read from the channel.
    enum ReadAction: Equatable {
        case none
        /// Pass the read on (`context.read()`).
        case read
    }

    /// What to do when the input ends (the client closed its side) or a drain begins.
    enum InputEndAction: Equatable {
        case none
        /// Process the lines in the inbound buffer.
        case processLines
    }

    /// What to do when shutdown begins.
    enum DrainAction: Equatable {
        case none
        /// Process the lines in the inbound buffer.
        case processLines
        /// Answer the `SYNC` waited for, then process the lines held back.
        case answerSync(SyncAnswer)
    }

    /// What to do when the writer's answers arrive.
    enum WritesAnsweredAction: Equatable {
        case none
        /// Write the replies into the outbound buffer, then process the lines held back.
        case resume
    }

    /// What to do when the delay of a refused AUTH has passed.
    enum RefusalDueAction: Equatable {
        case none
        /// Write the `ERR NOAUTH` reply, then process the lines held back.
        case resume
    }

    /// The answer to a SYNC, with the revision this connection serves.
    enum SyncAnswer: Equatable {
        /// `OK <revision>`.
        case reached(UInt64)
        /// `ERR STALE <revision>`.
        case stale(UInt64)
    }

    /// What to do with a SYNC.
    enum SyncRequestAction: Equatable {
        /// Answer it now; the pass goes on.
        case answer(SyncAnswer)
        /// Wait for the publisher to wake the connection or for the deadline (tagged `number`).
        case wait(number: UInt64)
    }

    /// What to do when a waiting SYNC is woken by a snapshot or by its deadline.
    enum SyncWokenAction: Equatable {
        case none
        /// Stop waiting (cancel the other wake-up), answer, process the lines held back.
        case answer(SyncAnswer)
    }

    /// What to do on an idle timeout or an error.
    enum CloseAction: Equatable {
        case none
        /// Close the channel now, without waiting for replies to be written.
        case closeNow
    }

    private(set) var state = State.serving
    private(set) var input = Input.open
    /// `read` was asked for while reading may not go on.
    private var readHeldBack = false
    private var isWritable = true
    /// SYNC waits begun so far (numbers each wait's deadline).
    private var syncWaits: UInt64 = 0

    /// Whether the channel may be read now.
    private var mayRead: Bool { state == .serving && input == .open && isWritable }

    /// A read held back goes on once it may.
    private mutating func releaseHeldRead() -> ReadAction {
        guard readHeldBack && mayRead else { return .none }
        readHeldBack = false
        return .read
    }

    // MARK: Channel events

    /// Bytes arrived from the client.
    func bytesRead() -> BytesReadAction {
        switch state {
        case .serving: .processLines
        case .batchingWrites, .batchComplete, .waiting, .quitting: .buffer
        case .closing, .closed: .discard
        }
    }

    /// The pipeline asks to read more (`read(context:)`).
    mutating func readRequested() -> ReadAction {
        if mayRead { return .read }
        if state != .closing && state != .closed { readHeldBack = true }
        return .none
    }

    /// The channel's writability changed (the outbound buffer crossed a watermark).
    mutating func writabilityChanged(isWritable: Bool) -> ReadAction {
        self.isWritable = isWritable
        return releaseHeldRead()
    }

    /// The client closed its side of the connection.
    mutating func inputClosed() -> InputEndAction {
        if state == .closing || state == .closed { return .none }
        input = .closed
        return state == .serving ? .processLines : .none
    }

    /// Shutdown: answer the complete lines received, then close. A `SYNC` waiting for a
    /// revision is answered now with the connection's revision `current` (`ERR STALE`
    /// unless reached): the shutdown does not wait for its deadline.
    mutating func drain(current: UInt64) -> DrainAction {
        if state == .closing || state == .closed { return .none }
        if input == .open { input = .draining }
        if case .waiting(.sync(let revision, _)) = state {
            state = .serving
            return .answerSync(current >= revision ? .reached(current) : .stale(current))
        }
        return state == .serving ? .processLines : .none
    }

    /// No bytes arrived for the idle timeout.
    mutating func idleTimedOut() -> CloseAction { closeNow() }

    /// The channel reported an error.
    mutating func errorCaught() -> CloseAction { closeNow() }

    private mutating func closeNow() -> CloseAction {
        if state == .closed { return .none }
        state = .closed
        return .closeNow
    }

    /// The channel is closed (`channelInactive`): from now on every event is ignored.
    mutating func channelClosed() {
        state = .closed
    }

    // MARK: A pass over the inbound lines

    /// Whether a query line taken now is answered at once, in order: no write of this pass
    /// is held for the writer and the connection waits for nothing.
    var answersQueriesAtOnce: Bool { state == .serving }

    /// Whether, and how, to take another line.
    func nextLine() -> NextLineAction {
        switch state {
        case .serving, .batchingWrites: input == .closed ? .takeLineOrRest : .takeLine
        case .batchComplete, .waiting, .quitting, .closing, .closed: .stop
        }
    }

    /// A write the connection may make was taken: it joins this pass's job for the writer.
    mutating func writeFound() {
        if state == .serving { state = .batchingWrites }
    }

    /// A line answered on the event loop was taken (a query, a session command, an error).
    mutating func answerableLineFound() -> LineAction {
        guard case .batchingWrites = state else { return .answer }
        state = .batchComplete
        return .holdForWrites
    }

    /// QUIT was answered: answer nothing more, close once the replies are written.
    mutating func quit() {
        if state == .serving { state = .quitting }
    }

    /// No more lines are taken in this pass (none is complete, or the connection waits).
    mutating func linesProcessed() -> LinesProcessedAction {
        switch state {
        case .batchingWrites, .batchComplete:
            state = .waiting(.writes)
            return .submitWrites
        case .quitting:
            state = .closing
            return .closeWhenWritten
        case .serving where input != .open:
            state = .closing
            return .closeWhenWritten
        case .serving:
            return releaseHeldRead() == .read ? .read : .none
        case .waiting, .closing, .closed:
            return .none
        }
    }

    // MARK: Answers

    /// The writer answered the job this connection waits for.
    mutating func writesAnswered() -> WritesAnsweredAction {
        guard state == .waiting(.writes) else { return .none }
        state = .serving
        return .resume
    }

    /// An `AUTH` presented a wrong token: its answer waits for the delay, and every line after it too.
    mutating func tokenRefused() {
        assert(state == .serving, "an AUTH is answered only while serving")
        state = .waiting(.refusedToken)
    }

    /// The delay of the refused AUTH has passed.
    mutating func refusalDue() -> RefusalDueAction {
        guard state == .waiting(.refusedToken) else { return .none }
        state = .serving
        return .resume
    }

    /// A `SYNC` for `revision` while the connection serves the snapshot of revision `current`.
    /// - Parameter reachable: whether the database answers; during an outage a revision not
    ///   in the index cannot come (SPEC §8), so waiting for it is pointless.
    mutating func syncRequested(revision: UInt64, current: UInt64, reachable: Bool = true) -> SyncRequestAction {
        assert(state == .serving, "a SYNC is answered only while serving")
        if current >= revision { return .answer(.reached(current)) }
        if !reachable { return .answer(.stale(current)) }
        syncWaits += 1
        state = .waiting(.sync(revision: revision, number: syncWaits))
        return .wait(number: syncWaits)
    }

    /// The publisher woke the connection: it now serves the snapshot of revision `current`.
    mutating func snapshotPublished(current: UInt64) -> SyncWokenAction {
        guard case .waiting(.sync(let revision, _)) = state, current >= revision else { return .none }
        state = .serving
        return .answer(.reached(current))
    }

    /// The deadline of SYNC wait `number` passed; the connection serves revision `current`.
    mutating func syncDeadlinePassed(number: UInt64, current: UInt64) -> SyncWokenAction {
        guard case .waiting(.sync(let revision, let waiting)) = state, waiting == number else { return .none }
        state = .serving
        return .answer(current >= revision ? .reached(current) : .stale(current))
    }
}
