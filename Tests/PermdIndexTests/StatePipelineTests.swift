import PermdCore
import PermdIndex
import PermdTestSupport
import Testing

/// The pipeline that hands a full build's rows to a second thread must deliver every row,
/// byte for byte and in order, across many batches and with fields of every length.
@Suite struct StatePipelineTests {
    /// 60,000 rows of every kind, with fields from 0 to 255 bytes: more rows than several
    /// batches hold, and more bytes than a batch's first buffer.
    private func feed(into sink: inout some StateSink) {
        var state: UInt64 = 1
        func field() -> String {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int(state >> 56)  // 0...255
            return String(repeating: Character(UnicodeScalar(UInt8(97 + (state >> 40) % 26))), count: length)
        }
        for row in 0..<60_000 {
            switch row % 5 {
            case 0: sink.organization(field())
            case 1: sink.user(field())
            case 2: sink.membership(user: field(), organization: field())
            case 3: sink.roleAssignment(user: field(), organization: field(), role: field())
            default: sink.directGrant(user: field(), organization: field(), permission: "é-\(row)")
            }
        }
    }

    @Test func deliversEveryRowInOrder() {
        var direct = RecordingSink()
        feed(into: &direct)
        var pipeline = StatePipeline(RecordingSink())
        feed(into: &pipeline)
        let delivered = pipeline.finish()
        #expect(delivered.lines.count == 60_000)
        #expect(delivered.lines == direct.lines)
    }

    @Test func anEmptyFeedGivesTheSinkBackUntouched() {
        let delivered = StatePipeline(RecordingSink()).finish()
        #expect(delivered.lines.isEmpty)
    }
}
