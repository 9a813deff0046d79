public import PermdCore

/// A state sink that writes down every row it receives as a line (`user alice`,
/// `member alice org_a`, …), so that tests can compare what two feeds delivered.
public struct RecordingSink: StateSink, Sendable {
    /// One line per row, in the order received.
    public var lines: [String] = []

    /// An empty recording.
    public init() {}

    public mutating func organization(_ code: UnsafeRawBufferPointer) { lines.append("org \(text(code))") }

    public mutating func user(_ id: UnsafeRawBufferPointer) { lines.append("user \(text(id))") }

    public mutating func membership(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer) {
        lines.append("member \(text(user)) \(text(organization))")
    }

    public mutating func roleAssignment(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                        role: UnsafeRawBufferPointer) {
        lines.append("role \(text(user)) \(text(organization)) \(text(role))")
    }

    public mutating func directGrant(user: UnsafeRawBufferPointer, organization: UnsafeRawBufferPointer,
                                     permission: UnsafeRawBufferPointer) {
        lines.append("grant \(text(user)) \(text(organization)) \(text(permission))")
    }

    private func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }
}
