/// The UTF-8 byte-order mark: some editors and exporters start a text file with it. Every
/// file permd reads (policy files, import files) may begin with it, and it is not content.
public enum ByteOrderMark {
    /// `EF BB BF`.
    public static let utf8: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// `bytes` without a leading byte-order mark.
    public static func dropped(from bytes: [UInt8]) -> ArraySlice<UInt8> {
        bytes.starts(with: utf8) ? bytes.dropFirst(utf8.count) : bytes[...]
    }
}
