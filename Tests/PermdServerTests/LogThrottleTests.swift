import NIOCore
@testable import PermdServer
import Testing

/// A flood of events costs at most one log line a second, and every event is counted once.
struct LogThrottleTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

    @Test func theFirstIsLoggedAtOnceTheRestWhenTheSecondEnds() {
        var throttle = LogThrottle()
        #expect(throttle.record(at: at(0)) == .log(count: 1))
        #expect(throttle.record(at: at(100)) == .logCountAt(at(1000)))
        for time in stride(from: Int64(200), to: 1000, by: 100) {
            #expect(throttle.record(at: at(time)) == .none)
        }
        #expect(throttle.secondEnded(at: at(1000)) == 9)
        // The next second: its first event waits for the end of it.
        #expect(throttle.record(at: at(1500)) == .logCountAt(at(2000)))
        #expect(throttle.secondEnded(at: at(2000)) == 1)
        #expect(throttle.secondEnded(at: at(3000)) == nil)
    }

    @Test func aQuietSecondStartsOverWithALineAtOnce() {
        var throttle = LogThrottle()
        #expect(throttle.record(at: at(0)) == .log(count: 1))
        #expect(throttle.record(at: at(2500)) == .log(count: 1))
        #expect(throttle.record(at: at(2600)) == .logCountAt(at(3500)))
    }

    @Test func aLateLineIsFoldedIntoTheNextAndCountedOnce() {
        var throttle = LogThrottle()
        #expect(throttle.record(at: at(0)) == .log(count: 1))
        #expect(throttle.record(at: at(500)) == .logCountAt(at(1000)))
        // The line due at 1000 has not run yet (its event loop is busy) when the next event comes.
        #expect(throttle.record(at: at(1200)) == .log(count: 2))
        #expect(throttle.secondEnded(at: at(1250)) == nil)  // the late one: nothing left to log
        #expect(throttle.record(at: at(1300)) == .logCountAt(at(2200)))
        #expect(throttle.secondEnded(at: at(2200)) == 1)
    }
}
