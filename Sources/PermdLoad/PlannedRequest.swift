/// One request ready to send: its bytes, how its answer is checked, and how to name it in
/// a mismatch message.
struct PlannedRequest: Sendable {
    /// The request as sent, line or RESP command.
    var wire: [UInt8]
    var check: ReplyCheck
    /// The request as a person reads it (`CHECK u1 org_a read:invoices`).
    var text: String
}

/// How a reply is judged, in the bytes of the dialect that will receive it.
enum ReplyCheck: Sendable, Equatable {
    /// The reply must be exactly these bytes (its terminator included).
    case exact([UInt8])
    /// A RESP array holding exactly these members, in any order (`SMEMBERS`).
    case members([String])
    /// permd's `OK <revision>` (a write that committed).
    case revision
    /// Not checked: any reply but an error counts as right.
    case notError

    /// Whether answers of this kind are compared with the reference state.
    var isChecked: Bool { self != .notError }
}
