import NIOCore
import PermdProtocol

/// Bytes as a client would send them, cut into lines by the framer and decoded: no input
/// may crash, and no line handed on may be longer than the limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtocol(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // A small limit, so that overlong lines are reached by short inputs.
    let limit = 256
    var framer = LineFramer(maxLineLength: limit)
    var buffer = ByteBuffer()
    // The first byte picks how the input is cut into reads (as TCP would cut it).
    let piece = max(1, Int(bytes.first ?? 1))
    var offset = 0
    func drain(finishing: Bool) {
        while let event = finishing ? framer.finish(in: &buffer) : framer.next(in: &buffer) {
            guard case .line(let line) = event else { continue }
            precondition(line.readableBytes <= limit, "a line over the limit was handed on")
            _ = Request.decode(line)
        }
    }
    while offset < bytes.count {
        let end = min(bytes.count, offset + piece)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[offset..<end]))
        offset = end
        drain(finishing: false)
    }
    drain(finishing: true)
    precondition(buffer.readableBytes == 0, "finish left bytes in the buffer")
    return 0
}
