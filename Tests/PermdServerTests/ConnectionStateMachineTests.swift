@testable import PermdServer
import Testing

/// The connection's flow without a socket: each test feeds events and asserts the actions
/// (`ConnectionStateMachine` is a value, so one state can be copied and tried with every event).
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine

    /// A connection that handed a write job to the writer.
    static func waitingForWrites() -> Machine {
        var machine = Machine()
        #expect(machine.bytesRead() == .processLines)
        #expect(machine.nextLine() == .takeLine)
        machine.writeFound()
        #expect(machine.nextLine() == .takeLine)
        #expect(machine.linesProcessed() == .submitWrites)
        #expect(machine.state == .waiting(.writes))
        return machine
    }

    /// A connection waiting for revision 5 while it serves revision 3.
    static func waitingForSync() -> Machine {
        var machine = Machine()
        #expect(machine.nextLine() == .takeLine)
        #expect(machine.answerableLineFound() == .answer)
        #expect(machine.syncRequested(revision: 5, current: 3) == .wait(number: 1))
        #expect(machine.nextLine() == .stop)
        #expect(machine.linesProcessed() == .none)
        return machine
    }

    /// A connection that answered QUIT and is writing its last replies.
    static func closing() -> Machine {
        var machine = Machine()
        #expect(machine.answerableLineFound() == .answer)
        machine.quit()
        #expect(machine.linesProcessed() == .closeWhenWritten)
        #expect(machine.state == .closing)
        return machine
    }

    // MARK: Every event in each state

    @Test func whileServing() {
        let serving = Machine()
        var machine = serving
        #expect(machine.bytesRead() == .processLines)
        #expect(machine.readRequested() == .read)
        #expect(machine.nextLine() == .takeLine)
        #expect(machine.answerableLineFound() == .answer)
        #expect(machine.linesProcessed() == .none)
        #expect(machine.state == .serving)

        machine = serving
        #expect(machine.writesAnswered() == .none)
        #expect(machine.snapshotPublished(current: 9) == .none)
        #expect(machine.syncDeadlinePassed(number: 1, current: 9) == .none)
        #expect(machine.writabilityChanged(isWritable: true) == .none)  // no read was held back
        #expect(machine.state == .serving)

        machine = serving
        #expect(machine.inputClosed() == .processLines)
        machine = serving
        #expect(machine.drain(current: 0) == .processLines)
        machine = serving
        #expect(machine.idleTimedOut() == .closeNow)
        machine = serving
        #expect(machine.errorCaught() == .closeNow)
    }

    @Test func whileWaitingForWrites() {
        let waiting = Self.waitingForWrites()
        var machine = waiting
        #expect(machine.bytesRead() == .buffer)
        #expect(machine.readRequested() == .none)
        #expect(machine.nextLine() == .stop)
        #expect(machine.linesProcessed() == .none)
        #expect(machine.snapshotPublished(current: 9) == .none)
        #expect(machine.syncDeadlinePassed(number: 1, current: 9) == .none)
        #expect(machine.writabilityChanged(isWritable: true) == .none)
        #expect(machine.state == .waiting(.writes))

        machine = waiting
        #expect(machine.writesAnswered() == .resume)
        #expect(machine.writesAnswered() == .none)  // one job, one answer

        machine = waiting
        #expect(machine.inputClosed() == .none)
        machine = waiting
        #expect(machine.drain(current: 0) == .none)
        machine = waiting
        #expect(machine.idleTimedOut() == .closeNow)
        machine = waiting
        #expect(machine.errorCaught() == .closeNow)
    }

    @Test func whileWaitingForSync() {
        let waiting = Self.waitingForSync()
        var machine = waiting
        #expect(machine.bytesRead() == .buffer)
        #expect(machine.readRequested() == .none)
        #expect(machine.nextLine() == .stop)
        #expect(machine.writesAnswered() == .none)
        #expect(machine.snapshotPublished(current: 4) == .none)  // not there yet
        #expect(machine.writabilityChanged(isWritable: true) == .none)
        #expect(machine.state == .waiting(.sync(revision: 5, number: 1)))

        machine = waiting
        #expect(machine.inputClosed() == .none)
        // Shutdown answers the SYNC now, with the revision served, and goes on serving.
        machine = waiting
        #expect(machine.drain(current: 4) == .answerSync(.stale(4)))
        #expect(machine.state == .serving)
        #expect(machine.syncDeadlinePassed(number: 1, current: 4) == .none)  // answered once
        machine = waiting
        #expect(machine.drain(current: 5) == .answerSync(.reached(5)))
        machine = waiting
        #expect(machine.idleTimedOut() == .closeNow)
        machine = waiting
        #expect(machine.errorCaught() == .closeNow)
    }

    @Test func whileClosing() {
        let closing = Self.closing()
        var machine = closing
        #expect(machine.bytesRead() == .discard)
        #expect(machine.readRequested() == .none)
        #expect(machine.nextLine() == .stop)
        #expect(machine.linesProcessed() == .none)
        #expect(machine.writesAnswered() == .none)
        #expect(machine.snapshotPublished(current: 9) == .none)
        #expect(machine.syncDeadlinePassed(number: 1, current: 9) == .none)
        #expect(machine.writabilityChanged(isWritable: true) == .none)
        #expect(machine.inputClosed() == .none)
        #expect(machine.drain(current: 0) == .none)
        #expect(machine.state == .closing)

        // A client that never reads its last replies does not keep the connection forever.
        machine = closing
        #expect(machine.idleTimedOut() == .closeNow)
        machine = closing
        #expect(machine.errorCaught() == .closeNow)
    }

    @Test func eventsAfterCloseAreIgnored() {
        for var machine in [Machine(), Self.waitingForWrites(), Self.waitingForSync(), Self.closing()] {
            machine.channelClosed()
            #expect(machine.bytesRead() == .discard)
            #expect(machine.readRequested() == .none)
            #expect(machine.nextLine() == .stop)
            #expect(machine.linesProcessed() == .none)
            #expect(machine.writesAnswered() == .none)
            #expect(machine.snapshotPublished(current: 9) == .none)
            #expect(machine.syncDeadlinePassed(number: 1, current: 9) == .none)
            #expect(machine.writabilityChanged(isWritable: false) == .none)
            #expect(machine.writabilityChanged(isWritable: true) == .none)
            #expect(machine.inputClosed() == .none)
            #expect(machine.drain(current: 0) == .none)
            #expect(machine.idleTimedOut() == .none)
            #expect(machine.errorCaught() == .none)
            #expect(machine.state == .closed)
        }
    }

    @Test func closingNowEndsEverything() {
        var machine = Self.waitingForWrites()
        #expect(machine.idleTimedOut() == .closeNow)
        #expect(machine.writesAnswered() == .none)
        #expect(machine.bytesRead() == .discard)
        #expect(machine.errorCaught() == .none)  // closed once
    }

    // MARK: Writes

    @Test func aWriteSuspendsAndHoldsReads() {
        var machine = Self.waitingForWrites()
        #expect(machine.readRequested() == .none)
        #expect(machine.bytesRead() == .buffer)
        #expect(machine.nextLine() == .stop)
    }

    @Test func theAnswerResumesAndReadsAgain() {
        var machine = Self.waitingForWrites()
        #expect(machine.readRequested() == .none)
        #expect(machine.writesAnswered() == .resume)
        #expect(machine.nextLine() == .takeLine)
        #expect(machine.answerableLineFound() == .answer)
        #expect(machine.linesProcessed() == .read)  // the read held back goes on
        #expect(machine.linesProcessed() == .none)  // and only once
        #expect(machine.readRequested() == .read)
    }

    @Test func theAnswerDoesNotReadWhenTheNextWriteSuspendsAgain() {
        var machine = Self.waitingForWrites()
        #expect(machine.readRequested() == .none)
        #expect(machine.writesAnswered() == .resume)
        machine.writeFound()
        #expect(machine.linesProcessed() == .submitWrites)
        #expect(machine.writesAnswered() == .resume)
        #expect(machine.linesProcessed() == .read)
    }

    @Test func consecutiveWritesGoAsOneJobAndALineAfterThemWaits() {
        var machine = Machine()
        machine.writeFound()
        #expect(machine.nextLine() == .takeLine)
        machine.writeFound()
        #expect(machine.nextLine() == .takeLine)
        #expect(machine.answerableLineFound() == .holdForWrites)
        #expect(machine.nextLine() == .stop)
        #expect(machine.linesProcessed() == .submitWrites)
        #expect(machine.writesAnswered() == .resume)
        #expect(machine.nextLine() == .takeLine)
        #expect(machine.answerableLineFound() == .answer)  // the held line, now after the writes
    }

    @Test func queriesBeforeAWriteAreAnsweredFirst() {
        var machine = Machine()
        #expect(machine.answerableLineFound() == .answer)
        #expect(machine.answerableLineFound() == .answer)
        machine.writeFound()
        #expect(machine.answerableLineFound() == .holdForWrites)
    }

    // MARK: The end of the input

    @Test func inputClosedTakesTheUnterminatedRestThenCloses() {
        var machine = Machine()
        #expect(machine.inputClosed() == .processLines)
        #expect(machine.nextLine() == .takeLineOrRest)
        #expect(machine.answerableLineFound() == .answer)
        #expect(machine.linesProcessed() == .closeWhenWritten)
        #expect(machine.bytesRead() == .discard)
    }

    @Test func inputClosedWhileSuspendedClosesOnlyAfterTheAnswer() {
        var machine = Self.waitingForWrites()
        #expect(machine.inputClosed() == .none)
        #expect(machine.linesProcessed() == .none)
        #expect(machine.writesAnswered() == .resume)
        #expect(machine.nextLine() == .takeLineOrRest)
        #expect(machine.answerableLineFound() == .answer)
        #expect(machine.linesProcessed() == .closeWhenWritten)
    }

    @Test func inputClosedWithAWriteLeftSendsItFirst() {
        var machine = Machine()
        #expect(machine.inputClosed() == .processLines)
        machine.writeFound()
        #expect(machine.linesProcessed() == .submitWrites)
        #expect(machine.writesAnswered() == .resume)
        #expect(machine.linesProcessed() == .closeWhenWritten)
    }

    @Test func drainAnswersTheCompleteLinesThenCloses() {
        var machine = Machine()
        #expect(machine.drain(current: 0) == .processLines)
        #expect(machine.nextLine() == .takeLine)  // not the unterminated rest
        #expect(machine.answerableLineFound() == .answer)
        #expect(machine.linesProcessed() == .closeWhenWritten)
    }

    @Test func drainWhileSuspendedHoldsReadsAndClosesAfterTheAnswer() {
        var machine = Self.waitingForWrites()
        #expect(machine.readRequested() == .none)
        #expect(machine.drain(current: 0) == .none)
        #expect(machine.writesAnswered() == .resume)
        #expect(machine.readRequested() == .none)
        #expect(machine.nextLine() == .takeLine)
        #expect(machine.linesProcessed() == .closeWhenWritten)  // no read: nothing more is taken
    }

    @Test func inputClosedDuringADrainTakesTheRestToo() {
        var machine = Self.waitingForWrites()
        #expect(machine.drain(current: 0) == .none)
        #expect(machine.inputClosed() == .none)
        #expect(machine.drain(current: 0) == .none)
        #expect(machine.writesAnswered() == .resume)
        #expect(machine.nextLine() == .takeLineOrRest)
        #expect(machine.linesProcessed() == .closeWhenWritten)
    }

    @Test func quitAnswersNothingMoreAndClosesWhenWritten() {
        var machine = Machine()
        #expect(machine.answerableLineFound() == .answer)
        machine.quit()
        #expect(machine.nextLine() == .stop)
        #expect(machine.readRequested() == .none)
        #expect(machine.linesProcessed() == .closeWhenWritten)
        #expect(machine.linesProcessed() == .none)
    }

    // MARK: Writability

    @Test func anUnwritableChannelHoldsReadsUntilWritableAgain() {
        var machine = Machine()
        #expect(machine.writabilityChanged(isWritable: false) == .none)
        #expect(machine.readRequested() == .none)
        #expect(machine.bytesRead() == .processLines)  // a read already under way is answered
        #expect(machine.linesProcessed() == .none)     // but reading stays held back
        #expect(machine.writabilityChanged(isWritable: true) == .read)
        #expect(machine.writabilityChanged(isWritable: true) == .none)
        #expect(machine.readRequested() == .read)
    }

    @Test func writableAgainWhileSuspendedReadsOnlyAfterTheAnswer() {
        var machine = Self.waitingForWrites()
        #expect(machine.writabilityChanged(isWritable: false) == .none)
        #expect(machine.readRequested() == .none)
        #expect(machine.writabilityChanged(isWritable: true) == .none)
        #expect(machine.writesAnswered() == .resume)
        #expect(machine.linesProcessed() == .read)
    }

    @Test func anAnswerWhileUnwritableDoesNotRead() {
        var machine = Self.waitingForWrites()
        #expect(machine.readRequested() == .none)
        #expect(machine.writabilityChanged(isWritable: false) == .none)
        #expect(machine.writesAnswered() == .resume)
        #expect(machine.linesProcessed() == .none)
        #expect(machine.writabilityChanged(isWritable: true) == .read)
    }

    // MARK: SYNC

    @Test func syncForARevisionServedAnswersAtOnce() {
        var machine = Machine()
        #expect(machine.syncRequested(revision: 3, current: 3) == .answer(.reached(3)))
        #expect(machine.syncRequested(revision: 1, current: 3) == .answer(.reached(3)))
        #expect(machine.nextLine() == .takeLine)
    }

    @Test func syncAheadWhileTheDatabaseIsOutOfReachIsStaleAtOnce() {
        var machine = Machine()
        #expect(machine.syncRequested(revision: 3, current: 3, reachable: false) == .answer(.reached(3)))
        #expect(machine.syncRequested(revision: 4, current: 3, reachable: false) == .answer(.stale(3)))
        #expect(machine.nextLine() == .takeLine)
    }

    @Test func syncIsAnsweredWhenTheSnapshotArrivesAndItsDeadlineThenIgnored() {
        var machine = Self.waitingForSync()
        #expect(machine.readRequested() == .none)
        #expect(machine.snapshotPublished(current: 4) == .none)
        #expect(machine.snapshotPublished(current: 6) == .answer(.reached(6)))
        #expect(machine.syncDeadlinePassed(number: 1, current: 6) == .none)  // lost the race
        #expect(machine.snapshotPublished(current: 7) == .none)
        #expect(machine.nextLine() == .takeLine)
        #expect(machine.linesProcessed() == .read)
    }

    @Test func syncTimesOutStaleAndALaterSnapshotIsIgnored() {
        var machine = Self.waitingForSync()
        #expect(machine.syncDeadlinePassed(number: 1, current: 3) == .answer(.stale(3)))
        #expect(machine.snapshotPublished(current: 5) == .none)
        #expect(machine.state == .serving)
    }

    @Test func aDeadlineWithTheSnapshotAlreadyThereAnswersReached() {
        var machine = Self.waitingForSync()
        #expect(machine.syncDeadlinePassed(number: 1, current: 5) == .answer(.reached(5)))
    }

    @Test func anEarlierSyncsDeadlineDoesNotAnswerALaterOne() {
        var machine = Self.waitingForSync()
        #expect(machine.snapshotPublished(current: 5) == .answer(.reached(5)))
        #expect(machine.syncRequested(revision: 8, current: 5) == .wait(number: 2))
        #expect(machine.syncDeadlinePassed(number: 1, current: 5) == .none)
        #expect(machine.state == .waiting(.sync(revision: 8, number: 2)))
        #expect(machine.syncDeadlinePassed(number: 2, current: 5) == .answer(.stale(5)))
    }

    @Test func inputClosedWhileSyncWaitsClosesAfterTheAnswer() {
        var machine = Self.waitingForSync()
        #expect(machine.inputClosed() == .none)
        #expect(machine.snapshotPublished(current: 5) == .answer(.reached(5)))
        #expect(machine.nextLine() == .takeLineOrRest)
        #expect(machine.linesProcessed() == .closeWhenWritten)
    }

    // MARK: A wrong token

    /// A connection whose AUTH presented a wrong token, waiting for the delay.
    static func waitingForRefusal() -> Machine {
        var machine = Machine()
        #expect(machine.nextLine() == .takeLine)
        #expect(machine.answerableLineFound() == .answer)
        machine.tokenRefused()
        #expect(machine.state == .waiting(.refusedToken))
        #expect(machine.nextLine() == .stop)
        #expect(machine.linesProcessed() == .none)
        return machine
    }

    @Test func aWrongTokenHoldsTheLinesAfterItAndReadsUntilTheDelayPasses() {
        var machine = Self.waitingForRefusal()
        #expect(machine.readRequested() == .none)
        #expect(machine.bytesRead() == .buffer)
        #expect(machine.writesAnswered() == .none)
        #expect(machine.snapshotPublished(current: 9) == .none)
        #expect(machine.refusalDue() == .resume)
        #expect(machine.refusalDue() == .none)  // answered once
        #expect(machine.nextLine() == .takeLine)
        #expect(machine.linesProcessed() == .read)
    }

    @Test func inputClosedOrADrainDuringTheDelayClosesAfterTheRefusal() {
        for end in [{ (machine: inout Machine) in machine.inputClosed() == .none },
                    { machine in machine.drain(current: 0) == .none }] {
            var machine = Self.waitingForRefusal()
            #expect(end(&machine))
            #expect(machine.refusalDue() == .resume)
            #expect(machine.linesProcessed() == .closeWhenWritten)
        }
    }

    @Test func aRefusalDueAfterCloseIsIgnored() {
        var machine = Self.waitingForRefusal()
        #expect(machine.idleTimedOut() == .closeNow)
        #expect(machine.refusalDue() == .none)
    }

    // MARK: Access

    @Test func accessIsRaisedByTokensAndNeverLowered() {
        var access = ConnectionAccess(queryTokenRequired: true)
        #expect(!access.mayQuery)
        access.raise(to: .query)
        #expect(access.level == .query && access.mayQuery && !access.isAdmin)
        access.raise(to: .admin, adminToken: "billing.token")
        access.raise(to: .query)
        #expect(access.isAdmin && access.adminTokenName == "billing.token")
        #expect(ConnectionAccess(queryTokenRequired: false).level == .query)
    }
}
