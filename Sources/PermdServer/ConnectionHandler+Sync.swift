import NIOCore
import PermdIndex
import PermdProtocol

extension ConnectionHandler {
    /// `SYNC`: answers now when the snapshot has the revision, else suspends the connection
    /// until the publisher wakes it with a snapshot that has it or the deadline passes
    /// (whichever comes first answers; the other is cancelled).
    func sync(to revision: UInt64, timeoutMilliseconds: Int64, context: ChannelHandlerContext) {
        switch state.syncRequested(revision: revision, current: snapshot.revision, reachable: shared.link?.databaseUp ?? true) {
        case .answer(let answer):
            write(answer)
        case .wait(let number):
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let wakeUp = shared.publisher.wakeUp(atRevision: revision, on: context.eventLoop) {
                let (handler, context) = loopBound.value
                handler.snapshotPublished(context: context)
            }
            let deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(timeoutMilliseconds)) {
                let (handler, context) = loopBound.value
                handler.syncDeadlinePassed(number: number, context: context)
            }
            syncWait = (wakeUp, deadline)
            // The revision may come from another process: look for outside changes now.
            shared.writer.requestRefresh()
        }
    }

    /// The publisher has a snapshot with the revision a SYNC waits for.
    func snapshotPublished(context: ChannelHandlerContext) {
        refreshSnapshot()
        switch state.snapshotPublished(current: snapshot.revision) {
        case .answer(let answer): endSync(answer, context: context)
        case .none: break
        }
    }

    /// The deadline of SYNC wait `number` passed.
    func syncDeadlinePassed(number: UInt64, context: ChannelHandlerContext) {
        refreshSnapshot()
        switch state.syncDeadlinePassed(number: number, current: snapshot.revision) {
        case .answer(let answer): endSync(answer, context: context)
        case .none: break
        }
    }

    /// Cancels the wake-up that lost, answers, goes on with the lines held back.
    func endSync(_ answer: ConnectionStateMachine.SyncAnswer, context: ChannelHandlerContext) {
        endSyncWait()
        write(answer)
        processLines(context: context)
        flush(context: context)
    }

    /// Cancels the wake-ups of the SYNC waited for, if any.
    func endSyncWait() {
        guard let wait = syncWait else { return }
        syncWait = nil
        wait.deadline.cancel()
        shared.publisher.cancelWakeUp(wait.wakeUp)
    }

    private func write(_ answer: ConnectionStateMachine.SyncAnswer) {
        switch answer {
        case .reached(let revision): Reply.writeRevision(revision, into: &outbound)
        case .stale(let revision):
            counts.error(.stale)
            Reply.writeError(.stale(current: revision), into: &outbound)
        }
    }
}
