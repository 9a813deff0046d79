import NIOCore
import PermdProtocol
import Testing

/// Runs the framer and parser over `chunks` as they would arrive, answering like the
/// server would: the reply a request gets is the request's canonical form or its error.
private func frame(_ chunks: [[UInt8]], maxLine: Int = 32, finish: Bool = false) -> [String] {
    var framer = LineFramer(maxLineLength: maxLine)
    var buffer = ByteBuffer()
    var results: [String] = []
    func describe(_ event: LineFramer.Event) -> String {
        switch event {
        case .tooLong: return "TOO_LONG"
        case .line(let line): return String(buffer: line)
        }
    }
    for chunk in chunks {
        buffer.writeBytes(chunk)
        while let event = framer.next(in: &buffer) { results.append(describe(event)) }
    }
    if finish {
        while let event = framer.finish(in: &buffer) { results.append(describe(event)) }
    }
    return results
}

/// Feeds the same bytes all at once and one byte at a time; both must agree.
private func frameBothWays(_ text: String, maxLine: Int = 32) -> [String] {
    let bytes = Array(text.utf8)
    let whole = frame([bytes], maxLine: maxLine)
    let dripped = frame(bytes.map { [$0] }, maxLine: maxLine)
    #expect(whole == dripped)
    return whole
}

@Suite struct LineFramerTests {
    @Test func linesAreSplitOnNewlinesAndCRLF() {
        #expect(frameBothWays("PING\nCHECK a b c\r\nREVISION\n") == ["PING", "CHECK a b c", "REVISION"])
    }

    @Test func emptyAndBlankLinesAreSkipped() {
        #expect(frameBothWays("\n\r\n   \nPING\n\n") == ["PING"])
    }

    @Test func anUnterminatedLineWaits() {
        #expect(frameBothWays("PING\nPIN") == ["PING"])
    }

    @Test func anOverlongLineIsReportedOnceAndDiscarded() {
        let long = String(repeating: "x", count: 100)
        #expect(frameBothWays("\(long)\nPING\n", maxLine: 10) == ["TOO_LONG", "PING"])
        // Exactly at the limit passes, with or without CR.
        #expect(frameBothWays("0123456789\n0123456789\r\n01234567890\n", maxLine: 10)
            == ["0123456789", "0123456789", "TOO_LONG"])
    }

    @Test func theLastUnterminatedLineIsAnsweredAtEndOfInput() {
        #expect(frame([Array("PING\nCHECK a b c".utf8)], finish: true) == ["PING", "CHECK a b c"])
    }

    @Test func manyPipelinedLinesComeOutInOrder() {
        let text = (0..<2000).map { "CHECK u\($0) o p\n" }.joined()
        let lines = frameBothWays(text, maxLine: 64)
        #expect(lines.count == 2000)
        #expect(lines.last == "CHECK u1999 o p")
    }
}
